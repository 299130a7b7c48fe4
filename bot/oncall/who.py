"""Who is on call, with stored overrides applied: the one place escalation, incidents, handoffs,
reports, the App Home, `/oncall` and the CLI ask.

Per team and instant (:func:`on_call`, :func:`team_status`), ahead (:func:`next_on_call`,
:func:`shifts`), and per person (:func:`next_shift_of`); also who belongs to a team's rotation
(for permissions and for "which team do you mean?"), and which zone a team's times are shown in.
Nothing here reads files: iCal sources were loaded by
:meth:`~bot.oncall.schedule.Schedules.load` at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Config, RotationSchedule, Team
from bot.oncall.models import OverrideRow
from bot.oncall.schedule import Schedules, next_primary, on_call_at, shifts_between, upcoming_shift
from bot.oncall.shifts import OnCall, Override, Shift


def to_override(row: OverrideRow) -> Override:
    return Override(team=row.team, person=row.person, start=row.starts_at, end=row.ends_at,
                    created_by=row.created_by, created_at=row.created_at, id=row.id)


async def overrides_for(session: AsyncSession, team: str, start: datetime, end: datetime) -> list[Override]:
    rows = await session.scalars(
        select(OverrideRow).where(OverrideRow.team == team, OverrideRow.cancelled_at.is_(None),
                                  OverrideRow.ends_at > start, OverrideRow.starts_at < end)
    )
    return [to_override(r) for r in rows]


# Overrides are looked up in a window this wide around the question, which is wider than any
# override can be (timeparse caps spans at 90 days).
_WINDOW = timedelta(days=120)


async def on_call(session: AsyncSession, schedules: Schedules, team: str, at: datetime) -> OnCall:
    """Primary and backup of ``team`` at ``at`` (each None if nobody); a team without schedule has none."""
    source = schedules.source(team)
    overrides = await overrides_for(session, team, at - _WINDOW, at + _WINDOW)
    if source is None:
        # No rotation, but an override still puts someone on call.
        live = sorted((o for o in overrides if o.start <= at < o.end), key=lambda o: o.precedence)
        return OnCall(at=at, primary=live[-1].as_shift() if live else None, backup=None)
    return on_call_at(source, at, overrides=overrides, default_zone=schedules.config.timezone)


async def next_on_call(session: AsyncSession, schedules: Schedules, team: str, at: datetime) -> Shift | None:
    source = schedules.source(team)
    if source is None:
        return None
    overrides = await overrides_for(session, team, at - _WINDOW, at + _WINDOW)
    return next_primary(source, at, overrides=overrides, default_zone=schedules.config.timezone)


async def shifts(session: AsyncSession, schedules: Schedules, team: str, start: datetime,
                 end: datetime) -> list[Shift]:
    source = schedules.source(team)
    if source is None:
        return []
    overrides = await overrides_for(session, team, start - _WINDOW, end + _WINDOW)
    return shifts_between(source, start, end, overrides=overrides, default_zone=schedules.config.timezone)


NEXT_SHIFT_HORIZON = timedelta(weeks=12)
_OVERRIDE_REACH = timedelta(days=120)  # longer than any override (timeparse caps them at 90 days)
# An imported calendar has no member list; whoever holds a shift in this window counts as one.
_ICAL_MEMBER_PAST = timedelta(weeks=4)
_ICAL_MEMBER_AHEAD = timedelta(weeks=8)


@dataclass(frozen=True, slots=True)
class TeamStatus:
    """One team at one instant. ``problem`` is set when its schedule could not be loaded."""

    team: Team
    on_call: OnCall
    next: Shift | None
    has_schedule: bool
    problem: str | None = None

    @property
    def primary(self) -> Shift | None:
        return self.on_call.primary

    @property
    def backup(self) -> Shift | None:
        return self.on_call.backup


def team_zone(config: Config, team: Team) -> ZoneInfo:
    """The zone a team's handoffs are defined in; the config's default when the schedule names none."""
    zone = getattr(team.schedule, "timezone", None) if team.schedule is not None else None
    return ZoneInfo(zone or config.timezone)


class PersonZones(Protocol):
    """Where a person is: Slack's zone for them when it can be had, else :func:`person_zone`."""

    def known(self, user_id: str) -> ZoneInfo:
        """Without waiting on anything: what is known now."""
        ...

    async def zone(self, user_id: str) -> ZoneInfo: ...


def person_zone(config: Config, person: str) -> ZoneInfo:
    """A person's configured zone, else the config's; Slack's own (users.info) is the Slack layer's job."""
    found = config.person(person)
    return ZoneInfo(found.timezone if found and found.timezone else config.timezone)


async def team_status(session: AsyncSession, schedules: Schedules, team: Team, now: datetime) -> TeamStatus:
    current = await on_call(session, schedules, team.name, now)
    upcoming = await next_on_call(session, schedules, team.name, now)
    return TeamStatus(team=team, on_call=current, next=upcoming,
                      has_schedule=schedules.source(team.name) is not None,
                      problem=schedules.problems.get(team.name))


async def all_statuses(session: AsyncSession, schedules: Schedules, now: datetime) -> list[TeamStatus]:
    return [await team_status(session, schedules, t, now) for t in schedules.config.teams]


def rotation_members(schedules: Schedules, team: Team, now: datetime) -> set[str]:
    """Primary and backup lists of a rotation; for an imported calendar, everyone holding a shift
    from four weeks back to eight weeks ahead."""
    if isinstance(team.schedule, RotationSchedule):
        return {*team.schedule.primary, *team.schedule.backup}
    source = schedules.source(team.name)
    if source is None:
        return set()
    return {s.person for s in source.base_shifts(now - _ICAL_MEMBER_PAST, now + _ICAL_MEMBER_AHEAD)}


def teams_of(schedules: Schedules, person: str, now: datetime) -> list[Team]:
    """Teams whose rotation the person is part of, in config order."""
    return [t for t in schedules.config.teams if person in rotation_members(schedules, t, now)]


def is_admin(config: Config, person: str) -> bool:
    return person in config.slack.admins


async def next_shift_of(session: AsyncSession, schedules: Schedules, person: str, now: datetime, *,
                        horizon: timedelta = NEXT_SHIFT_HORIZON) -> tuple[Team, Shift] | None:
    """The person's current or next shift in any team and either role (App Home: "your next shift")."""
    found: list[tuple[Team, Shift]] = []
    for team in schedules.config.teams:
        source = schedules.source(team.name)
        if source is None:
            continue
        overrides = await overrides_for(session, team.name, now - _OVERRIDE_REACH, now + horizon)
        shift = upcoming_shift(source, person, now, overrides=overrides, default_zone=schedules.config.timezone,
                               horizon=horizon)
        if shift is not None:
            found.append((team, shift))
    return min(found, key=lambda ts: ts[1].start, default=None)
