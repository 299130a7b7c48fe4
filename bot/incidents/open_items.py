"""Open incidents as the handoff DM and the App Home list them (an ``OpenItemsProvider``).

An incident with no team named affects everyone, so every team's on-call inherits it; otherwise
the team's, plus any the person commands or holds a role in.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.incidents.models import Incident, IncidentRole
from bot.oncall.open_items import OpenItem, OpenItemsQuery


async def open_incident_items(session: AsyncSession, query: OpenItemsQuery) -> list[OpenItem]:
    wanted: list[ColumnElement[bool]] = [Incident.team.is_(None)]
    if query.teams:
        wanted.append(Incident.team.in_(sorted(query.teams)))
    if query.person:
        roles = select(IncidentRole.incident_id).where(IncidentRole.person == query.person)
        wanted += [Incident.commander == query.person, Incident.id.in_(roles)]
    rows = await session.scalars(
        select(Incident).where(Incident.resolved_at.is_(None), or_(*wanted))
        .order_by(Incident.declared_at, Incident.id).limit(query.limit)
    )
    return [
        OpenItem(kind="incident", ref=i.channel_name, title=i.title, since=i.declared_at, status=i.status,
                 severity=i.severity, owner=i.commander, channel_id=i.channel_id)
        for i in rows
    ]
