"""Alertmanager (payload version 4) and Grafana (unified and legacy) webhook parsing."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.alerts.incoming import Link, PayloadError
from bot.alerts.sources import alertmanager, grafana
from bot.alerts.sources.alertmanager import label_fingerprint
from bot.severity import Severity

PAYLOADS = Path(__file__).parent / "payloads"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAYLOADS / f"{name}.json").read_text())
    return data


def errors_of(parse: Any, body: object) -> list[str]:
    with pytest.raises(PayloadError) as caught:
        parse(body)
    return caught.value.errors


# --- Alertmanager -----------------------------------------------------------------------------


def test_alertmanager_notification_maps_every_field() -> None:
    parsed = alertmanager.parse(load("alertmanager"))

    assert parsed.group_key == '{}/{severity="critical"}:{alertname="ProbeFailure"}'
    firing, resolved = parsed.alerts

    assert firing.fingerprint == "1a30ba71cca2921f"
    assert firing.title == "ProbeFailure"
    assert firing.severity is Severity.CRITICAL
    assert firing.resolved is False
    assert firing.description.splitlines() == [
        "BlackBox Probe Failure: https://server.example.org",
        "Instance https://server.example.org has been down for over 5m. Job: http_checks",
    ]
    assert firing.service == "http_checks"  # no service label: the job names it
    assert firing.labels == {
        "alertname": "ProbeFailure",
        "instance": "https://server.example.org",
        "job": "http_checks",
        "monitor": "master",
        "severity": "critical",
    }
    assert firing.annotations["summary"] == "BlackBox Probe Failure: https://server.example.org"
    assert firing.starts_at == datetime(2023, 2, 6, 13, 8, 45, 828000, tzinfo=UTC)
    assert firing.ends_at is None  # "0001-01-01T00:00:00Z" is Go's zero time
    assert firing.source_url == (
        "http://prometheus.example.org:9090/graph?g0.expr=probe_success+%3D%3D+0&g0.tab=1"
    )
    assert firing.runbook_url == "https://runbooks.example.org/probe-failure"
    assert firing.dashboard_url == "https://grafana.example.org/d/blackbox"
    assert (firing.metric, firing.threshold, firing.value) == (None, None, None)

    assert resolved.resolved is True
    assert resolved.service == "api"
    # nanosecond precision and a +01:00 offset, normalised to UTC
    assert resolved.starts_at == datetime(2023, 2, 6, 11, 58, 45, 828266, tzinfo=UTC)
    assert resolved.ends_at == datetime(2023, 2, 6, 13, 10, 15, 828000, tzinfo=UTC)
    assert (resolved.metric, resolved.threshold, resolved.value) == ("probe_success", "0", "0")
    assert resolved.runbook_url is None


def test_firing_alert_ignores_projected_end_time() -> None:
    body = load("alertmanager")
    body["alerts"][0]["endsAt"] = "2023-02-06T13:20:45.828Z"
    assert alertmanager.parse(body).alerts[0].ends_at is None


def test_alert_without_status_takes_the_notification_status() -> None:
    body = load("alertmanager")
    body["status"] = "resolved"
    del body["alerts"][0]["status"]
    assert alertmanager.parse(body).alerts[0].resolved is True


def test_missing_fingerprint_is_computed_as_alertmanager_computes_it() -> None:
    # the reference vector of prometheus/common's signature tests
    assert label_fingerprint({"name": "garland, briggs", "fear": "love is not enough"}) == (
        f"{5799056148416392346:016x}"
    )
    assert label_fingerprint({}) == f"{14695981039346656037:016x}"

    body = load("alertmanager")
    del body["alerts"][0]["fingerprint"]
    labels = body["alerts"][0]["labels"]
    fingerprint = alertmanager.parse(body).alerts[0].fingerprint
    assert fingerprint == label_fingerprint(labels) == "fe986f5dcb3e6510"
    # stable under label order
    body["alerts"][0]["labels"] = dict(reversed(list(labels.items())))
    assert alertmanager.parse(body).alerts[0].fingerprint == fingerprint


def test_title_falls_back_to_summary_and_description_to_message() -> None:
    body = load("alertmanager")
    alert = body["alerts"][0]
    del alert["labels"]["alertname"]
    alert["annotations"] = {"summary": "Disk almost full", "message": "93% used on /var"}
    parsed = alertmanager.parse(body).alerts[0]
    assert parsed.title == "Disk almost full"
    assert parsed.description == "Disk almost full\n93% used on /var"
    assert parsed.runbook_url is None


def test_severity_falls_back_to_priority_then_high() -> None:
    body = load("alertmanager")
    labels = body["alerts"][0]["labels"]
    del labels["severity"]
    labels["priority"] = "P3"
    assert alertmanager.parse(body).alerts[0].severity is Severity.MEDIUM
    del labels["priority"]
    assert alertmanager.parse(body).alerts[0].severity is Severity.HIGH


def test_oversized_fields_are_truncated_not_rejected() -> None:
    body = load("alertmanager")
    alert = body["alerts"][0]
    alert["labels"]["alertname"] = "A" * 1000
    alert["annotations"]["summary"] = "S" * 5000
    alert["labels"].update({f"extra_{i:03}": "v" * 2000 for i in range(100)})
    alert["fingerprint"] = "f" * 400
    body["groupKey"] = "g" * 5000

    parsed = alertmanager.parse(body)
    first = parsed.alerts[0]
    assert len(first.title) == 250 and first.title.endswith("…")
    assert len(first.description) == 3000 and first.description.endswith("…")
    assert len(first.labels) == 64
    assert first.labels["alertname"].startswith("AAA")  # routing labels survive the cut
    assert first.labels["severity"] == "critical"
    assert max(len(v) for v in first.labels.values()) == 1000
    assert first.fingerprint == "sha256:" + hashlib.sha256(b"f" * 400).hexdigest()
    assert parsed.group_key is not None and parsed.group_key.startswith("sha256:")


def test_non_http_urls_are_dropped() -> None:
    body = load("alertmanager")
    body["alerts"][0]["generatorURL"] = "javascript:alert(1)"
    body["alerts"][0]["annotations"]["runbook_url"] = "see wiki"
    alert = alertmanager.parse(body).alerts[0]
    assert alert.source_url is None
    assert alert.runbook_url is None


def test_empty_group_is_valid() -> None:
    body = load("alertmanager")
    body["alerts"] = []
    assert alertmanager.parse(body).alerts == ()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (None, "body: expected an object, got null"),
        ([], "body: expected an object, got a list"),
        ("firing", "body: expected an object, got a string"),
        ({}, "alerts: required"),
        ({"alerts": {}}, "alerts: expected a list, got an object"),
        ({"alerts": [42]}, "alerts[0]: expected an object, got a number"),
        ({"alerts": [{"labels": []}]}, "alerts[0].labels: expected an object of strings, got a list"),
        ({"alerts": [{"labels": {"team": 7}}]}, "alerts[0].labels.team: expected a string, got a number"),
        (
            {"alerts": [{"labels": {"a b": None}}]},
            'alerts[0].labels["a b"]: expected a string, got null',
        ),
        (
            {"alerts": [{"annotations": "x"}]},
            "alerts[0].annotations: expected an object of strings, got a string",
        ),
        (
            {"alerts": [{"status": "pending"}]},
            'alerts[0].status: expected "firing" or "resolved", got "pending"',
        ),
        ({"alerts": [{"status": True}]}, "alerts[0].status: expected a string, got a boolean"),
        ({"status": "ok", "alerts": []}, 'status: expected "firing" or "resolved", got "ok"'),
        (
            {"alerts": [{"startsAt": "yesterday"}]},
            'alerts[0].startsAt: expected an ISO 8601 timestamp, got "yesterday"',
        ),
        ({"alerts": [{"endsAt": 1700000000}]}, "alerts[0].endsAt: expected a string, got a number"),
        ({"alerts": [{"generatorURL": ["x"]}]}, "alerts[0].generatorURL: expected a string, got a list"),
        ({"alerts": [{"fingerprint": 12}]}, "alerts[0].fingerprint: expected a string, got a number"),
        ({"alerts": [], "groupKey": {}}, "groupKey: expected a string, got an object"),
        ({"alerts": [], "truncatedAlerts": "0"}, "truncatedAlerts: expected an integer, got a string"),
        ({"alerts": [], "version": 4}, "version: expected a string, got a number"),
    ],
)
def test_alertmanager_errors_name_the_field(body: object, expected: str) -> None:
    assert errors_of(alertmanager.parse, body) == [expected]


def test_all_problems_are_reported_at_once() -> None:
    body = load("alertmanager")
    body["alerts"][0]["labels"] = "oops"
    body["alerts"][1]["startsAt"] = "not a time"
    body["groupKey"] = 1
    assert errors_of(alertmanager.parse, body) == [
        "groupKey: expected a string, got a number",
        "alerts[0].labels: expected an object of strings, got a string",
        'alerts[1].startsAt: expected an ISO 8601 timestamp, got "not a time"',
    ]


def test_error_paths_quote_and_cut_long_keys() -> None:
    body = {"alerts": [{"annotations": {"x" * 20_000: None, "ok_key": 1}}]}
    long_key, short_key = errors_of(alertmanager.parse, body)
    assert long_key == f'alerts[0].annotations["{"x" * 59}…"]: expected a string, got null'
    assert short_key == "alerts[0].annotations.ok_key: expected a string, got a number"


def test_error_list_is_capped() -> None:
    errors = errors_of(alertmanager.parse, {"alerts": list(range(500))})
    assert len(errors) == 21
    assert errors[-1] == "… and 480 more errors"


def test_out_of_range_timestamp_is_an_error_not_a_crash() -> None:
    body = {"alerts": [{"startsAt": "0001-01-01T00:00:00+01:00", "endsAt": "9999-12-31T23:59:59-01:00"}]}
    assert errors_of(alertmanager.parse, body) == [
        'alerts[0].endsAt: expected an ISO 8601 timestamp, got "9999-12-31T23:59:59-01:00"'
    ]


# --- Grafana unified alerting -----------------------------------------------------------------


def test_grafana_unified_notification() -> None:
    parsed = grafana.parse(load("grafana_unified"))

    assert parsed.group_key == "{}:{}"
    memory, cpu = parsed.alerts
    assert memory.fingerprint == "c6eadffa33fcdf37"
    assert memory.title == "High memory usage"
    assert memory.severity is Severity.HIGH  # no severity label
    assert memory.description == "This alert was triggered for zone us-1\nThe system has high memory usage"
    assert memory.labels == {"alertname": "High memory usage", "team": "blue", "zone": "us-1"}
    assert memory.runbook_url == "https://myrunbook.com/runbook/1234"
    assert memory.source_url == "https://play.grafana.org/alerting/1afz29v7z/edit"
    assert memory.dashboard_url is None  # "" in the payload
    assert memory.value == "B=44.2394, C=1"
    assert memory.links == (
        Link(
            href="https://play.grafana.org/alerting/silence/new?alertmanager=grafana"
            "&matchers=alertname%3DT2%2Cteam%3Dblue%2Czone%3Dus-1",
            text="Silence",
        ),
    )
    assert memory.starts_at == datetime(2021, 10, 12, 7, 51, 3, 157076, tzinfo=UTC)

    assert cpu.dashboard_url == "https://play.grafana.org/d/abc123?viewPanel=2"  # the panel wins
    assert cpu.value == "2.5"


@pytest.mark.parametrize(
    ("value_string", "value", "metric"),
    [
        ("[ metric='' labels={} value=14151.331895396988 ]", "14151.3", None),
        ("[ metric='node_load1' labels={instance=a} value=3 ]", "3", "node_load1"),
        (
            "[ var='B' labels={instance=web-1} value=93.25 ], [ var='C' labels={instance=web-1} value=1 ]",
            "B=93.25, C=1",
            None,
        ),
        ("not a value string", None, None),
    ],
)
def test_grafana_value_string(value_string: str, value: str | None, metric: str | None) -> None:
    body = load("grafana_unified")
    alert = body["alerts"][0]
    del alert["values"]
    alert["valueString"] = value_string
    parsed = grafana.parse(body).alerts[0]
    assert (parsed.value, parsed.metric) == (value, metric)


def test_grafana_annotations_win_and_internal_keys_are_dropped() -> None:
    body = load("grafana_unified")
    alert = body["alerts"][0]
    alert["annotations"].update(
        {"value": "93%", "metric": "memory", "__dashboardUid__": "abc", "__panelId__": "2"}
    )
    alert["labels"]["__alert_rule_uid__"] = "xyz"
    alert["values"] = None
    parsed = grafana.parse(body).alerts[0]
    assert (parsed.value, parsed.metric) == ("93%", "memory")
    assert "__dashboardUid__" not in parsed.annotations
    assert "__alert_rule_uid__" not in parsed.labels


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda a: a.update(values=[1]), "alerts[0].values: expected an object, got a list"),
        (lambda a: a.update(values={"B": "44"}), "alerts[0].values.B: expected a number, got a string"),
        (lambda a: a.update(panelURL=3), "alerts[0].panelURL: expected a string, got a number"),
        (lambda a: a.update(silenceURL={}), "alerts[0].silenceURL: expected a string, got an object"),
        (lambda a: a.update(valueString=False), "alerts[0].valueString: expected a string, got a boolean"),
        (lambda a: a["labels"].update(zone=1), "alerts[0].labels.zone: expected a string, got a number"),
    ],
)
def test_grafana_unified_errors(mutate: Any, expected: str) -> None:
    body = load("grafana_unified")
    mutate(body["alerts"][0])
    assert errors_of(grafana.parse, body) == [expected]


# --- Grafana legacy alerting ------------------------------------------------------------------


def test_grafana_legacy_alert() -> None:
    (alert,) = grafana.parse(load("grafana_legacy")).alerts
    assert alert.fingerprint == "rule-1"
    assert alert.title == "Panel Title alert"
    assert alert.description == "Notification Message"
    assert alert.resolved is False
    assert alert.labels == {"alertname": "Panel Title alert", "tag name": "tag value"}
    assert (alert.metric, alert.value) == ("High value", "100")
    assert alert.source_url is not None and alert.source_url.startswith("http://localhost:3000/d/hZ7BuVbWz/")
    assert alert.links == (Link(href="https://grafana.com/assets/img/blog/mixed_styles.png", text="Image"),)


@pytest.mark.parametrize(("state", "resolved"), [("ok", True), ("alerting", False), ("no_data", False)])
def test_grafana_legacy_states(state: str, resolved: bool) -> None:
    body = load("grafana_legacy")
    body["state"] = state
    assert grafana.parse(body).alerts[0].resolved is resolved


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda b: b.pop("ruleName"), "ruleName: required"),
        (lambda b: b.update(state="paused"), 'state: expected "alerting", "ok" or "no_data", got "paused"'),
        (lambda b: b.update(ruleId=1.5), "ruleId: expected a string or an integer, got a number"),
        (lambda b: b.update(evalMatches={}), "evalMatches: expected a list, got an object"),
        (lambda b: b["evalMatches"].append("x"), "evalMatches[2]: expected an object, got a string"),
        (
            lambda b: b["evalMatches"][0].update(value=[]),
            "evalMatches[0].value: expected a string or a number, got a list",
        ),
        (lambda b: b.update(tags=[]), "tags: expected an object of strings, got a list"),
    ],
)
def test_grafana_legacy_errors(mutate: Any, expected: str) -> None:
    body = load("grafana_legacy")
    mutate(body)
    assert errors_of(grafana.parse, body) == [expected]


# --- Grafana HMAC signature ------------------------------------------------------------------


def _sign(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def test_grafana_signature_over_the_body() -> None:
    body = json.dumps(load("grafana_unified")).encode()
    signature = _sign("s3cret", body)
    assert grafana.verify_grafana_signature(body, signature, "s3cret", None)
    assert grafana.verify_grafana_signature(body, signature.upper(), "s3cret", None)
    assert not grafana.verify_grafana_signature(body, signature, "other", None)
    assert not grafana.verify_grafana_signature(body + b" ", signature, "s3cret", None)
    assert not grafana.verify_grafana_signature(body, "", "s3cret", None)
    assert not grafana.verify_grafana_signature(body, signature, "", None)
    assert not grafana.verify_grafana_signature(body, "ünïcode", "s3cret", None)


def test_grafana_signature_with_timestamp_header() -> None:
    body = b'{"status":"firing"}'
    signature = _sign("s3cret", b"1732450000:" + body)
    assert grafana.verify_grafana_signature(body, signature, "s3cret", "1732450000")
    assert not grafana.verify_grafana_signature(body, signature, "s3cret", "1732450001")
    assert not grafana.verify_grafana_signature(body, signature, "s3cret", None)


def test_examples_are_not_mutated_by_parsing() -> None:
    body = load("grafana_unified")
    before = copy.deepcopy(body)
    grafana.parse(body)
    assert body == before
