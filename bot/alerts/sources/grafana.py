"""Grafana alerting webhooks: unified alerting (Grafana 8+) and legacy dashboard alerting.

Unified alerting sends Alertmanager's shape plus ``orgId``, ``title``, ``state``, ``message`` and,
per alert, ``silenceURL``, ``dashboardURL``, ``panelURL``, ``imageURL``, ``values`` and
``valueString``; everything :mod:`.alertmanager` maps applies, and in addition:

- dashboard: ``panelURL``, else ``dashboardURL``, else the dashboard annotations
- value: the ``value`` annotation, else ``values`` (one number, or ``B=44.2, C=1`` for several),
  else the values in ``valueString``; metric: the ``metric`` annotation, else the ``metric='…'``
  of ``valueString`` (legacy-style strings carry one)
- links: "Silence" (``silenceURL``) and "Image" (``imageURL``)
- labels and annotations starting with ``__`` (Grafana internals) are dropped

Legacy alerting (``ruleName``, ``state`` alerting / ok / no_data, ``evalMatches``, ``ruleUrl``) is
recognised by the absence of ``alerts``: title ``ruleName``, description ``message``, fingerprint
``rule-<ruleId>``, labels the rule's ``tags`` plus ``alertname``, value and metric from the first
eval match; ``ok`` resolves.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import replace

from bot.alerts.incoming import IncomingAlert, Link, ParsedNotification
from bot.alerts.sources import _fields as f
from bot.alerts.sources.alertmanager import ROUTING_LABELS, read_group
from bot.severity import map_severity

SIGNATURE_HEADER = "X-Grafana-Alerting-Signature"

_LEGACY_STATES = {"alerting": False, "no_data": False, "ok": True}
# "[ var='B' labels={instance=a} value=44.2 ], [ var='C' labels={} value=1 ]" (Grafana 9+)
# "[ metric='cpu' labels={} value=93.1 ]" (Grafana 8)
_VALUE_STRING = re.compile(
    r"\[ (?:var='(?P<var>[^']*)' )?(?:metric='(?P<metric>[^']*)' )?"
    r"labels=\{[^}]*\} value=(?P<value>[^ \]]*) \]"
)


def parse(body: object) -> ParsedNotification:
    """A Grafana webhook body (unified or legacy) as one notification."""
    if isinstance(body, dict) and "alerts" not in body and ("ruleName" in body or "evalMatches" in body):
        return _parse_legacy(body)
    errors = f.Errors()
    group = read_group(body, errors, hidden_prefix="__")
    alerts = [_with_grafana_fields(g.alert, g.raw, g.path, errors) for g in group.alerts]
    errors.raise_if_any()
    return ParsedNotification(alerts=tuple(alerts), group_key=group.group_key)


def verify_grafana_signature(body: bytes, header_value: str, secret: str, timestamp: str | None) -> bool:
    """Whether ``header_value`` is Grafana's HMAC signature of ``body``.

    Grafana (contact point "HMAC Signature" setting) sends the hex HMAC-SHA256 of the raw body
    with the shared secret, in ``X-Grafana-Alerting-Signature`` unless configured otherwise. When
    a timestamp header is configured the signed message is ``"<timestamp>:<body>"``; pass that
    header's value as ``timestamp``. Checking that the timestamp is recent is the caller's job.
    """
    if not secret or not header_value:
        return False
    message = f"{timestamp}:".encode("utf-8", "replace") + body if timestamp else body
    expected = hmac.new(secret.encode("utf-8", "replace"), message, hashlib.sha256).hexdigest()
    # bytes, not str: compare_digest raises TypeError for non-ASCII strings
    return hmac.compare_digest(expected.encode(), header_value.strip().lower().encode("utf-8", "replace"))


def _with_grafana_fields(
    alert: IncomingAlert, raw: f.JSONObject, path: str, errors: f.Errors
) -> IncomingAlert:
    panel_url = f.http_url(f.get_str(raw, "panelURL", path, errors))
    dashboard_url = f.http_url(f.get_str(raw, "dashboardURL", path, errors))
    silence_url = f.http_url(f.get_str(raw, "silenceURL", path, errors))
    image_url = f.http_url(f.get_str(raw, "imageURL", path, errors))
    value_string = f.get_str(raw, "valueString", path, errors)
    values = _values(raw, path, errors)

    readings = _value_string_readings(value_string)
    value = (
        alert.value
        or _render_values(values)
        or _render_values({var: reading for var, _, reading in readings})
    )
    metric = alert.metric or next((m for _, m, _ in readings if m), None)
    links = [Link(href=silence_url, text="Silence")] if silence_url else []
    if image_url:
        links.append(Link(href=image_url, text="Image"))
    return replace(
        alert,
        dashboard_url=panel_url or dashboard_url or alert.dashboard_url,
        value=f.short(value),
        metric=f.short(metric),
        links=alert.links + tuple(links),
    )


def _values(raw: f.JSONObject, path: str, errors: f.Errors) -> dict[str, str]:
    """``values``: the numbers of the rule's expressions by refId (null when there are none)."""
    obj = f.get_object(raw, "values", path, errors)
    if obj is None:
        return {}
    values: dict[str, str] = {}
    for ref, number in obj.items():
        if isinstance(number, int | float) and not isinstance(number, bool):
            values[f.clean(ref)] = f.format_number(number)
        elif number is not None:
            errors.wrong_type(f.child(f.child(path, "values"), ref), "a number", number)
    return values


def _value_string_readings(value_string: str | None) -> list[tuple[str, str, str]]:
    """``(var, metric, value)`` for each bracketed reading of a ``valueString``."""
    if not value_string:
        return []
    matches = _VALUE_STRING.finditer(value_string[: f.MAX_ANNOTATION_VALUE])
    return [(m["var"] or "", m["metric"] or "", _number(m["value"])) for m in matches]


def _number(text: str) -> str:
    try:
        return f.format_number(float(text))
    except ValueError:
        return text


def _render_values(values: dict[str, str]) -> str | None:
    if not values:
        return None
    if len(values) == 1:
        return next(iter(values.values()))
    return ", ".join(f"{ref}={value}" if ref else value for ref, value in values.items())


def _parse_legacy(body: f.JSONObject) -> ParsedNotification:
    errors = f.Errors()
    rule_name = f.get_str(body, "ruleName", "", errors, required=True)
    state = f.get_str(body, "state", "", errors, required=True)
    if state is not None and state not in _LEGACY_STATES:
        errors.invalid("state", f'expected "alerting", "ok" or "no_data", got {f.quote(state)}')
    rule_id = f.get_id(body, "ruleId", "", errors)
    message = f.get_str(body, "message", "", errors)
    rule_url = f.get_str(body, "ruleUrl", "", errors)
    image_url = f.http_url(f.get_str(body, "imageUrl", "", errors))
    tags = f.get_str_map(body, "tags", "", errors)
    metric, value = _first_eval_match(body, errors)
    errors.raise_if_any()
    rule_name = rule_name or ""  # present: a missing one was reported above
    state = state or "alerting"

    labels = {**tags, "alertname": rule_name}
    alert = IncomingAlert(
        fingerprint=f.identity(f"rule-{rule_id}" if rule_id else f"rule-{f.stable_hash(rule_name)}"),
        title=f.title(rule_name),
        severity=map_severity(f.first(tags, ["severity", "priority"])),
        resolved=_LEGACY_STATES[state],
        description=f.description([message, "No data" if state == "no_data" else None]),
        service=f.short(f.first(tags, ["service"])),
        labels=f.cap_labels(labels, keep_first=ROUTING_LABELS),
        source_url=f.http_url(rule_url),
        links=(Link(href=image_url, text="Image"),) if image_url else (),
        metric=metric,
        value=value,
    )
    return ParsedNotification(alerts=(alert,))


def _first_eval_match(body: f.JSONObject, errors: f.Errors) -> tuple[str | None, str | None]:
    matches = f.get_list(body, "evalMatches", "", errors) or []
    found: tuple[str | None, str | None] = (None, None)
    for index, raw in enumerate(matches):
        path = f.item("evalMatches", index)
        match = f.as_object(raw, path, errors)
        if match is None:
            continue
        metric = f.get_str(match, "metric", path, errors)
        value = f.get_text_or_number(match, "value", path, errors)
        if index == 0:
            found = (f.short(metric), value)
    return found
