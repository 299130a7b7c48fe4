"""Alert groups as ``GET /api/alerts`` lists them: filtered by state and team, newest first."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.alerts.incoming import AlertStatus
from bot.alerts.models import AlertGroup

MAX_LIMIT = 500
DEFAULT_LIMIT = 100


class StateFilter(StrEnum):
    OPEN = "open"  # firing or acknowledged: not resolved
    FIRING = "firing"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    ALL = "all"


_STATUSES: dict[StateFilter, tuple[AlertStatus, ...]] = {
    StateFilter.OPEN: (AlertStatus.FIRING, AlertStatus.ACKNOWLEDGED),
    StateFilter.FIRING: (AlertStatus.FIRING,),
    StateFilter.ACKNOWLEDGED: (AlertStatus.ACKNOWLEDGED,),
    StateFilter.RESOLVED: (AlertStatus.RESOLVED,),
    StateFilter.ALL: tuple(AlertStatus),
}


async def list_groups(session: AsyncSession, *, state: StateFilter = StateFilter.OPEN, team: str | None = None,
                      limit: int = DEFAULT_LIMIT) -> Sequence[AlertGroup]:
    """At most ``limit`` groups in ``state`` (for ``team`` when given), newest first, with their alerts."""
    query = select(AlertGroup).options(selectinload(AlertGroup.alerts))
    if state != StateFilter.ALL:
        query = query.where(AlertGroup.status.in_(_STATUSES[state]))
    if team is not None:
        query = query.where(AlertGroup.team == team)
    query = query.order_by(AlertGroup.created_at.desc(), AlertGroup.id.desc()).limit(min(limit, MAX_LIMIT))
    return (await session.scalars(query)).all()
