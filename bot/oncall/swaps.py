"""Shift swaps: ``/oncall swap @bob mon 7 dec`` asks Bob to trade shifts; on accept both are swapped.

Which shifts (the rule the DM and the README state):

* **the asker's shift** is their primary shift of the team on that day, in the team's time zone:
  the first of their shifts (overrides applied) that holds the pager at some moment of that day;
* **the other person's shift** is their primary shift of the same team, not yet begun and not
  overlapping the asker's, that starts nearest to the asker's shift (before or after it; the
  earlier on a tie), looked for up to :data:`~bot.oncall.who.NEXT_SHIFT_HORIZON` ahead.

Both people must be in the team's rotation. The request is stored (``shift_swaps``) with both
spans as they were when asked. Accepting swaps them as a pair of overrides — the other person
covers the asker's span, the asker covers the other's — in the one transaction that marks the
request accepted; only the person asked may answer, once. A request answered after one of the two
shifts has begun is expired; one whose shifts have changed hands since (an override meanwhile) is
refused, so nobody swaps away a shift that is no longer theirs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Team
from bot.oncall.models import ShiftSwapRow, SwapStatus
from bot.oncall.overrides import NotAllowed, OverrideError, add_override, choose_team, require_person
from bot.oncall.schedule import Schedules
from bot.oncall.shifts import Role, Shift, as_utc
from bot.oncall.who import NEXT_SHIFT_HORIZON, rotation_members, shifts, team_zone


class SwapError(OverrideError):
    """Refused; ``str(err)`` is the message for the person who asked or clicked."""


class NoShift(SwapError):
    pass


class SwapNotFound(SwapError):
    pass


class SwapAlreadyAnswered(SwapError):
    pass


class ScheduleChanged(SwapError):
    pass


@dataclass(frozen=True, slots=True)
class SwapAnswer:
    """What came of a click: the row (its status says accepted, declined or expired) and its team."""

    row: ShiftSwapRow
    team: Team


def _primary_of(found: list[Shift], person: str) -> list[Shift]:
    return [s for s in found if s.role is Role.PRIMARY and s.person == person]


async def propose_swap(session: AsyncSession, schedules: Schedules, *, asker: str, other: str, day: date,
                       team_name: str | None, now: datetime) -> tuple[ShiftSwapRow, Team]:
    """Store the request (pending) for the asker's shift on ``day`` and the other's nearest one."""
    now = as_utc(now, "now")
    require_person(schedules.config, other)
    if other == asker:
        raise SwapError("you cannot swap with yourself; name the colleague to swap with, e.g. `/oncall swap @bob mon 7 dec`")
    team = choose_team(schedules, named=team_name, people=[asker, other], now=now,
                       example="`/oncall swap platform @bob mon 7 dec`")
    members = rotation_members(schedules, team, now)
    outsiders = [p for p in (asker, other) if p not in members]
    if outsiders:
        raise NotAllowed(f"only people on the {team.name} rotation may swap shifts, and "
                         f"{' and '.join(f'<@{p}>' for p in outsiders)} {'is' if len(outsiders) == 1 else 'are'} not")
    zone = team_zone(schedules.config, team)
    day_start = datetime.combine(day, time(0), tzinfo=zone)
    day_end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    mine = _primary_of(await shifts(session, schedules, team.name, day_start, day_end), asker)
    if not mine:
        raise NoShift(f"you have no {team.name} shift on {day:%a %-d %b}; `/oncall schedule {team.name}` shows "
                      "who is on call when")
    asker_shift = mine[0]
    if asker_shift.start <= now:
        raise NoShift(f"your {team.name} shift covering {day:%a %-d %b} has already begun; hand over the rest with "
                      "`/oncall override` instead")
    theirs = [s for s in _primary_of(await shifts(session, schedules, team.name, now, now + NEXT_SHIFT_HORIZON), other)
              if s.start > now and not s.overlaps(asker_shift.start, asker_shift.end)]
    if not theirs:
        raise NoShift(f"<@{other}> has no {team.name} shift in the next {NEXT_SHIFT_HORIZON.days // 7} weeks to swap with")
    other_shift = min(theirs, key=lambda s: (abs(s.start - asker_shift.start), s.start))
    row = ShiftSwapRow(team=team.name, asker=asker, other=other, asker_start=asker_shift.start,
                       asker_end=asker_shift.end, other_start=other_shift.start, other_end=other_shift.end,
                       status=SwapStatus.PENDING, created_at=now)
    session.add(row)
    await session.flush()
    return row, team


async def _still_holds(session: AsyncSession, schedules: Schedules, team: str, person: str, start: datetime,
                       end: datetime) -> bool:
    found = [s for s in await shifts(session, schedules, team, start, end) if s.role is Role.PRIMARY]
    return bool(found) and all(s.person == person for s in found) and found[0].start <= start and found[-1].end >= end


async def answer_swap(session: AsyncSession, schedules: Schedules, *, swap_id: int, actor: str, accept: bool,
                      now: datetime) -> SwapAnswer:
    """Accept (both shifts swapped as two overrides) or decline; an expired request is marked so."""
    now = as_utc(now, "now")
    row = await session.get(ShiftSwapRow, swap_id)
    team = schedules.config.team(row.team) if row is not None else None
    if row is None or team is None:
        raise SwapNotFound(f"there is no swap request #{swap_id} any more")
    if actor != row.other:
        raise NotAllowed(f"only <@{row.other}> can answer this swap request")
    if row.status != SwapStatus.PENDING:
        raise SwapAlreadyAnswered(f"you already {row.status} this swap request")
    row.decided_at = now
    if min(row.asker_start, row.other_start) <= now:
        row.status = SwapStatus.EXPIRED
        return SwapAnswer(row=row, team=team)
    if not accept:
        row.status = SwapStatus.DECLINED
        return SwapAnswer(row=row, team=team)
    if not (await _still_holds(session, schedules, team.name, row.asker, row.asker_start, row.asker_end)
            and await _still_holds(session, schedules, team.name, row.other, row.other_start, row.other_end)):
        raise ScheduleChanged("the schedule has changed since this swap was asked (an override?), so these shifts "
                              f"are not the ones to swap any more; <@{row.asker}> can ask again")
    reason = f"shift swap #{row.id}"
    takes_theirs = await add_override(session, schedules, team=team, person=row.other, start=row.asker_start,
                                      end=row.asker_end, actor=actor, reason=reason, now=now)
    gives_mine = await add_override(session, schedules, team=team, person=row.asker, start=row.other_start,
                                    end=row.other_end, actor=actor, reason=reason, now=now)
    row.other_override_id, row.asker_override_id = takes_theirs.row.id, gives_mine.row.id
    row.status = SwapStatus.ACCEPTED
    return SwapAnswer(row=row, team=team)
