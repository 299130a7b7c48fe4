"""The summary's SQL: aggregation where the database can do it, narrow column fetches where it cannot.

Every query is bounded by an indexed time range (``alert_groups.created_at``,
``alert_events (kind, at)``, ``alerts.received_at``) and selects only the columns it needs, so a
weekly summary reads a week of rows however much history the database holds. Nothing here loads
ORM objects: a year of alerts would not fit that budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.alerts.events import EventKind
from bot.alerts.models import Alert, AlertEvent, AlertGroup
from bot.config import OWN_INTEGRATION
from bot.incidents.models import Incident
from bot.reports.window import ReportWindow

PAGED = EventKind.PAGED
TEST_KEYS = "test/%"  # the fingerprint and group key of a test alert (POST /api/test, send-test-alert)
# Test alerts prove the path works; they are not on-call load, so no figure of the summary counts them.
REAL_GROUP = ~and_(AlertGroup.integration == OWN_INTEGRATION, AlertGroup.group_key.like(TEST_KEYS))
REAL_ALERT = ~and_(Alert.integration == OWN_INTEGRATION, Alert.fingerprint.like(TEST_KEYS))
PERSON_VIAS = ("slack", "sms", "call", "email")  # a "channel" page is an @here post, not a person


async def severity_counts(session: AsyncSession, window: ReportWindow) -> tuple[dict[str, int], dict[str, int]]:
    """Alert groups raised per severity in ``window`` and in the window before, in one pass."""
    before = window.previous()
    in_window = AlertGroup.created_at >= window.start
    rows = await session.execute(
        select(AlertGroup.severity,
               func.sum(case((in_window, 1), else_=0)),
               func.sum(case((in_window, 0), else_=1)))
        .where(AlertGroup.created_at >= before.start, AlertGroup.created_at < window.end, REAL_GROUP)
        .group_by(AlertGroup.severity)
    )
    now_counts: dict[str, int] = {}
    then_counts: dict[str, int] = {}
    for severity, current, previous in rows:
        if current:
            now_counts[severity] = int(current)
        if previous:
            then_counts[severity] = int(previous)
    return now_counts, then_counts


@dataclass(frozen=True, slots=True)
class GroupTimes:
    severity: str
    created_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    silenced: bool


async def group_times(session: AsyncSession, window: ReportWindow) -> list[GroupTimes]:
    """Per alert group raised in ``window``: the instants the response times and the chart need."""
    rows = await session.execute(
        select(AlertGroup.severity, AlertGroup.created_at, AlertGroup.acknowledged_at, AlertGroup.resolved_at,
               AlertGroup.silence_id.is_not(None))
        .where(AlertGroup.created_at >= window.start, AlertGroup.created_at < window.end, REAL_GROUP)
    )
    return [GroupTimes(sev, created, acked, resolved, bool(silenced))
            for sev, created, acked, resolved, silenced in rows]


@dataclass(frozen=True, slots=True)
class PageEvent:
    person: str
    via: str
    at: datetime
    group_id: int


async def pages(session: AsyncSession, window: ReportWindow) -> list[PageEvent]:
    rows = await session.execute(
        select(AlertEvent.actor, AlertEvent.via, AlertEvent.at, AlertEvent.group_id)
        .join(AlertGroup, AlertGroup.id == AlertEvent.group_id)
        .where(AlertEvent.kind == PAGED, AlertEvent.at >= window.start, AlertEvent.at < window.end,
               AlertEvent.actor.is_not(None), AlertEvent.via.in_(PERSON_VIAS), REAL_GROUP)
    )
    return [PageEvent(str(person), str(via), at, gid) for person, via, at, gid in rows]


@dataclass(frozen=True, slots=True)
class EscalationReach:
    group_id: int
    title: str
    severity: str
    furthest_step: int | None
    by_sms: bool
    by_call: bool = False


async def far_escalations(session: AsyncSession, window: ReportWindow, *, min_step: int) -> list[EscalationReach]:
    """Alert groups whose pages in ``window`` went out by SMS or call or reached step ``min_step`` or later."""
    step = AlertEvent.detail["step"].as_integer()  # bot.alerts.events.Paged.step
    furthest = func.max(step)
    sms = func.max(case((AlertEvent.via == "sms", 1), else_=0))
    call = func.max(case((AlertEvent.via == "call", 1), else_=0))
    rows = await session.execute(
        select(AlertGroup.id, AlertGroup.title, AlertGroup.severity, furthest, sms, call)
        .join(AlertGroup, AlertGroup.id == AlertEvent.group_id)
        .where(AlertEvent.kind == PAGED, AlertEvent.at >= window.start, AlertEvent.at < window.end, REAL_GROUP)
        .group_by(AlertGroup.id, AlertGroup.title, AlertGroup.severity)
        .having(or_(furthest >= min_step, sms == 1, call == 1))
        .order_by(func.coalesce(furthest, 0).desc(), AlertGroup.id)
    )
    return [EscalationReach(gid, title, sev, None if top is None else int(top), bool(by_sms), bool(by_call))
            for gid, title, sev, top, by_sms, by_call in rows]


@dataclass(frozen=True, slots=True)
class NoisyAlert:
    title: str
    service: str | None
    count: int


async def noisiest(session: AsyncSession, window: ReportWindow, *, limit: int) -> list[NoisyAlert]:
    """Alerts by title and service, counting every fire and every repeat notification in ``window``."""
    count = func.count(AlertEvent.id)
    rows = await session.execute(
        select(Alert.title, Alert.service, count)
        .join(Alert, Alert.id == AlertEvent.alert_id)
        .where(AlertEvent.kind.in_((EventKind.RECEIVED, EventKind.REPEATED)), AlertEvent.at >= window.start,
               AlertEvent.at < window.end, REAL_ALERT)
        .group_by(Alert.title, Alert.service)
        .order_by(count.desc(), Alert.title)
        .limit(limit)
    )
    return [NoisyAlert(title, service, int(n)) for title, service, n in rows]


@dataclass(frozen=True, slots=True)
class FireSeries:
    title: str
    service: str | None
    fires: list[datetime]


async def repeated_fires(session: AsyncSession, window: ReportWindow, *, min_fires: int) -> list[FireSeries]:
    """Alert identities (integration + fingerprint) that fired at least ``min_fires`` times in ``window``,
    with each fire's instant; the caller decides whether they came close enough together to flap."""
    in_window = and_(Alert.received_at >= window.start, Alert.received_at < window.end)
    candidates = (
        select(Alert.integration, Alert.fingerprint).where(in_window)
        .group_by(Alert.integration, Alert.fingerprint).having(func.count() >= min_fires)
    ).subquery()
    rows = await session.execute(
        select(Alert.integration, Alert.fingerprint, Alert.title, Alert.service, Alert.received_at)
        .join(candidates, and_(candidates.c.integration == Alert.integration,
                               candidates.c.fingerprint == Alert.fingerprint))
        .where(in_window)
        .order_by(Alert.integration, Alert.fingerprint, Alert.received_at)
    )
    series: dict[tuple[str, str], FireSeries] = {}
    for integration, fingerprint, title, service, at in rows:
        found = series.setdefault((integration, fingerprint), FireSeries(title, service, []))
        found.fires.append(at)
    return list(series.values())


@dataclass(frozen=True, slots=True)
class IncidentRow:
    id: int
    title: str
    severity: str
    declared_at: datetime
    resolved_at: datetime | None
    postmortem_done_at: datetime | None
    channel_id: str | None


async def incidents(session: AsyncSession, window: ReportWindow) -> list[IncidentRow]:
    """Incidents that were open at any time during ``window``, oldest first."""
    rows = await session.execute(
        select(Incident.id, Incident.title, Incident.severity, Incident.declared_at, Incident.resolved_at,
               Incident.postmortem_done_at, Incident.channel_id)
        .where(Incident.declared_at < window.end,
               or_(Incident.resolved_at.is_(None), Incident.resolved_at >= window.start))
        .order_by(Incident.declared_at, Incident.id)
    )
    return [IncidentRow(*row) for row in rows]


@dataclass(frozen=True, slots=True)
class OpenGroup:
    group_id: int
    title: str
    severity: str
    team: str | None
    created_at: datetime


async def long_open(session: AsyncSession, *, at: datetime, older_than: datetime,
                    limit: int) -> tuple[int, list[OpenGroup]]:
    """Alert groups still open at ``at`` that were raised before ``older_than``: how many, and the oldest."""
    still_open = and_(AlertGroup.created_at < older_than, REAL_GROUP,
                      or_(AlertGroup.resolved_at.is_(None), AlertGroup.resolved_at >= at))
    total = await session.scalar(select(func.count(AlertGroup.id)).where(still_open))
    rows = await session.execute(
        select(AlertGroup.id, AlertGroup.title, AlertGroup.severity, AlertGroup.team, AlertGroup.created_at)
        .where(still_open).order_by(AlertGroup.created_at, AlertGroup.id).limit(limit)
    )
    return int(total or 0), [OpenGroup(*row) for row in rows]

