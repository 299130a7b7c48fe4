"""Creating and withdrawing overrides, with the rules of who may change whose shift.

* Anyone listed under ``people`` may put themselves on call (``/oncall take``): covering for a
  colleague should never need permission.
* Putting someone else on call, or withdrawing an override, needs the caller to be in that
  team's rotation (primary or backup list) or a config admin (``slack.admins``); withdrawing is
  also open to the override's own person and to whoever created it.
* Everyone put on call must be listed under ``people``, or escalation could not reach them.

Errors are typed and their messages are written for the person who typed the command. Callers
run these inside one transaction and enqueue the announcements in it too, so an override is
never stored without its announcement or announced without being stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Config, Team
from bot.oncall.models import OverrideRow
from bot.oncall.schedule import Schedules
from bot.oncall.shifts import Override, Role, Shift, as_utc
from bot.oncall.who import is_admin, rotation_members, shifts, teams_of, to_override

MAX_REASON = 300


class OverrideError(Exception):
    """Refused; ``str(err)`` is the message for the person who asked."""


class UnknownTeam(OverrideError):
    pass


class AmbiguousTeam(OverrideError):
    pass


class UnknownPerson(OverrideError):
    pass


class NotAllowed(OverrideError):
    pass


class OverrideNotFound(OverrideError):
    pass


class OverrideAlreadyOver(OverrideError):
    pass


class BadSpan(OverrideError):
    pass


@dataclass(frozen=True, slots=True)
class OverrideChange:
    """What happened, for the announcements: the stored row, and whose primary shifts it covers."""

    row: OverrideRow
    team: Team
    displaced: list[Shift]
    ended_early: bool = False

    @property
    def override(self) -> Override:
        return to_override(self.row)


def team_names(config: Config) -> str:
    return ", ".join(t.name for t in config.teams) or "(none configured)"


def named_team(config: Config, name: str) -> Team:
    team = config.team(name.strip().lower())
    if team is None:
        raise UnknownTeam(f"there is no team named {name!r}; teams: {team_names(config)}")
    return team


def choose_team(schedules: Schedules, *, named: str | None, people: Sequence[str], now: datetime,
                example: str) -> Team:
    """The team a command means: the one named, else the one rotation the first of ``people`` who
    is in any rotation belongs to. ``example`` shows how to name the team when it is ambiguous."""
    config = schedules.config
    if named:
        return named_team(config, named)
    for person in people:
        teams = teams_of(schedules, person, now)
        if len(teams) == 1:
            return teams[0]
        if len(teams) > 1:
            names = " and ".join(t.name for t in teams)
            raise AmbiguousTeam(f"<@{person}> is in the {names} rotations; say which team, e.g. {example}")
    scheduled = [t for t in config.teams if t.schedule is not None]
    if len(scheduled) == 1:
        return scheduled[0]
    raise AmbiguousTeam(f"say which team, e.g. {example}; teams: {team_names(config)}")


def require_person(config: Config, person: str) -> None:
    if config.person(person) is None:
        raise UnknownPerson(f"<@{person}> is not listed under people in the config, so the bot could not "
                            "page them; ask an admin to add them")


def may_change(schedules: Schedules, team: Team, actor: str, now: datetime) -> bool:
    return is_admin(schedules.config, actor) or actor in rotation_members(schedules, team, now)


async def add_override(session: AsyncSession, schedules: Schedules, *, team: Team, person: str,
                       start: datetime, end: datetime, actor: str, reason: str, now: datetime) -> OverrideChange:
    """Store ``person`` as primary of ``team`` over ``[start, end)`` (latest override wins where they overlap)."""
    start, end, now = as_utc(start, "start"), as_utc(end, "end"), as_utc(now, "now")
    require_person(schedules.config, person)
    if person != actor and not may_change(schedules, team, actor, now):
        raise NotAllowed(f"only members of the {team.name} rotation or an admin may put someone else on call "
                         f"for {team.name}; you can take a shift yourself with /oncall take")
    if end <= start or end <= now:
        raise BadSpan("an override must end after it starts, and in the future")
    before = await shifts(session, schedules, team.name, start, end)
    displaced = [s for s in before if s.role is Role.PRIMARY and s.person != person]
    row = OverrideRow(team=team.name, person=person, starts_at=start, ends_at=end, created_by=actor,
                      created_at=now, reason=reason.strip()[:MAX_REASON])
    session.add(row)
    await session.flush()
    return OverrideChange(row=row, team=team, displaced=displaced)


async def cancel_override(session: AsyncSession, schedules: Schedules, *, override_id: int, actor: str,
                          now: datetime) -> OverrideChange:
    """Withdraw an override not yet begun, or end one in progress now; a finished one is history."""
    now = as_utc(now, "now")
    row = await session.get(OverrideRow, override_id)
    if row is None:
        raise OverrideNotFound(f"there is no override #{override_id}; /oncall overrides lists them")
    team = schedules.config.team(row.team)
    if team is None:
        raise OverrideNotFound(f"override #{override_id} belongs to team {row.team!r}, which is no longer configured")
    if row.cancelled_at is not None or row.ends_at <= now:
        raise OverrideAlreadyOver(f"override #{override_id} is already over; nothing to cancel")
    if actor not in (row.person, row.created_by) and not may_change(schedules, team, actor, now):
        raise NotAllowed(f"only <@{row.person}>, whoever created override #{override_id}, members of the "
                         f"{team.name} rotation or an admin may cancel it")
    in_progress = row.starts_at < now  # one starting this very instant never counted: withdraw it
    span_start, span_end = max(row.starts_at, now), row.ends_at
    if in_progress:
        row.ends_at = now
    else:
        row.cancelled_at = now
    row.cancelled_by = actor
    await session.flush()
    # Whoever holds the pager in the span it no longer covers is back on call, so they hear of it.
    after = await shifts(session, schedules, team.name, span_start, span_end)
    returning = [s for s in after if s.role is Role.PRIMARY and s.person != row.person]
    return OverrideChange(row=row, team=team, displaced=returning, ended_early=in_progress)


async def upcoming_overrides(session: AsyncSession, *, teams: Sequence[str] | None,
                             now: datetime) -> list[OverrideRow]:
    """Overrides in force or still to come, soonest first."""
    query = select(OverrideRow).where(OverrideRow.cancelled_at.is_(None), OverrideRow.ends_at > now)
    if teams is not None:
        query = query.where(OverrideRow.team.in_(list(teams)))
    return list(await session.scalars(query.order_by(OverrideRow.starts_at, OverrideRow.id)))
