"""Who is on call, with stored overrides applied: the one entry point escalation, incidents,
handoffs and `/oncall` use. Schedules are built from config once (iCal files are read at start)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Config
from bot.oncall.ical_import import IcalError
from bot.oncall.models import OverrideRow
from bot.oncall.schedule import ShiftSource, load_source, next_primary, on_call_at, shifts_between
from bot.oncall.shifts import OnCall, Override, Shift


@dataclass
class Schedules:
    """Each team's shift source, plus problems found loading them (shown by check-config and /readyz)."""

    config: Config
    sources: dict[str, ShiftSource] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, config: Config, *, base_dir: Path | None = None) -> Schedules:
        people = [(p.slack_id, p.name) for p in config.people]
        out = cls(config)
        for team in config.teams:
            if team.schedule is None:
                continue
            try:
                out.sources[team.name] = load_source(team.schedule, people=people, default_zone=config.timezone,
                                                     base_dir=base_dir)
            except IcalError as exc:
                out.problems[team.name] = str(exc)
        return out

    def source(self, team: str) -> ShiftSource | None:
        return self.sources.get(team)


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
