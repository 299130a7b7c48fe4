"""Sentry integration-platform webhooks: issue alerts, metric alerts and issue events."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.alerts.incoming import PayloadError
from bot.alerts.sources import sentry
from bot.severity import Severity

PAYLOADS = Path(__file__).parent / "payloads"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAYLOADS / f"{name}.json").read_text())
    return data


def errors_of(body: object, resource: str | None = None) -> list[str]:
    with pytest.raises(PayloadError) as caught:
        sentry.parse(body, resource=resource)
    return caught.value.errors


# --- issue alerts (event_alert) ---------------------------------------------------------------


@pytest.mark.parametrize("resource", ["event_alert", None])
def test_issue_alert(resource: str | None) -> None:
    parsed = sentry.parse(load("sentry_event_alert"), resource=resource)
    assert parsed.group_key is None
    (alert,) = parsed.alerts
    assert alert.fingerprint == "1117540176"  # the issue id
    assert alert.title == "ReferenceError: heck is not defined"
    assert alert.severity is Severity.HIGH  # level "error"
    assert alert.resolved is False
    assert alert.description == "Culprit: ?(<anonymous>)\nAlert rule: Very Important Alert Rule!"
    assert alert.service == "front-end"  # the project slug in the event's API URL
    assert alert.labels["project"] == "front-end"
    assert alert.labels["alertname"] == "ReferenceError: heck is not defined"
    assert alert.labels["rule"] == "Very Important Alert Rule!"
    assert alert.labels["platform"] == "javascript"
    assert alert.labels["browser.name"] == "Chrome"  # event tags
    assert alert.starts_at == datetime(2019, 8, 19, 21, 6, 17, 677000, tzinfo=UTC)
    assert alert.source_url == (
        "https://sentry.io/organizations/test-org/issues/1117540176/events/e4874d664c3540c1a32eab185f12c5ab/"
    )


def test_issue_alert_service_tag_wins_and_fatal_is_critical() -> None:
    body = load("sentry_event_alert")
    event = body["data"]["event"]
    event["tags"].append(["service", "checkout"])
    event["level"] = "fatal"
    event["issue_id"] = 1117540176  # Sentry sends ids as strings or numbers
    alert = sentry.parse(body).alerts[0]
    assert alert.service == "checkout"
    assert alert.severity is Severity.CRITICAL
    assert alert.fingerprint == "1117540176"


# --- metric alerts ----------------------------------------------------------------------------


def test_metric_alert_critical() -> None:
    (alert,) = sentry.parse(load("sentry_metric_alert"), resource="metric_alert").alerts
    assert alert.fingerprint == "metric-alert-4"
    assert alert.title == "Too many errors"
    assert alert.severity is Severity.CRITICAL
    assert alert.resolved is False
    assert (
        alert.description
        == "Critical: Too many errors\n1000 events in the last 10 minutes\nFilter: level:error"
    )
    assert (alert.metric, alert.threshold) == ("count()", "500")
    assert alert.service == "bar"
    assert alert.labels == {
        "alertname": "Too many errors",
        "service": "bar",
        "project": "bar",
        "environment": "production",
        "rule": "Too many errors",
    }
    assert alert.starts_at == datetime(2020, 9, 13, 12, 26, 40, tzinfo=UTC)
    assert alert.source_url == "https://sentry.io/organizations/baz/alerts/1/"


def test_metric_alert_warning_and_resolved() -> None:
    body = load("sentry_metric_alert")
    body["action"] = "warning"
    warning = sentry.parse(body).alerts[0]
    assert (warning.severity, warning.threshold, warning.resolved) == (Severity.MEDIUM, "200", False)

    body["action"] = "resolved"
    body["data"]["metric_alert"]["date_closed"] = "2020-09-13T12:46:40.000000Z"
    resolved = sentry.parse(body).alerts[0]
    assert resolved.resolved is True
    assert resolved.fingerprint == "metric-alert-4"  # the same incident
    assert resolved.ends_at == datetime(2020, 9, 13, 12, 46, 40, tzinfo=UTC)


# --- issue webhooks ---------------------------------------------------------------------------


@pytest.mark.parametrize("resource", ["issue", None])
def test_issue_created(resource: str | None) -> None:
    (alert,) = sentry.parse(load("sentry_issue"), resource=resource).alerts
    assert alert.fingerprint == "1170820242"
    assert alert.title == "ReferenceError: blooopy is not defined"
    assert alert.severity is Severity.HIGH
    assert alert.resolved is False
    assert alert.acknowledge is False
    assert alert.service == "front-end"
    assert alert.description == "Culprit: ?(runner)\n1 events, 1 users"
    assert alert.starts_at == datetime(2019, 8, 19, 20, 58, 37, 391000, tzinfo=UTC)
    assert alert.source_url == "https://sentry.io/organizations/test-org/issues/1170820242/"


@pytest.mark.parametrize(
    ("action", "resolved"),
    [("resolved", True), ("ignored", True), ("archived", True), ("unresolved", False), ("created", False)],
)
def test_issue_state_changes(action: str, resolved: bool) -> None:
    body = load("sentry_issue")
    body["action"] = action
    assert sentry.parse(body, resource="issue").alerts[0].resolved is resolved


def test_issue_assignment_neither_pages_nor_acknowledges() -> None:
    body = load("sentry_issue")
    body["action"] = "assigned"
    body["data"]["issue"]["assignedTo"] = {
        "type": "user",
        "id": "1",
        "name": "Alice",
        "email": "a@example.org",
    }
    assert sentry.parse(body, resource="issue").alerts == ()


def test_activity_alert_fires_for_the_issue() -> None:
    body = load("sentry_issue")
    body["action"] = "triggered"
    (alert,) = sentry.parse(body).alerts  # sniffed as activity_alert
    assert (alert.fingerprint, alert.resolved) == ("1170820242", False)


@pytest.mark.parametrize(
    ("resource", "action"), [("installation", "created"), ("comment", "created"), ("issue", "bookmarked")]
)
def test_deliveries_without_an_alert_are_accepted_empty(resource: str, action: str) -> None:
    body = load("sentry_issue")
    body["action"] = action
    assert sentry.parse(body, resource=resource).alerts == ()


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "mutate", "expected"),
    [
        ("sentry_issue", lambda b: b.pop("data"), "data: required"),
        ("sentry_issue", lambda b: b.update(data=[]), "data: expected an object, got a list"),
        ("sentry_issue", lambda b: b.pop("action"), "action: required"),
        ("sentry_issue", lambda b: b.update(action=3), "action: expected a string, got a number"),
        (
            "sentry_issue",
            lambda b: b.update(data={"comment": {}}),
            'data: expected an "event", "metric_alert" or "issue" object',
        ),
        ("sentry_issue", lambda b: b["data"]["issue"].pop("id"), "data.issue.id: required"),
        (
            "sentry_issue",
            lambda b: b["data"].update(issue="x"),
            "data.issue: expected an object, got a string",
        ),
        (
            "sentry_issue",
            lambda b: b["data"]["issue"].update(title=1),
            "data.issue.title: expected a string, got a number",
        ),
        (
            "sentry_issue",
            lambda b: b["data"]["issue"].update(firstSeen="soon"),
            'data.issue.firstSeen: expected an ISO 8601 timestamp, got "soon"',
        ),
        (
            "sentry_issue",
            lambda b: b["data"]["issue"].update(project=[]),
            "data.issue.project: expected an object, got a list",
        ),
        ("sentry_event_alert", lambda b: b["data"]["event"].pop("issue_id"), "data.event.issue_id: required"),
        (
            "sentry_event_alert",
            lambda b: b["data"]["event"].update(issue_id=1.5),
            "data.event.issue_id: expected a string or an integer, got a number",
        ),
        (
            "sentry_event_alert",
            lambda b: b["data"]["event"].update(tags=[["only-key"]]),
            "data.event.tags[0]: expected a [key, value] pair, got a list",
        ),
        (
            "sentry_event_alert",
            lambda b: b["data"]["event"].update(tags={}),
            "data.event.tags: expected a list, got an object",
        ),
        (
            "sentry_event_alert",
            lambda b: b["data"].update(triggered_rule=[]),
            "data.triggered_rule: expected a string, got a list",
        ),
        (
            "sentry_metric_alert",
            lambda b: b.update(action="bogus"),
            'action: expected "critical", "warning" or "resolved", got "bogus"',
        ),
        (
            "sentry_metric_alert",
            lambda b: b["data"]["metric_alert"].pop("id"),
            "data.metric_alert.id: required",
        ),
        (
            "sentry_metric_alert",
            lambda b: b["data"]["metric_alert"]["alert_rule"]["triggers"][0].update(alert_threshold={}),
            "data.metric_alert.alert_rule.triggers[0].alert_threshold: "
            "expected a string or a number, got an object",
        ),
        (
            "sentry_metric_alert",
            lambda b: b["data"]["metric_alert"]["alert_rule"].update(projects=[1]),
            "data.metric_alert.alert_rule.projects[0]: expected a string, got a number",
        ),
        (
            "sentry_metric_alert",
            lambda b: b["data"]["metric_alert"].update(date_started="2020-13-01"),
            'data.metric_alert.date_started: expected an ISO 8601 timestamp, got "2020-13-01"',
        ),
    ],
)
def test_sentry_errors_name_the_field(name: str, mutate: Any, expected: str) -> None:
    body = load(name)
    mutate(body)
    assert errors_of(body) == [expected]


@pytest.mark.parametrize("body", [None, [], "x", 1])
def test_sentry_body_must_be_an_object(body: object) -> None:
    assert errors_of(body, resource="issue")[0].startswith("body: expected an object, got ")


def test_resource_header_chooses_the_reading() -> None:
    # an issue webhook declared as an issue alert lacks data.event
    assert errors_of(load("sentry_issue"), resource="event_alert") == ["data.event: required"]


# --- signature --------------------------------------------------------------------------------


def test_sentry_signature() -> None:
    body = json.dumps(load("sentry_issue")).encode()
    signature = hmac.new(b"client-secret", body, hashlib.sha256).hexdigest()
    assert sentry.verify_sentry_signature(body, signature, "client-secret")
    assert not sentry.verify_sentry_signature(body, signature, "wrong-secret")
    assert not sentry.verify_sentry_signature(body[:-1], signature, "client-secret")
    assert not sentry.verify_sentry_signature(body, "", "client-secret")
    assert not sentry.verify_sentry_signature(body, signature, "")
    assert not sentry.verify_sentry_signature(body, "ñ" * 64, "client-secret")
