"""PagerDuty Events API v2 events and the generic payload."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.alerts.incoming import Link, PayloadError
from bot.alerts.sources import generic, pagerduty
from bot.severity import Severity

PAYLOADS = Path(__file__).parent / "payloads"
BAD_ACTION = "'event_action' is invalid (must be one of the following: 'trigger', 'acknowledge' or 'resolve')"
BAD_SEVERITY = (
    "'payload.severity' is invalid (must be one of the following: 'critical', 'warning', 'error' or 'info')"
)


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAYLOADS / f"{name}.json").read_text())
    return data


def pd_errors(body: object) -> list[str]:
    with pytest.raises(PayloadError) as caught:
        pagerduty.parse_event(body)
    return caught.value.errors


def generic_errors(body: object) -> list[str]:
    with pytest.raises(PayloadError) as caught:
        generic.parse(body)
    return caught.value.errors


# --- PagerDuty --------------------------------------------------------------------------------


def test_pagerduty_trigger_from_the_docs() -> None:
    event = pagerduty.parse_event(load("pagerduty_trigger"))
    assert event.routing_key == "e93facc04764012d7bfb002500d5d1a6"
    assert event.dedup_key == "srv01/mysql"
    assert event.event_action == "trigger"
    (alert,) = event.notification.alerts
    assert alert.fingerprint == "srv01/mysql"
    assert alert.title == "DISK at 99% on machine prod-datapipe03.example.com"
    assert alert.severity is Severity.CRITICAL
    assert (alert.resolved, alert.acknowledge) == (False, False)
    assert alert.service == "mysql"  # the component
    assert alert.labels == {
        "source": "prod-datapipe03.example.com",
        "component": "mysql",
        "group": "prod-datapipe",
        "class": "disk",
        "severity": "critical",
        "free space": "1%",
        "ping time": "1500ms",  # "load avg" is a number: not a label
    }
    assert alert.description == "free space: 1%\nping time: 1500ms\nload avg: 0.75"
    assert alert.starts_at == datetime(2015, 7, 17, 8, 42, 58, 315000, tzinfo=UTC)
    assert alert.source_url == "https://monitoring.service.com"
    assert alert.annotations == {"client": "Sample Monitoring Service"}
    assert alert.links == (Link(href="http://acme.pagerduty.com", text="An example link."),)


def test_pagerduty_trigger_from_alertmanager() -> None:
    body = load("pagerduty_alertmanager")
    (alert,) = pagerduty.parse(body).alerts
    assert alert.title == "[FIRING:1] HighErrorRate (api critical)"
    assert alert.fingerprint == body["dedup_key"]
    assert alert.labels["num_firing"] == "1"
    assert alert.service is None
    assert alert.description.startswith("firing: Labels:\n - alertname = HighErrorRate")
    assert "\nresolved:" not in alert.description  # empty details are skipped
    assert alert.description.endswith("num_firing: 1\nnum_resolved: 0")
    assert alert.source_url == "http://alertmanager:9093/#/alerts?receiver=watchstander"


@pytest.mark.parametrize(
    ("severity", "expected"),
    [
        ("critical", Severity.CRITICAL),
        ("error", Severity.HIGH),
        ("warning", Severity.MEDIUM),
        ("info", Severity.INFO),
    ],
)
def test_pagerduty_severities(severity: str, expected: Severity) -> None:
    body = load("pagerduty_trigger")
    body["payload"]["severity"] = severity
    assert pagerduty.parse(body).alerts[0].severity is expected


def test_trigger_without_dedup_key_gets_a_fresh_one() -> None:
    body = load("pagerduty_trigger")
    del body["dedup_key"]
    event = pagerduty.parse_event(body, new_dedup_key=lambda: "generated-key")
    assert event.dedup_key == "generated-key"
    assert event.notification.alerts[0].fingerprint == "generated-key"

    first, second = pagerduty.parse_event(body).dedup_key, pagerduty.parse_event(body).dedup_key
    assert len(first) == 32 and int(first, 16) >= 0 and first != second  # uuid4 hex


def test_custom_details_service_and_string_details() -> None:
    body = load("pagerduty_trigger")
    body["payload"]["custom_details"] = {"service": "billing", "source": "overridden?"}
    alert = pagerduty.parse(body).alerts[0]
    assert alert.service == "billing"
    assert alert.labels["source"] == "prod-datapipe03.example.com"  # payload fields win

    body["payload"]["custom_details"] = "free text details"
    assert pagerduty.parse(body).alerts[0].description == "free text details"


def test_long_summary_is_cut_for_the_title_and_kept_in_the_description() -> None:
    body = load("pagerduty_trigger")
    body["payload"]["summary"] = "x" * 2000
    body["payload"]["custom_details"] = None
    alert = pagerduty.parse(body).alerts[0]
    assert len(alert.title) == 250 and alert.title.endswith("…")
    assert len(alert.description) == 1024 and alert.description.endswith("…")


@pytest.mark.parametrize(
    ("action", "resolved", "acknowledge"), [("acknowledge", False, True), ("resolve", True, False)]
)
def test_acknowledge_and_resolve(action: str, resolved: bool, acknowledge: bool) -> None:
    event = pagerduty.parse_event({"routing_key": "key", "event_action": action, "dedup_key": "srv01/mysql"})
    assert event.event_action == action
    assert event.dedup_key == "srv01/mysql"
    (alert,) = event.notification.alerts
    assert (alert.fingerprint, alert.resolved, alert.acknowledge) == ("srv01/mysql", resolved, acknowledge)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda b: b.pop("routing_key"), ["'routing_key' is missing or blank"]),
        (lambda b: b.update(routing_key="  "), ["'routing_key' is missing or blank"]),
        (lambda b: b.update(routing_key=12), ["'routing_key' is invalid (must be a string)"]),
        (lambda b: b.pop("event_action"), ["'event_action' is missing or blank"]),
        (
            lambda b: b.update(event_action="create"),
            [BAD_ACTION],
        ),
        (lambda b: b.pop("payload"), ["'payload' is missing or blank"]),
        (lambda b: b.update(payload=[]), ["'payload' is invalid (must be an object)"]),
        (lambda b: b["payload"].pop("summary"), ["'payload.summary' is missing or blank"]),
        (lambda b: b["payload"].update(summary=""), ["'payload.summary' is missing or blank"]),
        (lambda b: b["payload"].update(summary=5), ["'payload.summary' is invalid (must be a string)"]),
        (lambda b: b["payload"].pop("source"), ["'payload.source' is missing or blank"]),
        (lambda b: b["payload"].pop("severity"), ["'payload.severity' is missing or blank"]),
        (
            lambda b: b["payload"].update(severity="CRITICAL"),
            [BAD_SEVERITY],
        ),
        (
            lambda b: b["payload"].update(timestamp="last tuesday"),
            ["'payload.timestamp' is invalid (expected an ISO 8601 timestamp, got \"last tuesday\")"],
        ),
        (lambda b: b["payload"].update(component=[]), ["'payload.component' is invalid (must be a string)"]),
        (
            lambda b: b.update(dedup_key="k" * 256),
            ["'dedup_key' is invalid (must be at most 255 characters)"],
        ),
        (lambda b: b.update(dedup_key=7), ["'dedup_key' is invalid (must be a string)"]),
        (lambda b: b.update(links={}), ["'links' is invalid (must be a list)"]),
        (lambda b: b.update(links=[{"text": "x"}]), ["'links[0].href' is missing or blank"]),
        (lambda b: b.update(links=["x"]), ["'links[0]' is invalid (must be an object)"]),
        (lambda b: b.update(images="x"), ["'images' is invalid (must be a list)"]),
        (lambda b: b.update(client_url=1), ["'client_url' is invalid (must be a string)"]),
        (
            lambda b: b.update(routing_key=None, payload={"summary": " ", "source": "s", "severity": "low"}),
            [
                "'routing_key' is missing or blank",
                "'payload.summary' is missing or blank",
                BAD_SEVERITY,
            ],
        ),
    ],
)
def test_pagerduty_errors_are_phrased_as_pagerduty_does(mutate: Any, expected: list[str]) -> None:
    body = load("pagerduty_trigger")
    mutate(body)
    assert pd_errors(body) == expected


@pytest.mark.parametrize("action", ["acknowledge", "resolve"])
def test_acknowledge_and_resolve_need_a_dedup_key(action: str) -> None:
    assert pd_errors({"routing_key": "key", "event_action": action}) == ["'dedup_key' is missing or blank"]


@pytest.mark.parametrize("body", [None, [], "trigger", 3.5])
def test_pagerduty_body_must_be_an_object(body: object) -> None:
    assert pd_errors(body) == ["'event' is invalid (must be an object)"]


def test_non_http_links_are_dropped_for_pagerduty() -> None:
    body = load("pagerduty_trigger")
    body["links"] = [{"href": "mailto:ops@example.org", "text": "Mail"}, {"href": "https://ok.example.org"}]
    assert pagerduty.parse(body).alerts[0].links == (
        Link(href="https://ok.example.org", text="https://ok.example.org"),
    )


# --- generic ----------------------------------------------------------------------------------


def test_generic_payload_with_every_field() -> None:
    (alert,) = generic.parse(load("generic")).alerts
    assert alert.fingerprint == "backup-billing-db-2026-11-24"
    assert alert.title == "Nightly backup failed"
    assert alert.severity is Severity.HIGH  # P2
    assert alert.resolved is False
    assert alert.description == "pg_dump exited with status 1 after 42m.\nSee the job log."
    assert alert.service == "billing-db"
    assert alert.labels == {"service": "billing-db", "severity": "P2", "team": "platform", "env": "prod"}
    assert (alert.metric, alert.threshold, alert.value) == ("backup_age_hours", "26", "31.5")
    assert alert.links == (
        Link(href="https://ci.example.org/jobs/backup/812", text="Job log"),
        Link(href="https://runbooks.example.org/backups", text="https://runbooks.example.org/backups"),
    )


def test_generic_minimal_payload() -> None:
    (alert,) = generic.parse({"title": "Cron job late"}).alerts
    assert alert.severity is Severity.HIGH
    assert alert.resolved is False
    assert alert.labels == {}
    assert alert.service is None
    assert len(alert.fingerprint) == 32


def test_generic_fingerprint_hashes_title_labels_and_service_but_not_severity() -> None:
    def fingerprint(**fields: Any) -> str:
        return generic.parse({"title": "Queue backlog", **fields}).alerts[0].fingerprint

    base = fingerprint(labels={"queue": "emails", "region": "eu"})
    assert base == fingerprint(labels={"region": "eu", "queue": "emails"})
    assert base == fingerprint(
        labels={"queue": "emails", "region": "eu"}, severity="critical", status="resolved"
    )
    assert base != fingerprint(labels={"queue": "sms", "region": "eu"})
    assert base != fingerprint(labels={"queue": "emails", "region": "eu"}, service="mailer")
    assert fingerprint(dedup_key="   ") == fingerprint()


def test_generic_resolved_and_numbers() -> None:
    alert = generic.parse({"title": "t", "status": "resolved", "value": 0.071999999, "threshold": 5}).alerts[
        0
    ]
    assert alert.resolved is True
    assert (alert.value, alert.threshold) == ("0.072", "5")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ([], ["body: expected an object, got a list"]),
        ({}, ["title: required"]),
        ({"title": "   "}, ["title: required"]),
        ({"title": 12}, ["title: expected a string, got a number"]),
        (
            {"title": "t", "status": "acknowledged"},
            ['status: expected "firing" or "resolved", got "acknowledged"'],
        ),
        ({"title": "t", "status": None}, []),
        ({"title": "t", "severity": 1}, ["severity: expected a string, got a number"]),
        ({"title": "t", "service": {}}, ["service: expected a string, got an object"]),
        ({"title": "t", "description": []}, ["description: expected a string, got a list"]),
        ({"title": "t", "dedup_key": 5}, ["dedup_key: expected a string, got a number"]),
        ({"title": "t", "dedup_key": "k" * 300}, ["dedup_key: expected at most 255 characters, got 300"]),
        ({"title": "t", "metric": ["cpu"]}, ["metric: expected a string or a number, got a list"]),
        ({"title": "t", "value": True}, ["value: expected a string or a number, got a boolean"]),
        ({"title": "t", "labels": []}, ["labels: expected an object of strings, got a list"]),
        ({"title": "t", "labels": {"team": 1}}, ["labels.team: expected a string, got a number"]),
        ({"title": "t", "links": "https://x"}, ["links: expected a list, got a string"]),
        ({"title": "t", "links": [1]}, ["links[0]: expected an object, got a number"]),
        ({"title": "t", "links": [{"text": "x"}]}, ["links[0].href: required"]),
        (
            {"title": "t", "links": [{"href": "https://x", "text": 3}]},
            ["links[0].text: expected a string, got a number"],
        ),
        (
            {"title": "t", "links": [{"href": "ftp://files.example.org"}]},
            ["links[0].href: expected an http(s) URL of at most 3000 characters"],
        ),
        (
            {"title": None, "status": "open", "labels": {"a": None}},
            [
                "title: required",
                'status: expected "firing" or "resolved", got "open"',
                "labels.a: expected a string, got null",
            ],
        ),
    ],
)
def test_generic_errors_name_the_field(body: object, expected: list[str]) -> None:
    if not expected:
        generic.parse(body)
        return
    assert generic_errors(body) == expected


def test_generic_caps() -> None:
    body = {
        "title": "t" * 300,
        "description": "d" * 4000,
        "labels": {f"k{i}": "v" * 1500 for i in range(80)},
        "service": "s" * 400,
    }
    alert = generic.parse(body).alerts[0]
    assert len(alert.title) == 250
    assert len(alert.description) == 3000
    assert len(alert.labels) == 64 and "service" in alert.labels
    assert all(len(v) <= 1000 for v in alert.labels.values())
    assert alert.service is not None and len(alert.service) == 250
