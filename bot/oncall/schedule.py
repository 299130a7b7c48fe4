"""A team's schedule and its shifts: one set of questions answered the same way for rotations and
imported calendars, with no database (:mod:`bot.oncall.who` adds the stored overrides).

A schedule is either a :class:`RotationSchedule` from the config or anything with a
``base_shifts(start, end)`` method (:class:`~bot.oncall.ical_import.IcalSource`). Overrides are
applied here, on top of either, so ``/oncall override`` behaves identically for both:

* an override replaces the *primary* for its span; the backup is untouched;
* a rotation shift it lands in is split around it, and each piece keeps its real start/end;
* where overrides overlap, the one created latest wins (``Override.precedence``).

Shifts returned are never clipped to the query window: ``on_call_at(...).primary.end`` is the
real "until when", and ``shifts_between`` returns every shift that overlaps the window.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol, TypeVar

from bot.config import Config, IcalSchedule, RotationSchedule
from bot.oncall.ical_import import IcalError, IcalSource
from bot.oncall.layering import gather, paint
from bot.oncall.rotation import Rotation
from bot.oncall.shifts import OnCall, Origin, Override, Role, Shift, as_utc

_TICK = timedelta(microseconds=1)
_FIRST_LOOK = timedelta(days=14)
DEFAULT_HORIZON = timedelta(days=366)
R = TypeVar("R")


class ShiftSource(Protocol):
    """Shifts as a schedule defines them, before any stored override is applied.

    Implementations return every shift overlapping ``[start, end)`` (unclipped), with at most one
    holder per role at any instant.
    """

    def base_shifts(self, start: datetime, end: datetime) -> list[Shift]: ...


Schedule = RotationSchedule | ShiftSource


def as_source(schedule: Schedule, *, default_zone: str) -> ShiftSource:
    """A rotation is placed in its zone (or ``default_zone``); other sources are used as they are."""
    if isinstance(schedule, RotationSchedule):
        return Rotation(schedule, default_zone=default_zone)
    return schedule


def load_source(
    schedule: RotationSchedule | IcalSchedule,
    *,
    people: Sequence[tuple[str, str]],
    default_zone: str,
    base_dir: Path | None = None,
) -> ShiftSource:
    """The source for a team's configured schedule; reads the ``.ics`` file of an iCal schedule.

    This is the one call here that does I/O, so callers make it at start-up and on config reload,
    not per request. ``people`` is ``(slack_id, name)`` for everyone in the config; a relative
    ``ical`` path is taken relative to ``base_dir`` (the config file's folder) when given.
    Raises :class:`~bot.oncall.ical_import.IcalError` if the calendar cannot be read.
    """
    if isinstance(schedule, RotationSchedule):
        return Rotation(schedule, default_zone=default_zone)
    path = Path(schedule.ical)
    if base_dir is not None and not path.is_absolute():
        path = base_dir / path
    return IcalSource.from_path(path, people=people, zone=schedule.timezone or default_zone)


def shifts_between(
    schedule: Schedule,
    start: datetime,
    end: datetime,
    *,
    overrides: Sequence[Override] = (),
    default_zone: str,
) -> list[Shift]:
    """Every shift (primary and backup) overlapping ``[start, end)`` with overrides applied.

    Sorted by start, primary before backup at equal starts. Per role the shifts do not overlap,
    and a rotation's primaries are contiguous from its first handoff on.
    """
    start, end = as_utc(start, "start"), as_utc(end, "end")
    if end <= start:
        return []
    source = as_source(schedule, default_zone=default_zone)
    override_shifts = {o.as_shift(): o.precedence for o in overrides}

    def fetch(lo: datetime, hi: datetime) -> list[Shift]:
        base = [s for s in source.base_shifts(lo, hi) if s.role is Role.PRIMARY]
        return base + [s for s in override_shifts if s.overlaps(lo, hi)]

    # Each widening round catches a new override or one more rotation shift at an edge.
    items = gather(start, end, fetch, lambda s: (s.start, s.end), max_rounds=2 * len(override_shifts) + 4)
    base = [s for s in items if s.source is not Origin.OVERRIDE]
    layers = sorted((s for s in items if s.source is Origin.OVERRIDE), key=override_shifts.__getitem__)
    primaries = [s for s in paint(base, layers) if s.overlaps(start, end)]
    backups = [s for s in source.base_shifts(start, end) if s.role is Role.BACKUP]
    return sorted(primaries + backups, key=lambda s: (s.start, s.role is Role.BACKUP))


def on_call_at(
    schedule: Schedule,
    at: datetime,
    *,
    overrides: Sequence[Override] = (),
    default_zone: str,
) -> OnCall:
    """Primary and backup holding the pager at ``at`` (start inclusive, end exclusive)."""
    at = as_utc(at, "at")
    shifts = shifts_between(schedule, at, at + _TICK, overrides=overrides, default_zone=default_zone)
    primary = next((s for s in shifts if s.role is Role.PRIMARY and s.covers(at)), None)
    backup = next((s for s in shifts if s.role is Role.BACKUP and s.covers(at)), None)
    return OnCall(at=at, primary=primary, backup=backup)


def next_handoff(
    schedule: Schedule,
    after: datetime,
    default_zone: str,
    *,
    overrides: Sequence[Override] = (),
    horizon: timedelta = DEFAULT_HORIZON,
) -> datetime | None:
    """The first instant strictly after ``after`` at which a primary or backup shift starts or ends.

    With ``overrides`` the start and end of an override count too: the handoff job announces
    "Bob takes over until 14:00" as much as the weekly change. It does not check that the person
    actually changes (a one-person rotation still hands off to itself each week); compare
    :func:`on_call_at` on both sides if that matters. ``None`` if nothing changes within
    ``horizon`` (an imported calendar that has run out).
    """
    after = as_utc(after, "after")

    def edges(shifts: list[Shift]) -> datetime | None:
        times = [t for s in shifts for t in (s.start, s.end) if t > after]
        return min(times, default=None)

    return _scan(schedule, after, horizon, overrides, default_zone, edges)


def next_primary(
    schedule: Schedule,
    at: datetime,
    *,
    overrides: Sequence[Override] = (),
    default_zone: str,
    horizon: timedelta = DEFAULT_HORIZON,
) -> Shift | None:
    """"Who is next": the first primary shift after the current one held by someone else.

    Overrides count (if Bob overrides tomorrow, Bob is next). Before a rotation starts, the first
    shift is "next". ``None`` if the same person holds the pager for all of ``horizon``.
    """
    at = as_utc(at, "at")
    current = on_call_at(schedule, at, overrides=overrides, default_zone=default_zone).primary

    def pick(shifts: list[Shift]) -> Shift | None:
        return next(
            (s for s in shifts if s.role is Role.PRIMARY and s.start > at
             and (current is None or s.person != current.person)),
            None,
        )

    return _scan(schedule, at, horizon, overrides, default_zone, pick)


def upcoming_shift(
    schedule: Schedule,
    person: str,
    after: datetime,
    *,
    overrides: Sequence[Override] = (),
    default_zone: str,
    horizon: timedelta = DEFAULT_HORIZON,
) -> Shift | None:
    """The person's current or next shift in either role (App Home: "your next shift")."""
    after = as_utc(after, "after")

    def pick(shifts: list[Shift]) -> Shift | None:
        return next((s for s in shifts if s.person == person and s.end > after), None)

    return _scan(schedule, after, horizon, overrides, default_zone, pick)


def _scan(
    schedule: Schedule,
    start: datetime,
    horizon: timedelta,
    overrides: Sequence[Override],
    default_zone: str,
    pick: Callable[[list[Shift]], R | None],
) -> R | None:
    """Look ahead in growing windows, so the common answer (this week) stays cheap."""
    span = min(_FIRST_LOOK, horizon)
    while True:
        found = pick(shifts_between(schedule, start, start + span, overrides=overrides,
                                    default_zone=default_zone))
        if found is not None or span >= horizon:
            return found
        span = min(span * 4, horizon)


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
