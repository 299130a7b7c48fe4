"""The answer to "who is on call?" per team, shared by `/oncall`, the App Home, handoffs and the CLI.

Also who belongs to a team's rotation (for permissions and for "which team do you mean?"), and
which zone a team's times are shown in. Nothing here reads files: iCal sources were loaded by
:meth:`~bot.oncall.service.Schedules.load` at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Config, RotationSchedule, Team
from bot.oncall.schedule import upcoming_shift
from bot.oncall.service import Schedules, next_on_call, on_call, overrides_for
from bot.oncall.shifts import OnCall, Shift

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
