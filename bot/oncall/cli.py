"""``watchstander oncall [TEAM] [--at TIME]`` and the schedule checks of ``check-config``.

The answer is the one `/oncall` gives, in plain text, with stored overrides applied when the
database is there. A command that only reads must not create a database as a side effect, so a
missing SQLite file (or one never migrated) means "no overrides", said in a note, not an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError

from bot.config import Config, IcalSchedule, Team
from bot.config.conflicts import conflict_warnings
from bot.db import Base, create_engine, session_factory
from bot.oncall.ical_import import IcalSource
from bot.oncall.report_text import status_report
from bot.oncall.schedule import Schedules
from bot.oncall.who import TeamStatus, team_status

_WARN_WINDOW = timedelta(weeks=8)
_EMPTY = "sqlite+aiosqlite://"  # in memory: the same queries, answered with no overrides


class CliError(Exception):
    """Bad arguments; the message is for the operator."""


@dataclass(frozen=True)
class Answer:
    text: str
    note: str | None = None


def parse_at(text: str | None, config: Config, now: datetime) -> datetime:
    """``--at``: ISO 8601; without an offset it is read in the config's ``timezone``."""
    if not text:
        return now
    try:
        moment = datetime.fromisoformat(text.strip().replace(" ", "T", 1))
    except ValueError:
        raise CliError(f"--at {text!r} is not an ISO time; use e.g. 2026-11-30T09:00 or 2026-11-30T09:00+01:00") from None
    return moment.replace(tzinfo=config.zone()) if moment.tzinfo is None else moment


def _database_exists(url: str) -> bool:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return True
    database = parsed.database
    return bool(database) and database != ":memory:" and Path(str(database)).exists()


async def oncall_answer(config: Config, *, database_url: str, team: str | None, at: datetime,
                        base_dir: Path | None, base_url: str | None) -> Answer:
    teams = config.teams
    if team is not None:
        found = config.team(team.lower())
        if found is None:
            raise CliError(f"no team named {team!r}; teams: {', '.join(t.name for t in config.teams) or '(none)'}")
        teams = [found]
    schedules = Schedules.load(config, base_dir=base_dir)
    note = None
    url = database_url
    if not _database_exists(database_url):
        url, note = _EMPTY, "no database yet, so no overrides are applied"
    try:
        statuses = await _statuses(url, schedules, teams, at)
    except (OperationalError, ProgrammingError):
        note = "the database is not migrated (run `watchstander migrate`), so no overrides are applied"
        statuses = await _statuses(_EMPTY, schedules, teams, at)
    text = status_report(statuses, names={p.slack_id: p.name for p in config.people}, zone=config.zone(), now=at,
                         base_url=base_url)
    return Answer(text=text, note=note)


async def _statuses(url: str, schedules: Schedules, teams: list[Team], at: datetime) -> list[TeamStatus]:
    engine = create_engine(url)
    try:
        if url == _EMPTY:
            async with engine.begin() as conn:
                await conn.run_sync(Base.metadata.create_all)
        sessions = session_factory(engine)
        async with sessions() as s:
            return [await team_status(s, schedules, t, at) for t in teams]
    finally:
        await engine.dispose()


def config_problems(config: Config, path: Path, *, now: datetime) -> tuple[list[str], list[str]]:
    """What ``check-config`` says beyond validation: :func:`schedule_problems`, and paging rules that
    work against each other (warnings, with their lines in the file at ``path``)."""
    problems, warnings = schedule_problems(config, base_dir=path.resolve().parent, now=now)
    return problems, warnings + conflict_warnings(config, path.read_text(encoding="utf-8"))


def schedule_problems(config: Config, *, base_dir: Path | None, now: datetime) -> tuple[list[str], list[str]]:
    """``(problems, warnings)`` about schedules: calendars that cannot be read fail ``check-config``;
    events in the next eight weeks that name nobody are warnings (those shifts would be empty)."""
    schedules = Schedules.load(config, base_dir=base_dir)
    problems, warnings = [], []
    for i, team in enumerate(config.teams):
        if team.name in schedules.problems:
            problems.append(f"teams.{i}.schedule.ical ({team.name}): {schedules.problems[team.name]}\n"
                            "    hint: check the path; a relative path is read from the config file's folder")
        source = schedules.source(team.name)
        if isinstance(team.schedule, IcalSchedule) and isinstance(source, IcalSource):
            for warning in source.warnings(now, now + _WARN_WINDOW):
                warnings.append(f"teams.{i}.schedule.ical ({team.name}): {warning}")
    return problems, warnings
