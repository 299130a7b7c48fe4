"""Builders for configs and payloads, so tests say only what matters to them."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from typing import Any

from bot.config import Config, parse_config

ALICE, BOB, CAROL, DAVE = "U0ALICE01", "U0BOB0001", "U0CAROL01", "U0DAVE001"
TOKENS = {
    "AM_TOKEN": "am-token-0001", "PD_ROUTING_KEY": "pd-routing-key-0001", "GRAFANA_TOKEN": "grafana-token-01",
    "SENTRY_TOKEN": "sentry-token-001", "SENTRY_CLIENT_SECRET": "sentry-client-secret",
    "GENERIC_TOKEN": "generic-token-01", "PLATFORM_ICS_TOKEN": "platform-ics-token", "GRAFANA_SECRET": "grafana-hmac",
}
T0 = datetime(2026, 11, 24, 13, 0, tzinfo=UTC)  # a Tuesday, 14:00 in Berlin

BASE_CONFIG = """
timezone: Europe/Berlin
slack:
  alerts_channel: alerts
  incidents_channel: incidents
  summary_channel: ops-weekly
  incident_channel_prefix: inc
  admins: [U0ADMIN01]
people:
  - {slack_id: U0ALICE01, name: Alice, phone: "+15550000001", timezone: Europe/Berlin}
  - {slack_id: U0BOB0001, name: Bob,   phone: "+15550000002", timezone: America/New_York}
  - {slack_id: U0CAROL01, name: Carol, phone: "+15550000003"}
  - {slack_id: U0DAVE001, name: Dave}
teams:
  - name: platform
    channel: platform-alerts
    schedule:
      rotation: weekly
      handoff: "mon 09:00"
      timezone: Europe/Berlin
      start: 2026-11-02
      primary: [U0ALICE01, U0BOB0001, U0CAROL01]
      backup:  [U0BOB0001, U0CAROL01, U0ALICE01]
    calendar_token: "${PLATFORM_ICS_TOKEN}"
    escalation:
      - {after: 0m,  notify: [slack:primary]}
      - {after: 5m,  notify: [sms:primary]}
      - {after: 10m, notify: [sms:backup, slack:backup]}
      - {after: 20m, notify: [slack:channel]}
    repeat: 1
  - name: payments
    channel: payments-alerts
routes:
  - {match: {service: api}, team: platform}
  - {match: {alertname: "~^Payment"}, team: payments}
integrations:
  - {name: prometheus, type: alertmanager, token: "${AM_TOKEN}", team: platform}
  - {name: pd-compatible, type: pagerduty, token: "${PD_ROUTING_KEY}"}
  - {name: grafana, type: grafana, token: "${GRAFANA_TOKEN}", secret: "${GRAFANA_SECRET}"}
  - {name: sentry, type: sentry, token: "${SENTRY_TOKEN}", secret: "${SENTRY_CLIENT_SECRET}"}
  - {name: scripts, type: generic, token: "${GENERIC_TOKEN}"}
"""


def config_text(extra: str = "") -> str:
    return textwrap.dedent(BASE_CONFIG) + textwrap.dedent(extra)


def make_config(extra: str = "") -> Config:
    return parse_config(config_text(extra), env=TOKENS)


def am_alert(name: str = "HighErrorRate", *, status: str = "firing", fingerprint: str = "fp-1",
             labels: dict[str, str] | None = None, summary: str = "error rate 7.2% > 5%",
             starts_at: str = "2026-11-24T12:58:00Z", **annotations: str) -> dict[str, Any]:
    all_labels = {"alertname": name, "severity": "critical", "service": "api", "instance": "api-1:9090"}
    all_labels.update(labels or {})
    return {
        "status": status, "labels": all_labels,
        "annotations": {"summary": summary, "runbook_url": "https://runbooks.example.com/high-error-rate",
                        **annotations},
        "startsAt": starts_at,
        "endsAt": "2026-11-24T13:30:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.example.com/graph?g0.expr=rate",
        "fingerprint": fingerprint,
    }


def am_notification(*alerts: dict[str, Any], group_key: str = '{}:{alertname="HighErrorRate"}',
                    status: str | None = None) -> dict[str, Any]:
    alerts = alerts or (am_alert(),)
    return {
        "version": "4", "groupKey": group_key, "truncatedAlerts": 0,
        "status": status or ("resolved" if all(a["status"] == "resolved" for a in alerts) else "firing"),
        "receiver": "watchstander", "groupLabels": {"alertname": alerts[0]["labels"]["alertname"]},
        "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://alertmanager.example.com",
        "alerts": list(alerts),
    }
