"""Everything the post-mortem template can use, as plain values.

The incident service fills these from the database; the template (``playbooks/postmortem.md.j2``,
replaceable by users) only reads them. Field names are therefore part of the template contract:
rename one and every custom template breaks, loudly (the renderer uses StrictUndefined).

Times are timezone-aware datetimes (naive ones are taken as UTC, which is what SQLite hands
back); the template shows them in ``PostmortemContext.timezone`` with the full date and zone.
People are display names, already resolved from Slack IDs. Durations are pre-formatted strings
(``"12m 30s"``, ``"—"`` when unknown) built with :func:`elapsed`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from bot.durations import format_duration

MISSING = "—"


def elapsed(start: datetime | None, end: datetime | None) -> str:
    """``"12m 30s"`` from ``start`` to ``end``, or ``"—"`` when either end is unknown."""
    if start is None or end is None:
        return MISSING
    return format_duration(end - start)


@dataclass(frozen=True, kw_only=True)
class SeverityChange:
    """``from_severity`` is None for the severity the incident was declared with."""

    at: datetime
    from_severity: str | None
    to_severity: str
    by: str


@dataclass(frozen=True, kw_only=True)
class RoleAssignment:
    role: str  # commander, comms, scribe, …
    person: str


@dataclass(frozen=True, kw_only=True)
class IncidentFacts:
    id: int | str
    title: str
    severity: str  # current, e.g. "SEV1"
    status: str  # e.g. "resolved"
    channel: str  # channel name without '#'
    declared_at: datetime
    commander: str | None = None
    severity_history: tuple[SeverityChange, ...] = ()
    roles: tuple[RoleAssignment, ...] = ()
    detected_at: datetime | None = None  # when the first linked alert reached Watchstander
    acknowledged_at: datetime | None = None
    mitigated_at: datetime | None = None
    resolved_at: datetime | None = None
    summary: str = ""
    affected_service: str | None = None


@dataclass(frozen=True, kw_only=True)
class ImpactWindow:
    start: datetime | None
    end: datetime | None  # None while the impact is ongoing
    duration: str = MISSING
    services: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Durations:
    time_to_detect: str = MISSING
    time_to_acknowledge: str = MISSING
    time_to_mitigate: str = MISSING
    time_to_resolve: str = MISSING

    @classmethod
    def measure(
        cls,
        *,
        impact_start: datetime | None,
        detected_at: datetime | None,
        acknowledged_at: datetime | None,
        mitigated_at: datetime | None,
        resolved_at: datetime | None,
    ) -> Durations:
        """The usual incident metrics: detect is impact start → detection; the others run from
        detection (the first alert, or the declaration when no alert was linked)."""
        return cls(
            time_to_detect=elapsed(impact_start, detected_at),
            time_to_acknowledge=elapsed(detected_at, acknowledged_at),
            time_to_mitigate=elapsed(detected_at, mitigated_at),
            time_to_resolve=elapsed(detected_at, resolved_at),
        )


@dataclass(frozen=True, kw_only=True)
class PersonPaged:
    who: str
    how: Literal["slack", "sms", "call"]
    at: datetime
    step: int | None = None  # 1-based escalation step; None for a manual page (Escalate, /oncall page)
    alert: str | None = None  # title of the alert the page was for


@dataclass(frozen=True, kw_only=True)
class TimelineItem:
    at: datetime
    kind: str  # declared, severity, role, status, note, alert, ack, escalation, pin, checklist, resolved…
    actor: str  # display name; "Watchstander" for what the bot did itself
    text: str
    permalink: str | None = None


@dataclass(frozen=True, kw_only=True)
class LinkedAlert:
    title: str
    severity: str
    started_at: datetime
    service: str | None = None
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    link: str | None = None  # the alert's Slack message or source URL


@dataclass(frozen=True, kw_only=True)
class ActionItem:
    text: str
    owner: str | None = None
    done: bool = False


@dataclass(frozen=True, kw_only=True)
class PostmortemContext:
    """The template sees each field as a top-level variable: ``incident``, ``impact``, …"""

    incident: IncidentFacts
    impact: ImpactWindow
    durations: Durations
    timezone: str  # IANA name every timestamp is shown in, e.g. "Europe/Berlin"
    people_paged: tuple[PersonPaged, ...] = ()
    timeline: tuple[TimelineItem, ...] = ()
    alerts: tuple[LinkedAlert, ...] = ()
    action_items: tuple[ActionItem, ...] = ()
    generated_at: datetime | None = None
    extra: dict[str, str] = field(default_factory=dict)  # free values for custom templates
