"""Which handoff is due to be announced, and the record that keeps it from being announced twice.

A handoff is the most recent instant at which a team's primary or backup changed hands, rotation
turn or override alike ("Dave takes over until 14:00", then "Bob is back"). Only that most recent
one is ever announced: after downtime the bot says who holds the pager *now*, not a backlog of
who held it while it was down. One older than :data:`CATCH_UP` is left alone, because by then it
is news to nobody (and a fresh install would otherwise announce a shift that began days ago).

:class:`~bot.oncall.models.HandoffRow` has ``(team, at)`` unique; the caller records the row and
enqueues the posts in one transaction, so a crash, a restart or a second replica cannot post the
same handoff twice, nor record it without posting.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Team
from bot.oncall.models import HandoffRow
from bot.oncall.open_items import OpenItem, OpenItemsProvider, OpenItemsQuery, gather_open_items
from bot.oncall.schedule import Schedules
from bot.oncall.shifts import OnCall, Shift
from bot.oncall.who import TeamStatus, on_call, team_status

CATCH_UP = timedelta(hours=24)
_TICK = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Handoff:
    """``status`` is the team at the handoff; ``before`` who held the roles just before it."""

    team: Team
    at: datetime
    status: TeamStatus
    before: OnCall
    items: list[OpenItem]

    @property
    def new_primary(self) -> bool:
        """The primary changed hands (not only the backup), so the incoming primary gets a DM."""
        primary = self.status.primary
        return primary is not None and _person(self.before.primary) != primary.person


def _person(shift: Shift | None) -> str | None:
    return None if shift is None else shift.person


def latest_handoff(status: TeamStatus) -> datetime | None:
    """When the current primary or backup shift began (the later of the two)."""
    starts = [s.start for s in (status.primary, status.backup) if s is not None]
    return max(starts, default=None)


async def due_handoff(session: AsyncSession, schedules: Schedules, team: Team, now: datetime, *,
                      providers: Sequence[OpenItemsProvider] = ()) -> Handoff | None:
    """The team's most recent handoff if it is within :data:`CATCH_UP`, changed somebody, and has
    not been announced yet; with the open items the incoming person inherits."""
    status = await team_status(session, schedules, team, now)
    at = latest_handoff(status)
    if at is None or now - at > CATCH_UP:
        return None
    if await session.scalar(select(HandoffRow.id).where(HandoffRow.team == team.name, HandoffRow.at == at)):
        return None
    # Both current shifts began at or before ``at``, so they are also who took over at ``at``.
    before = await on_call(session, schedules, team.name, at - _TICK)
    if (_person(before.primary), _person(before.backup)) == (_person(status.primary), _person(status.backup)):
        return None  # a rotation of one, or someone overriding their own shift: nothing changed hands
    items = await gather_open_items(session, providers, OpenItemsQuery(teams=frozenset({team.name})))
    return Handoff(team=team, at=at, status=status, before=before, items=items)


async def record_handoff(session: AsyncSession, handoff: Handoff, now: datetime) -> bool:
    """Record the handoff as announced; False if it already was (another replica got there first)."""
    exists = await session.scalar(select(HandoffRow.id).where(HandoffRow.team == handoff.team.name,
                                                              HandoffRow.at == handoff.at))
    if exists is not None:
        return False
    session.add(HandoffRow(team=handoff.team.name, at=handoff.at, primary=_person(handoff.status.primary),
                           backup=_person(handoff.status.backup), announced_at=now))
    await session.flush()  # the unique index turns a race lost on PostgreSQL into IntegrityError here
    return True
