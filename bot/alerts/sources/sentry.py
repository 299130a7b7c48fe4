"""Sentry integration-platform webhooks (an internal integration pointed at ``/alerts/sentry``).

The ``Sentry-Hook-Resource`` header says what a delivery is; without it the shape of ``data``
decides. Mapping:

- ``event_alert`` (issue alert rule fired; ``data.event``): fingerprint the issue id, title the
  event title, severity the event ``level``, source the event's ``web_url``.
- ``metric_alert`` (``data.metric_alert``; action ``critical`` / ``warning`` / ``resolved``):
  fingerprint ``metric-alert-<incident id>``, so a trigger after a resolve is a new alert; title
  the alert rule's name; severity critical / medium from the action; metric the rule's
  ``aggregate``, threshold the ``alert_threshold`` of the trigger named by the action.
- ``issue`` (action created / unresolved / assigned / resolved / ignored / archived; ``data.issue``)
  and ``activity_alert``: fingerprint the issue id (the same alert an issue alert opened), title
  the issue title. created / unresolved (a regression) fire; resolved / ignored / archived
  resolve. ``assigned`` gives no alert: it is neither a reason to page nor an acknowledgement
  (Sentry auto-assigns by ownership rules, which must not silence a page). Other actions carry
  nothing to alert on either.

Labels: the event's tags, then ``alertname`` (the title), ``project``, ``service``, ``level``,
``platform``, ``environment`` and ``rule`` where known. Service: the ``service`` tag, else the
project slug. Resources that are not alerts (``installation``, ``comment``, ``error``, …) give a
notification with no alerts.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from bot.alerts.incoming import IncomingAlert, ParsedNotification
from bot.alerts.sources import _fields as f
from bot.severity import Severity, map_severity

SIGNATURE_HEADER = "Sentry-Hook-Signature"
RESOURCE_HEADER = "Sentry-Hook-Resource"

_ALERT_RESOURCES = ("event_alert", "metric_alert", "issue", "activity_alert")
_METRIC_ACTIONS = {"critical": Severity.CRITICAL, "warning": Severity.MEDIUM, "resolved": None}
# action -> resolved; actions not listed (assigned, and any Sentry adds later) give no alert
_ISSUE_ACTIONS = {
    "created": False, "unresolved": False, "triggered": False,
    "resolved": True, "ignored": True, "archived": True,
}  # fmt: skip
_KEEP_LABELS = ("alertname", "service", "project", "level", "environment", "rule")
_PROJECT_IN_URL = re.compile(r"/projects/[^/]+/([^/]+)/")


def parse(body: object, *, resource: str | None = None) -> ParsedNotification:
    """A Sentry webhook body; ``resource`` is the ``Sentry-Hook-Resource`` header when known."""
    errors = f.Errors()
    root = f.as_object(body, "", errors)
    kind = resource.strip().lower() if resource else None
    if root is None or (kind is not None and kind not in _ALERT_RESOURCES):
        errors.raise_if_any()
        return ParsedNotification(alerts=())
    action = f.get_str(root, "action", "", errors, required=True)
    data = f.get_object(root, "data", "", errors, required=True)
    errors.raise_if_any()
    if action is None or data is None:  # unreachable: reported as missing above
        return ParsedNotification(alerts=())

    kind = kind or _sniff(data, action)
    alert: IncomingAlert | None
    if kind == "metric_alert":
        alert = _metric_alert(action, data, errors)
    elif kind == "event_alert":
        alert = _event_alert(data, errors)
    elif kind in ("issue", "activity_alert"):
        alert = _issue(action, data, errors)
    else:
        errors.invalid("data", 'expected an "event", "metric_alert" or "issue" object')
        alert = None
    errors.raise_if_any()
    return ParsedNotification(alerts=(alert,) if alert else ())


def verify_sentry_signature(body: bytes, header_value: str, secret: str) -> bool:
    """Whether ``header_value`` (``Sentry-Hook-Signature``) is the hex HMAC-SHA256 of the raw body
    with the integration's client secret."""
    if not secret or not header_value:
        return False
    expected = hmac.new(secret.encode("utf-8", "replace"), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header_value.strip().lower().encode("utf-8", "replace"))


def _sniff(data: f.JSONObject, action: str) -> str | None:
    if "metric_alert" in data:
        return "metric_alert"
    if "event" in data:
        return "event_alert"
    if "issue" in data:
        return "activity_alert" if action == "triggered" else "issue"
    return None


def _event_alert(data: f.JSONObject, errors: f.Errors) -> IncomingAlert | None:
    event = f.get_object(data, "event", "data", errors, required=True)
    if event is None:
        return None
    path = "data.event"
    issue_id = f.get_id(event, "issue_id", path, errors, required=True)
    event_title = f.get_str(event, "title", path, errors)
    message = f.get_str(event, "message", path, errors)
    culprit = f.get_str(event, "culprit", path, errors)
    level = f.get_str(event, "level", path, errors)
    platform = f.get_str(event, "platform", path, errors)
    environment = f.get_str(event, "environment", path, errors)
    api_url = f.get_str(event, "url", path, errors)
    web_url = f.get_str(event, "web_url", path, errors)
    started = f.get_timestamp(event, "datetime", path, errors)
    tags = _tags(event, path, errors)
    rule = f.get_str(data, "triggered_rule", "data", errors)
    issue_alert = f.get_object(data, "issue_alert", "data", errors)
    if issue_alert is not None:
        rule = rule or f.get_str(issue_alert, "title", "data.issue_alert", errors)
    if issue_id is None:
        return None

    name = f.title(event_title or message or "Sentry issue")
    project = _project_from_url(api_url)
    labels = _labels(
        tags, alertname=name, project=project, level=level, platform=platform,
        environment=environment, rule=rule,
    )  # fmt: skip
    return IncomingAlert(
        fingerprint=f.identity(issue_id),
        title=name,
        severity=map_severity(level),
        description=f.description(
            [message if message != event_title else None, _culprit(culprit), _rule(rule)]
        ),
        service=labels.get("service"),
        labels=labels,
        starts_at=started,
        source_url=f.http_url(web_url),
    )


def _metric_alert(action: str, data: f.JSONObject, errors: f.Errors) -> IncomingAlert | None:
    if action not in _METRIC_ACTIONS:
        errors.invalid("action", f'expected "critical", "warning" or "resolved", got {f.quote(action)}')
    incident = f.get_object(data, "metric_alert", "data", errors, required=True)
    description_title = f.get_str(data, "description_title", "data", errors)
    description_text = f.get_str(data, "description_text", "data", errors)
    web_url = f.get_str(data, "web_url", "data", errors)
    if incident is None:
        return None
    path = "data.metric_alert"
    incident_id = f.get_id(incident, "id", path, errors, required=True)
    incident_title = f.get_str(incident, "title", path, errors)
    started = f.get_timestamp(incident, "date_started", path, errors)
    closed = f.get_timestamp(incident, "date_closed", path, errors)
    incident_projects = _strings(incident, "projects", path, errors)
    rule = f.get_object(incident, "alert_rule", path, errors) or {}
    rule_path = f.child(path, "alert_rule")
    rule_name = f.get_str(rule, "name", rule_path, errors)
    aggregate = f.get_str(rule, "aggregate", rule_path, errors)
    environment = f.get_str(rule, "environment", rule_path, errors)
    projects = _strings(rule, "projects", rule_path, errors) or incident_projects
    threshold = _trigger_threshold(rule, action, rule_path, errors)
    if incident_id is None or action not in _METRIC_ACTIONS:
        return None

    name = f.title(rule_name or incident_title or "Sentry metric alert")
    resolved = action == "resolved"
    labels = _labels(
        {}, alertname=name, project=projects[0] if projects else None, level=None, platform=None,
        environment=environment, rule=rule_name,
    )  # fmt: skip
    return IncomingAlert(
        fingerprint=f.identity(f"metric-alert-{incident_id}"),
        title=name,
        severity=_METRIC_ACTIONS[action] or map_severity(None),
        resolved=resolved,
        description=f.description([description_title, description_text]),
        service=labels.get("service"),
        labels=labels,
        starts_at=started,
        ends_at=closed if resolved else None,
        source_url=f.http_url(web_url),
        metric=f.short(aggregate),
        threshold=threshold,
    )


def _issue(action: str, data: f.JSONObject, errors: f.Errors) -> IncomingAlert | None:
    issue = f.get_object(data, "issue", "data", errors, required=True)
    if issue is None:
        return None
    path = "data.issue"
    issue_id = f.get_id(issue, "id", path, errors, required=True)
    issue_title = f.get_str(issue, "title", path, errors)
    culprit = f.get_str(issue, "culprit", path, errors)
    level = f.get_str(issue, "level", path, errors)
    platform = f.get_str(issue, "platform", path, errors)
    web_url = f.get_str(issue, "web_url", path, errors)
    permalink = f.get_str(issue, "permalink", path, errors)
    first_seen = f.get_timestamp(issue, "firstSeen", path, errors)
    count = f.get_text_or_number(issue, "count", path, errors)
    users = f.get_text_or_number(issue, "userCount", path, errors)
    project = f.get_object(issue, "project", path, errors)
    slug = f.get_str(project, "slug", f.child(path, "project"), errors) if project else None
    if issue_id is None or action not in _ISSUE_ACTIONS:
        return None

    name = f.title(issue_title or "Sentry issue")
    labels = _labels(
        {}, alertname=name, project=slug, level=level, platform=platform, environment=None, rule=None
    )
    seen = f"{count} events, {users} users" if count and users else None
    return IncomingAlert(
        fingerprint=f.identity(issue_id),
        title=name,
        severity=map_severity(level),
        resolved=_ISSUE_ACTIONS[action],
        description=f.description([_culprit(culprit), seen]),
        service=labels.get("service"),
        labels=labels,
        starts_at=first_seen,
        source_url=f.http_url(web_url) or f.http_url(permalink),
    )


def _labels(
    tags: dict[str, str],
    *,
    alertname: str,
    project: str | None,
    level: str | None,
    platform: str | None,
    environment: str | None,
    rule: str | None,
) -> dict[str, str]:
    labels = dict(tags)
    service = tags.get("service") or project
    derived = {
        "alertname": alertname, "project": project, "service": service, "level": level,
        "platform": platform, "environment": environment or tags.get("environment"), "rule": rule,
    }  # fmt: skip
    labels.update({key: value for key, value in derived.items() if value})
    return f.cap_labels(labels, keep_first=_KEEP_LABELS)


def _tags(event: f.JSONObject, path: str, errors: f.Errors) -> dict[str, str]:
    """Event tags: ``[["key", "value"], …]`` (or ``[{"key", "value"}, …]``)."""
    tags: dict[str, str] = {}
    field = f.child(path, "tags")
    for index, pair in enumerate(f.get_list(event, "tags", path, errors) or []):
        if isinstance(pair, dict):
            key = f.get_str(pair, "key", f.item(field, index), errors, required=True)
            value = f.get_str(pair, "value", f.item(field, index), errors)
        elif isinstance(pair, list) and len(pair) == 2 and all(isinstance(x, str | None) for x in pair):
            key, value = (f.clean(x) if isinstance(x, str) else None for x in pair)
        else:
            errors.wrong_type(f.item(field, index), "a [key, value] pair", pair)
            continue
        if key and value is not None:
            tags[key] = value
    return tags


def _strings(obj: f.JSONObject, key: str, path: str, errors: f.Errors) -> list[str]:
    result: list[str] = []
    for index, entry in enumerate(f.get_list(obj, key, path, errors) or []):
        if isinstance(entry, str):
            result.append(f.clean(entry))
        else:
            errors.wrong_type(f.item(f.child(path, key), index), "a string", entry)
    return result


def _trigger_threshold(rule: f.JSONObject, action: str, path: str, errors: f.Errors) -> str | None:
    """The ``alert_threshold`` of the trigger whose label is ``action`` (critical / warning)."""
    found: str | None = None
    triggers_path = f.child(path, "triggers")
    for index, raw in enumerate(f.get_list(rule, "triggers", path, errors) or []):
        at = f.item(triggers_path, index)
        trigger = f.as_object(raw, at, errors)
        if trigger is None:
            continue
        label = f.get_str(trigger, "label", at, errors)
        threshold = f.get_text_or_number(trigger, "alert_threshold", at, errors)
        if label == action and found is None:
            found = threshold
    return found


def _project_from_url(api_url: str | None) -> str | None:
    """The project slug in an event's API URL (``…/projects/<org>/<project>/events/<id>/``)."""
    match = _PROJECT_IN_URL.search(api_url[: f.MAX_URL]) if api_url else None
    return f.clean(match[1]) if match else None


def _culprit(culprit: str | None) -> str | None:
    return f"Culprit: {culprit}" if culprit and culprit.strip() else None


def _rule(rule: str | None) -> str | None:
    return f"Alert rule: {rule}" if rule and rule.strip() else None
