"""``--compare``: who holds the pager at each handoff of the next four weeks, in the old system and
in Watchstander side by side, so the two can run in parallel until they agree.

The old system's side is the vendor's rendered final schedule when the API gave one, else it is
computed from the export's layers and overrides (:mod:`bot.importers.timeline`). Watchstander's
side is the bot's own answer (:func:`bot.oncall.who.on_call`) from the config and the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.config import Config
from bot.db import create_engine, session_factory
from bot.importers.mapping import Mapped
from bot.importers.model import ImportedSchedule
from bot.importers.timeline import final_shifts, holder, merged
from bot.oncall.schedule import Schedules
from bot.oncall.shifts import Role, Shift
from bot.oncall.who import on_call, shifts, team_zone

WINDOW = timedelta(weeks=4)


@dataclass(frozen=True, slots=True)
class Row:
    team: str
    at: datetime
    vendor: str | None  # Slack id, or "<name> (not in Slack)"
    watchstander: str | None

    @property
    def same(self) -> bool:
        return self.vendor == self.watchstander


def vendor_shifts(m: Mapped, schedule: ImportedSchedule, start: datetime, end: datetime) -> list[Shift]:
    """The old system's primaries over the window, people as Slack ids where known."""
    given = schedule.rendered or []
    covers = bool(given) and min(s.start for s in given) <= start and max(s.end for s in given) >= end
    rendered = given if covers else final_shifts(schedule, start, end, m.export.overrides)
    out = []
    for s in merged(rendered):
        person = m.export.person(s.person)
        who = person.slack_id if person and person.slack_id else f"{person.name if person else s.person} (not in Slack)"
        out.append(Shift(who, Role.PRIMARY, s.start, s.end, s.source))
    return out


async def watchstander_primaries(config: Config, *, base_dir: Path, database_url: str, team: str,
                                 instants: Sequence[datetime]) -> list[str | None]:
    """The bot's own primary of ``team`` at each instant, stored overrides applied."""
    schedules = Schedules.load(config, base_dir=base_dir)
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            out = []
            for at in instants:
                primary = (await on_call(session, schedules, team, at)).primary
                out.append(primary.person if primary else None)
            return out
    finally:
        await engine.dispose()


async def compare_rows(m: Mapped, config: Config, *, base_dir: Path, database_url: str, now: datetime) -> list[Row]:
    end = now + WINDOW
    rows: list[Row] = []
    schedules = Schedules.load(config, base_dir=base_dir)
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            for schedule in m.export.schedules:
                team = m.team_of_schedule.get(schedule.vendor_id)
                if team is None or config.team(team) is None:
                    continue
                theirs = vendor_shifts(m, schedule, now, end)
                ours = [s for s in await shifts(session, schedules, team, now, end) if s.role is Role.PRIMARY]
                instants = sorted({now, *(s.start for s in [*theirs, *ours] if now <= s.start < end)})
                for at in instants:
                    primary = (await on_call(session, schedules, team, at)).primary
                    rows.append(Row(team, at, holder(theirs, at), primary.person if primary else None))
    finally:
        await engine.dispose()
    return rows


def compare_text(m: Mapped, config: Config, rows: Sequence[Row]) -> str:
    names = {p.slack_id: p.name for p in config.people}
    zone = ZoneInfo(config.timezone)
    lines = [f"Who is on call at each handoff, {m.export.vendor} | Watchstander (times in each team's zone)"]
    team = None
    for row in rows:
        if row.team != team:
            team = row.team
            found = config.team(team)
            zone = team_zone(config, found) if found else ZoneInfo(config.timezone)
            lines += ["", f"{team} ({zone.key})"]
        mark = "  " if row.same else "≠ "
        theirs = names.get(row.vendor or "", row.vendor or "nobody")
        ours = names.get(row.watchstander or "", row.watchstander or "nobody")
        lines.append(f"  {mark}{row.at.astimezone(zone):%a %Y-%m-%d %H:%M}  {theirs:<24} | {ours}")
    diff = sum(not r.same for r in rows)
    lines += ["", f"{len(rows)} handoffs compared, {diff} difference(s)" + (" (marked ≠)" if diff else "")]
    return "\n".join(lines) + "\n"
