"""The normalised shape every alert source parser produces, before storage.

Parsers in ``bot.alerts.sources`` turn a webhook body into a :class:`ParsedNotification`;
``bot.alerts.ingest`` dedups, groups, routes and stores it. Nothing here touches the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from bot.severity import Severity


class AlertStatus(StrEnum):
    FIRING = "firing"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class Link:
    href: str
    text: str


@dataclass(frozen=True)
class IncomingAlert:
    """One alert as a source reported it.

    ``fingerprint`` identifies the alert within its integration (Alertmanager fingerprint,
    PagerDuty dedup_key, Sentry issue id, ...). ``resolved`` is True when the source says the
    problem is over.
    """

    fingerprint: str
    title: str
    severity: Severity
    resolved: bool = False
    description: str = ""
    service: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    source_url: str | None = None
    runbook_url: str | None = None
    dashboard_url: str | None = None
    links: tuple[Link, ...] = ()
    metric: str | None = None
    threshold: str | None = None
    value: str | None = None
    # PagerDuty "acknowledge" events: the source itself acknowledged the alert.
    acknowledge: bool = False


@dataclass(frozen=True)
class ParsedNotification:
    """One webhook delivery: one or more alerts, optionally sharing a group key."""

    alerts: tuple[IncomingAlert, ...]
    group_key: str | None = None


class PayloadError(ValueError):
    """The body is not a valid payload for this source. ``errors`` name each bad field."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors
