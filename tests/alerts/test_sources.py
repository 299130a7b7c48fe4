"""The parser registry, and properties every parser holds for any JSON value whatsoever."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from datetime import UTC
from functools import partial
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.alerts.incoming import IncomingAlert, ParsedNotification, PayloadError
from bot.alerts.sources import PARSERS, alertmanager, generic, grafana, pagerduty, sentry

PAYLOADS = Path(__file__).parent / "payloads"
EXAMPLES = sorted(path.stem for path in PAYLOADS.glob("*.json"))


def load(name: str) -> Any:
    return json.loads((PAYLOADS / f"{name}.json").read_text())


def test_registry_names_the_configured_integration_types() -> None:
    assert {
        "alertmanager": alertmanager.parse,
        "grafana": grafana.parse,
        "sentry": sentry.parse,
        "pagerduty": pagerduty.parse,
        "generic": generic.parse,
    } == PARSERS


def test_each_registered_parser_reads_its_example() -> None:
    examples = {
        "alertmanager": "alertmanager",
        "grafana": "grafana_unified",
        "sentry": "sentry_event_alert",
        "pagerduty": "pagerduty_trigger",
        "generic": "generic",
    }
    for kind, example in examples.items():
        assert PARSERS[kind](load(example)).alerts


# --- properties -------------------------------------------------------------------------------

ALL_PARSERS: list[Callable[[object], ParsedNotification]] = [
    alertmanager.parse,
    grafana.parse,
    sentry.parse,
    *(partial(sentry.parse, resource=r) for r in ("event_alert", "metric_alert", "issue", "activity_alert")),
    pagerduty.parse,
    generic.parse,
]

# Strings a parser treats specially, so the fuzzer reaches the branches behind them.
MEANINGFUL = st.sampled_from(
    [
        "firing", "resolved", "trigger", "acknowledge", "resolve", "critical", "warning", "error",
        "info", "triggered", "created", "assigned", "ignored", "alerting", "ok", "no_data", "P1",
        "sev-2", "0001-01-01T00:00:00Z", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-12:00",
        "2024-02-30T00:00:00Z", "2023-02-06T13:08:45.828266876+02:00", "https://example.org/x",
        "javascript:alert(1)", "\ud800", "[ var='B' labels={} value=1e999 ]", "x" * 20_000, "",
    ]
)  # fmt: skip
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=30), MEANINGFUL)
JSON = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.one_of(st.text(max_size=12), MEANINGFUL), children, max_size=4)
    ),
    max_leaves=25,
)
DELETE = object()


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, (*prefix, index))


def _replace(body: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return None if new is DELETE else new
    parent = body
    for step in path[:-1]:
        parent = parent[step]
    if new is DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = new
    return body


def _check(parse: Callable[[object], ParsedNotification], body: object) -> None:
    try:
        parsed = parse(body)
    except PayloadError as error:
        assert error.errors, "a PayloadError must name at least one problem"
        assert len(error.errors) <= 21
        assert all(isinstance(e, str) and 0 < len(e) < 500 for e in error.errors)
        return
    assert isinstance(parsed, ParsedNotification)
    for alert in parsed.alerts:
        _check_alert(alert)
    if parsed.group_key is not None:
        assert 0 < len(parsed.group_key) <= 255


def _check_alert(alert: IncomingAlert) -> None:
    assert isinstance(alert, IncomingAlert)
    assert 0 < len(alert.fingerprint) <= 255
    assert len(alert.title) <= 250
    assert len(alert.description) <= 3000
    assert len(alert.labels) <= 64
    assert all(len(k) <= 250 and len(v) <= 1000 for k, v in alert.labels.items())
    assert len(alert.annotations) <= 64
    for text in (alert.service, alert.metric, alert.threshold, alert.value):
        assert text is None or len(text) <= 250
    for url in (
        alert.source_url,
        alert.runbook_url,
        alert.dashboard_url,
        *(link.href for link in alert.links),
    ):
        assert url is None or (url.startswith(("http://", "https://")) and len(url) <= 3000)
    for moment in (alert.starts_at, alert.ends_at):
        assert moment is None or moment.tzinfo is UTC
    # every string survives UTF-8 encoding (the database and Slack both need that)
    json.dumps([alert.title, alert.description, alert.labels, alert.annotations], ensure_ascii=False).encode()


FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(body=JSON, parse=st.sampled_from(ALL_PARSERS))
def test_any_json_value_gives_a_notification_or_a_payload_error(body: object, parse: Any) -> None:
    _check(parse, body)


@FUZZ
@given(data=st.data(), example=st.sampled_from(EXAMPLES), parse=st.sampled_from(ALL_PARSERS))
def test_damaged_real_payloads_give_a_notification_or_a_payload_error(
    data: st.DataObject, example: str, parse: Any
) -> None:
    body = load(example)
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        path = data.draw(st.sampled_from(list(_paths(body))))
        body = _replace(body, path, data.draw(JSON | st.just(DELETE)))
    _check(parse, copy.deepcopy(body))


@settings(max_examples=100, deadline=None)
@given(
    labels=st.dictionaries(st.text(max_size=20), st.text(max_size=40), max_size=100),
    title=st.text(max_size=400),
)
def test_real_shapes_with_arbitrary_strings_parse(labels: dict[str, str], title: str) -> None:
    body = load("alertmanager")
    body["alerts"][0]["labels"] = {**labels, "alertname": title}
    first = alertmanager.parse(body).alerts[0]
    _check_alert(first)

    body = {"title": title if title.strip() else "t", "labels": labels}
    generic_alert = generic.parse(body).alerts[0]
    _check_alert(generic_alert)
    assert generic_alert.fingerprint == generic.parse(copy.deepcopy(body)).alerts[0].fingerprint
