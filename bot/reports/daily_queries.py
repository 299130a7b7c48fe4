"""The daily digest's SQL: counts in the database, and only the handful of rows it lists.

Yesterday's alerts are bounded by ``alert_groups.created_at`` (indexed); open alerts by
``status != 'resolved'``, the condition of the partial index ``uq_alert_groups_open_key`` (so on
SQLite and PostgreSQL alike only open rows are read): neither reads the year of resolved history. Test alerts are left out (:data:`REAL_GROUP`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, UnaryExpression, and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.alerts.models import OPEN, AlertGroup
from bot.monitors.models import MonitorState
from bot.reports.queries import REAL_GROUP
from bot.severity import Severity

# Most severe first: the order of bot.severity.Severity.
SEVERITY_RANK = case(*[(AlertGroup.severity == s, i) for i, s in enumerate(Severity)], else_=len(Severity))


@dataclass(frozen=True, slots=True)
class AlertLine:
    """One alert group as the digest lists it; ``status`` is its status now."""

    group_id: int
    title: str
    severity: str
    status: str
    team: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AlertCount:
    """How many alert groups match, per severity, and the first ``limit`` of them."""

    by_severity: dict[str, int]
    shown: tuple[AlertLine, ...]

    @property
    def total(self) -> int:
        return sum(self.by_severity.values())

    @property
    def more(self) -> int:
        """How many are counted but not listed."""
        return self.total - len(self.shown)


Order = UnaryExpression[datetime] | UnaryExpression[int]


async def _count(session: AsyncSession, where: ColumnElement[bool], order: Sequence[Order],
                 limit: int) -> AlertCount:
    counts = await session.execute(select(AlertGroup.severity, func.count(AlertGroup.id))
                                   .where(where).group_by(AlertGroup.severity))
    rows = await session.execute(
        select(AlertGroup.id, AlertGroup.title, AlertGroup.severity, AlertGroup.status, AlertGroup.team,
               AlertGroup.created_at)
        .where(where).order_by(*order).limit(limit)
    )
    return AlertCount(by_severity={str(sev): int(n) for sev, n in counts if n},
                      shown=tuple(AlertLine(gid, title, str(sev), str(status), team, created)
                                  for gid, title, sev, status, team, created in rows))


async def raised_between(session: AsyncSession, start: datetime, end: datetime, *, limit: int) -> AlertCount:
    """Alert groups raised in ``[start, end)``, most severe first, then in the order they came."""
    where = and_(AlertGroup.created_at >= start, AlertGroup.created_at < end, REAL_GROUP)
    return await _count(session, where, (SEVERITY_RANK.asc(), AlertGroup.created_at.asc(), AlertGroup.id.asc()), limit)


async def open_now(session: AsyncSession, *, limit: int) -> AlertCount:
    """Alert groups firing or acknowledged, oldest first."""
    where = and_(OPEN, REAL_GROUP)  # OPEN spelled as the partial index's condition, so both databases use it
    return await _count(session, where, (AlertGroup.created_at.asc(), AlertGroup.id.asc()), limit)


@dataclass(frozen=True, slots=True)
class CheckStateRow:
    key: str
    down_since: datetime | None
    alerted: bool
    expiry_alerted: bool
    cert_expires_at: datetime | None
    last_error: str | None
    last_probe_at: datetime | None


async def check_states(session: AsyncSession, keys: Sequence[str]) -> dict[str, CheckStateRow]:
    """The state rows of ``keys`` (``check/<name>``), by key; a check never probed may have none."""
    if not keys:
        return {}
    rows = await session.execute(
        select(MonitorState.key, MonitorState.down_since, MonitorState.alerted, MonitorState.expiry_alerted,
               MonitorState.cert_expires_at, MonitorState.last_error, MonitorState.last_probe_at)
        .where(MonitorState.key.in_(list(keys)))
    )
    return {row.key: CheckStateRow(row.key, row.down_since, bool(row.alerted), bool(row.expiry_alerted),
                                   row.cert_expires_at, row.last_error, row.last_probe_at) for row in rows}
