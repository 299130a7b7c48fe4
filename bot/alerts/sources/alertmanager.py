"""Prometheus Alertmanager webhook notifications (``webhook_config``, payload version 4).

One notification is one alert group: its ``groupKey`` becomes the group key of every alert in it.
Grafana's unified alerting sends the same shape with extra fields, so :func:`read_group` is
shared with :mod:`bot.alerts.sources.grafana`.

Field mapping (annotation and label names are matched exactly):

- title: the ``alertname`` label (else the ``summary`` annotation)
- description: the ``summary`` annotation, then ``description`` (else ``message``)
- severity: the ``severity`` label, else ``priority``, through :func:`map_severity`
- service: the first of the labels ``service``, ``service_name``, ``app``, ``job``; ``job`` is
  last because it names the scrape job, which is the service only for application metrics
- runbook: annotation ``runbook_url`` or ``runbook``; dashboard: ``dashboard_url``,
  ``dashboard`` or ``grafana_url``; source: the alert's ``generatorURL``
- metric / threshold / value: annotations of those names
- fingerprint: the alert's ``fingerprint``; Alertmanager before 0.19 sent none, and then it is
  computed exactly as Alertmanager computes it (FNV-1a over the sorted labels), so upgrading
  Alertmanager later does not split open alerts in two.
- ends_at: ``endsAt`` of resolved alerts only; for firing alerts it is a projected expiry, and
  ``0001-01-01T00:00:00Z`` means unset.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.alerts.incoming import IncomingAlert, ParsedNotification
from bot.alerts.sources import _fields as f
from bot.severity import map_severity

_SERVICE_LABELS = ("service", "service_name", "app", "job")
_SEVERITY_LABELS = ("severity", "priority")
_RUNBOOK_ANNOTATIONS = ("runbook_url", "runbook")
_DASHBOARD_ANNOTATIONS = ("dashboard_url", "dashboard", "grafana_url")
# Labels kept first when an alert carries more than MAX_LABELS: those routes usually match on.
ROUTING_LABELS = (
    "alertname", "severity", "priority", "service", "team", "job", "instance", "namespace",
    "cluster", "env", "environment",
)  # fmt: skip
_STATUSES = ("firing", "resolved")


@dataclass(frozen=True)
class GroupedAlert:
    """One well-formed alert of a group, with the raw object it came from and its path."""

    raw: f.JSONObject
    path: str
    alert: IncomingAlert


@dataclass(frozen=True)
class AlertGroup:
    group_key: str | None
    alerts: tuple[GroupedAlert, ...]


def parse(body: object) -> ParsedNotification:
    """A version 4 webhook body as one notification; raises ``PayloadError`` naming bad fields."""
    errors = f.Errors()
    group = read_group(body, errors)
    errors.raise_if_any()
    return ParsedNotification(alerts=tuple(g.alert for g in group.alerts), group_key=group.group_key)


def read_group(body: object, errors: f.Errors, *, hidden_prefix: str | None = None) -> AlertGroup:
    """The alerts of an Alertmanager-shaped body; problems go to ``errors``.

    Labels and annotations whose names start with ``hidden_prefix`` are dropped (Grafana's
    internal ``__dashboardUid__`` and the like).
    """
    root = f.as_object(body, "", errors)
    if root is None:
        return AlertGroup(group_key=None, alerts=())
    f.get_str(root, "version", "", errors)
    f.get_int(root, "truncatedAlerts", "", errors)
    group_key = f.get_str(root, "groupKey", "", errors)
    group_status = _status(root, "", errors, default="firing")
    raw_alerts = f.get_list(root, "alerts", "", errors, required=True) or []

    alerts: list[GroupedAlert] = []
    for index, raw in enumerate(raw_alerts):
        path = f.item("alerts", index)
        before = len(errors.messages)
        obj = f.as_object(raw, path, errors)
        if obj is None:
            continue
        alert = _read_alert(obj, path, errors, default_status=group_status, hidden_prefix=hidden_prefix)
        if len(errors.messages) == before:
            alerts.append(GroupedAlert(raw=obj, path=path, alert=alert))
    return AlertGroup(
        group_key=f.identity(group_key) if group_key and group_key.strip() else None,
        alerts=tuple(alerts),
    )


def _read_alert(
    obj: f.JSONObject, path: str, errors: f.Errors, *, default_status: str, hidden_prefix: str | None
) -> IncomingAlert:
    labels = f.get_str_map(obj, "labels", path, errors)
    annotations = f.get_str_map(obj, "annotations", path, errors)
    if hidden_prefix:
        labels = {k: v for k, v in labels.items() if not k.startswith(hidden_prefix)}
        annotations = {k: v for k, v in annotations.items() if not k.startswith(hidden_prefix)}
    resolved = _status(obj, path, errors, default=default_status) == "resolved"
    starts_at = f.get_timestamp(obj, "startsAt", path, errors)
    ends_at = f.get_timestamp(obj, "endsAt", path, errors)
    generator_url = f.get_str(obj, "generatorURL", path, errors)
    fingerprint = f.get_str(obj, "fingerprint", path, errors)

    summary = annotations.get("summary")
    name = f.first(labels, ["alertname"]) or f.first(annotations, ["summary"]) or "Unnamed alert"
    return IncomingAlert(
        fingerprint=f.identity(fingerprint.strip())
        if fingerprint and fingerprint.strip()
        else label_fingerprint(labels),
        title=f.title(name),
        severity=map_severity(f.first(labels, _SEVERITY_LABELS)),
        resolved=resolved,
        description=f.description([summary, annotations.get("description") or annotations.get("message")]),
        service=f.short(f.first(labels, _SERVICE_LABELS)),
        labels=f.cap_labels(labels, keep_first=ROUTING_LABELS),
        annotations=f.cap_annotations(annotations),
        starts_at=starts_at,
        ends_at=ends_at if resolved else None,
        source_url=f.http_url(generator_url),
        runbook_url=f.http_url(f.first(annotations, _RUNBOOK_ANNOTATIONS)),
        dashboard_url=f.http_url(f.first(annotations, _DASHBOARD_ANNOTATIONS)),
        metric=f.short(f.first(annotations, ["metric"])),
        threshold=f.short(f.first(annotations, ["threshold"])),
        value=f.short(f.first(annotations, ["value"])),
    )


def _status(obj: f.JSONObject, path: str, errors: f.Errors, *, default: str) -> str:
    status = f.get_str(obj, "status", path, errors)
    if status is None:
        return default
    if status not in _STATUSES:
        errors.invalid(f.child(path, "status"), f'expected "firing" or "resolved", got {f.quote(status)}')
        return default
    return status


_FNV_OFFSET = 14695981039346656037
_FNV_PRIME = 1099511628211
_SEPARATOR = b"\xff"


def label_fingerprint(labels: dict[str, str]) -> str:
    """Alertmanager's fingerprint of a label set (prometheus/common ``LabelSet.Fingerprint``)."""
    digest = _FNV_OFFSET
    for name in sorted(labels):
        data = name.encode("utf-8", "surrogatepass") + _SEPARATOR
        data += labels[name].encode("utf-8", "surrogatepass") + _SEPARATOR
        for byte in data:
            digest = ((digest ^ byte) * _FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return f"{digest:016x}"
