"""Open alerts, as the handoff DM and the App Home list them (an :data:`~bot.oncall.open_items.OpenItemsProvider`)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.alerts.incoming import AlertStatus
from bot.alerts.models import AlertGroup
from bot.oncall.open_items import OpenItem, OpenItemsQuery


async def open_alerts(session: AsyncSession, query: OpenItemsQuery) -> list[OpenItem]:
    """Alert groups not resolved, oldest first: for the teams asked about, or acknowledged by the person."""
    wanted: list[ColumnElement[bool]] = [AlertGroup.team.in_(sorted(query.teams))] if query.teams else []
    if query.person:
        wanted.append(AlertGroup.acknowledged_by == query.person)
    if not wanted:
        return []
    rows = await session.scalars(
        select(AlertGroup).where(AlertGroup.status != AlertStatus.RESOLVED, or_(*wanted))
        .order_by(AlertGroup.created_at, AlertGroup.id).limit(query.limit)
    )
    return [
        OpenItem(kind="alert", ref=f"#{g.id}", title=g.title, since=g.created_at, status=g.status,
                 severity=g.severity, owner=g.acknowledged_by if g.status == AlertStatus.ACKNOWLEDGED else None,
                 channel_id=g.slack_channel_id)
        for g in rows
    ]
