"""PagerDuty Events API v2 events (``POST /v2/enqueue``), as Alertmanager's ``pagerduty_configs``,
Grafana, Datadog, Zabbix and many scripts send them.

Validation errors are phrased as PagerDuty phrases them (``'payload.summary' is missing or
blank``), because clients log them verbatim. Mapping:

- fingerprint: ``dedup_key``; a trigger without one gets a fresh uuid4 hex, which the endpoint
  returns; acknowledge and resolve require one
- title: ``payload.summary`` (the full summary, up to PagerDuty's 1024 characters, opens the
  description when the title had to be cut); severity: ``payload.severity``
  (critical / error→high / warning→medium / info)
- description: ``custom_details`` rendered one ``key: value`` per line
- service: ``custom_details.service`` when it is a string, else ``payload.component``
- labels (for routes): ``source``, ``component``, ``group``, ``class``, ``severity``, plus every
  string-valued ``custom_details`` key (the payload fields win on a clash)
- source link: ``client_url``; ``links`` become link buttons (http(s) only); ``images`` are ignored
- acknowledge / resolve events carry only the dedup key: their title is the dedup key, their
  severity the default, and ingest should apply only the state change.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

from bot.alerts.incoming import IncomingAlert, ParsedNotification
from bot.alerts.sources import _fields as f
from bot.severity import map_severity

EventAction = Literal["trigger", "acknowledge", "resolve"]

MAX_SUMMARY = 1024
MAX_DEDUP_KEY = 255
_ACTIONS: tuple[EventAction, ...] = ("trigger", "acknowledge", "resolve")
_SEVERITIES = ("critical", "error", "warning", "info")
_PAYLOAD_LABELS = ("source", "component", "group", "class", "severity")
_DETAIL_LINE = 500


class PagerDutyErrors(f.Errors):
    """Errors in the Events API's own words."""

    def missing(self, path: str) -> None:
        self.add(f"'{path}' is missing or blank")

    def wrong_type(self, path: str, expected: str, value: object) -> None:
        self.add(f"'{path or 'event'}' is invalid (must be {expected})")

    def invalid(self, path: str, problem: str) -> None:
        self.add(f"'{path or 'event'}' is invalid ({problem})")


@dataclass(frozen=True)
class PagerDutyEvent:
    """One accepted event: the integration it is for, the key to answer with, and its alert."""

    routing_key: str
    dedup_key: str
    event_action: EventAction
    notification: ParsedNotification


def _new_dedup_key() -> str:
    return uuid.uuid4().hex


def parse(body: object) -> ParsedNotification:
    """The alert of an Events API v2 event (the registry's uniform signature)."""
    return parse_event(body).notification


def parse_event(body: object, *, new_dedup_key: Callable[[], str] = _new_dedup_key) -> PagerDutyEvent:
    """An Events API v2 event; raises ``PayloadError`` with PagerDuty-phrased errors."""
    errors = PagerDutyErrors()
    event = f.as_object(body, "", errors)
    if event is None:
        errors.raise_if_any()
        event = {}
    routing_key = f.get_str(event, "routing_key", "", errors, required=True)
    action = _event_action(event, errors)
    dedup_key = f.get_str(event, "dedup_key", "", errors, required=action in ("acknowledge", "resolve"))
    if dedup_key is not None and len(dedup_key) > MAX_DEDUP_KEY:
        errors.invalid("dedup_key", f"must be at most {MAX_DEDUP_KEY} characters")
    alert = _trigger(event, errors) if action == "trigger" else None
    errors.raise_if_any()
    # From here routing_key and action are present, and alert is set for a trigger: each absence
    # was reported above.
    key = dedup_key if dedup_key and dedup_key.strip() else new_dedup_key()
    if alert is None:
        alert = IncomingAlert(
            fingerprint=key,
            title=f.title(key),
            severity=map_severity(None),
            resolved=action == "resolve",
            acknowledge=action == "acknowledge",
        )
    return PagerDutyEvent(
        routing_key=routing_key or "",
        dedup_key=key,
        event_action=action or "trigger",
        notification=ParsedNotification(alerts=(replace(alert, fingerprint=key),)),
    )


def _event_action(event: f.JSONObject, errors: f.Errors) -> EventAction | None:
    raw = f.get_str(event, "event_action", "", errors, required=True)
    for action in _ACTIONS:
        if raw == action:
            return action
    if raw is not None and raw.strip():
        errors.invalid("event_action", "must be one of the following: 'trigger', 'acknowledge' or 'resolve'")
    return None


def _trigger(event: f.JSONObject, errors: f.Errors) -> IncomingAlert | None:
    payload = f.get_object(event, "payload", "", errors, required=True)
    client = f.get_str(event, "client", "", errors)
    client_url = f.get_str(event, "client_url", "", errors)
    links = f.get_links(event, "links", "", errors, strict_urls=False)
    f.get_list(event, "images", "", errors)
    if payload is None:
        return None
    summary = f.get_str(payload, "summary", "payload", errors, required=True)
    source = f.get_str(payload, "source", "payload", errors, required=True)
    severity = f.get_str(payload, "severity", "payload", errors, required=True)
    if severity is not None and severity.strip() and severity not in _SEVERITIES:
        errors.invalid(
            "payload.severity", "must be one of the following: 'critical', 'warning', 'error' or 'info'"
        )
    timestamp = f.get_timestamp(payload, "timestamp", "payload", errors)
    fields = {name: f.get_str(payload, name, "payload", errors) for name in ("component", "group", "class")}
    details = payload.get("custom_details")
    if summary is None or source is None or severity is None:
        return None

    summary = f.truncate(summary, MAX_SUMMARY)
    title = f.title(summary)
    string_details = (
        {k: v for k, v in details.items() if isinstance(v, str)} if isinstance(details, dict) else {}
    )
    labels = {f.clean(k): f.clean(v) for k, v in string_details.items()}
    labels.update({k: v for k, v in {**fields, "source": source, "severity": severity}.items() if v})
    annotations = f.cap_annotations({"client": client}) if client else {}
    return IncomingAlert(
        fingerprint="",  # set by the caller, which owns dedup key generation
        title=title,
        severity=map_severity(severity),
        description=f.description([summary if title != summary else None, *_render_details(details)]),
        service=f.short(f.clean(string_details.get("service") or fields["component"] or "") or None),
        labels=f.cap_labels(labels, keep_first=_PAYLOAD_LABELS),
        annotations=annotations,
        starts_at=timestamp,
        source_url=f.http_url(client_url),
        links=links,
    )


def _render_details(details: object) -> list[str]:
    """``custom_details`` one ``key: value`` per line; nested values as compact JSON."""
    if details is None:
        return []
    if not isinstance(details, dict):
        return [_compact(details)]
    lines: list[str] = []
    length = 0
    for key, value in details.items():
        if value is None or value == "":
            continue
        lines.append(f"{f.truncate(f.clean(key), f.MAX_LABEL_KEY)}: {_compact(value)}")
        length += len(lines[-1]) + 1
        if length > f.MAX_DESCRIPTION:  # the rest would be cut anyway
            break
    return lines


def _compact(value: object) -> str:
    if isinstance(value, str):
        return f.truncate(f.clean(value), _DETAIL_LINE)
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    except (ValueError, TypeError, RecursionError):
        text = "…"
    return f.truncate(f.clean(text), _DETAIL_LINE)
