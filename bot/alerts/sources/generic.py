"""The generic payload for scripts, cron jobs and anything without a format of its own::

    {"title", "severity", "service", "description", "dedup_key", "status": "firing"|"resolved",
     "metric", "threshold", "value", "links": [{"href", "text"}], "labels": {}}

Only ``title`` is required; other fields are ignored. ``metric`` / ``threshold`` / ``value`` may
be strings or numbers. Link hrefs must be http(s) URLs. Labels for routes are ``labels`` plus
``service`` and ``severity`` as sent (the top-level fields win over same-named labels).

Fingerprint: ``dedup_key`` (at most 255 characters); else a hash of the title, ``labels`` and
``service`` — not ``severity``, so a warning that turns critical stays the same alert.
"""

from __future__ import annotations

from bot.alerts.incoming import IncomingAlert, ParsedNotification
from bot.alerts.sources import _fields as f
from bot.severity import map_severity

_STATUSES = {"firing": False, "resolved": True}
_KEEP_LABELS = ("service", "severity", "alertname", "team")


def parse(body: object) -> ParsedNotification:
    errors = f.Errors()
    root = f.as_object(body, "", errors)
    if root is None:
        errors.raise_if_any()
        root = {}
    title = f.get_str(root, "title", "", errors, required=True)
    severity = f.get_str(root, "severity", "", errors)
    service = f.get_str(root, "service", "", errors)
    description = f.get_str(root, "description", "", errors)
    dedup_key = f.get_str(root, "dedup_key", "", errors)
    if dedup_key is not None and len(dedup_key) > f.MAX_IDENTITY:
        errors.invalid("dedup_key", f"expected at most {f.MAX_IDENTITY} characters, got {len(dedup_key)}")
    status = f.get_str(root, "status", "", errors)
    if status is not None and status not in _STATUSES:
        errors.invalid("status", f'expected "firing" or "resolved", got {f.quote(status)}')
    metric = f.get_text_or_number(root, "metric", "", errors)
    threshold = f.get_text_or_number(root, "threshold", "", errors)
    value = f.get_text_or_number(root, "value", "", errors)
    links = f.get_links(root, "links", "", errors, strict_urls=True)
    labels = f.get_str_map(root, "labels", "", errors)
    errors.raise_if_any()

    title = title or ""  # present: a missing title was reported above
    service = service.strip() if service and service.strip() else None
    severity = severity.strip() if severity and severity.strip() else None
    identity_labels = {**labels, "service": service} if service else labels
    all_labels = {**identity_labels, "severity": severity} if severity else identity_labels
    alert = IncomingAlert(
        fingerprint=dedup_key if dedup_key and dedup_key.strip() else f.stable_hash(title, identity_labels),
        title=f.title(title),
        severity=map_severity(severity),
        resolved=_STATUSES.get(status or "firing", False),
        description=f.truncate(description.strip(), f.MAX_DESCRIPTION) if description else "",
        service=f.short(service),
        labels=f.cap_labels(all_labels, keep_first=_KEEP_LABELS),
        metric=metric,
        threshold=threshold,
        value=value,
        links=links,
    )
    return ParsedNotification(alerts=(alert,))
