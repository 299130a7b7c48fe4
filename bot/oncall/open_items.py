"""What someone picking up the pager inherits: open alerts now, open incidents once they exist.

The handoff DM and the App Home list "open items" without knowing where they come from. Each
feature contributes a provider (``bot.alerts.open_items``, ``bot.incidents.open_items``), and the
composition root lists them, so this module imports neither alerts nor incidents and neither
reaches into the handoff code.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

MAX_ITEMS = 25


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


async def gather_open_items(session: AsyncSession, providers: Sequence[OpenItemsProvider],
                            query: OpenItemsQuery) -> list[OpenItem]:
    """Every provider's items, in provider order (alerts before incidents as registered)."""
    out: list[OpenItem] = []
    for provider in providers:
        out.extend(await provider(session, query))
    return out
