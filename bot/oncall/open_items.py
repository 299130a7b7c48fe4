"""What someone picking up the pager inherits: open alerts now, open incidents once they exist.

The handoff DM and the App Home list "open items" without knowing where they come from. Each
feature contributes a provider (``open_alerts`` here; incidents add theirs in the composition
root), so this module never imports the incidents package and the incidents package never
reaches into the handoff code.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.alerts.incoming import AlertStatus
from bot.alerts.models import AlertGroup

MAX_ITEMS = 25
OPEN_ITEMS_KEY = "oncall.open_items"  # Services.extras key holding the list of providers


@dataclass(frozen=True, slots=True)
class OpenItem:
    """One thing still open, as a person scanning a list needs it.

    ``kind`` groups items ("alert", "incident"); ``ref`` is how people name it ("#12",
    "inc-2026-11-24-api"); ``owner`` is who has it (acknowledged by, commander), if anyone;
    ``channel_id`` lets Slack link to where it lives.
    """

    kind: str
    ref: str
    title: str
    since: datetime
    status: str
    severity: str | None = None
    owner: str | None = None
    channel_id: str | None = None


@dataclass(frozen=True, slots=True)
class OpenItemsQuery:
    """Items of ``teams``, plus (when ``person`` is set) items that person owns anywhere."""

    teams: frozenset[str]
    person: str | None = None
    limit: int = MAX_ITEMS


OpenItemsProvider = Callable[[AsyncSession, OpenItemsQuery], Awaitable[list[OpenItem]]]


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


def providers_from(extras: Mapping[str, Any]) -> list[OpenItemsProvider]:
    """The providers the composition root registered under :data:`OPEN_ITEMS_KEY`; alerts if none."""
    return list(extras.get(OPEN_ITEMS_KEY) or [open_alerts])


async def gather_open_items(session: AsyncSession, providers: Sequence[OpenItemsProvider],
                            query: OpenItemsQuery) -> list[OpenItem]:
    """Every provider's items, in provider order (alerts before incidents as registered)."""
    out: list[OpenItem] = []
    for provider in providers:
        out.extend(await provider(session, query))
    return out
