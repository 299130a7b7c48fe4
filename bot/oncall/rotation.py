"""Rotations from the config: handoff k happens at a local wall-clock time, and shift k follows it.

The rule that keeps people's evenings predictable is that handoffs are *wall-clock* times in the
schedule's zone, never fixed UTC offsets or fixed elapsed hours:

* ``daily``: handoff k is ``start + k days`` at ``handoff.at``.
* ``weekly``: handoff 0 is ``start`` at ``handoff.at``, even when ``start`` is not on the handoff
  weekday; every later handoff is on the handoff weekday (so a Wednesday ``start`` with a
  ``mon 09:00`` handoff gives the first person a short first shift, Wed -> Mon, and everyone a
  full week after). Rejecting such a config would make operators count weekdays to bring a team
  on board mid-week, and snapping ``start`` back to the previous Monday would put someone on call
  before the date they were told. With no weekday (``handoff: "09:00"``) the week runs from
  ``start``'s own weekday.
* a duration such as ``12h``, ``8h`` or ``2d``: handoff k is ``start@handoff.at + k * duration``
  computed on the *naive local* clock, then placed in the zone. ``12h`` from 09:00 therefore stays
  09:00 / 21:00 all year and never drifts; the price is that the shift containing a daylight
  saving change is an hour shorter or longer in real time (21:00 -> 09:00 across spring-forward
  is 11 h). For durations that do not divide a day the local pattern simply continues
  (``36h``: Mon 09:00, Tue 21:00, Thu 09:00, ...). The handoff weekday is ignored.

Local times that do not exist or happen twice are resolved with zoneinfo's ``fold=0``: a
02:30 handoff on a spring-forward day (02:00 -> 03:00) happens at 03:30 local, i.e. 02:30 on the
clock that was valid before the change; on a fall-back day it happens at the first 02:30. An
hourly rotation can therefore lose one shift entirely on a spring-forward night (two handoffs
map to the same instant); that empty shift is skipped, and its owner simply misses that turn.

Before handoff 0 the rotation has nobody on call. Primary k is ``primary[k % len(primary)]``
and backup k is ``backup[k % len(backup)]``: backups rotate on the same boundaries.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from bot.config import RotationSchedule
from bot.oncall.shifts import Origin, Role, Shift, as_utc

_WEEK = timedelta(weeks=1)


def wall_clock_instant(local: datetime, zone: tzinfo) -> datetime:
    """The UTC instant of a naive local wall-clock time; gaps and folds resolve with ``fold=0``."""
    return local.replace(tzinfo=zone, fold=0).astimezone(UTC)


class Rotation:
    """A :class:`RotationSchedule` placed in a zone: handoff instants and who holds each shift."""

    def __init__(self, schedule: RotationSchedule, *, default_zone: str) -> None:
        self.schedule = schedule
        self.zone: tzinfo = ZoneInfo(schedule.timezone or default_zone)
        self._primary = list(schedule.primary)
        self._backup = list(schedule.backup)
        at: time = schedule.handoff.at
        first = datetime.combine(schedule.start, at)
        self._first = first
        weekday = schedule.handoff.weekday
        if schedule.rotation == "weekly" and weekday is not None:
            self._step = _WEEK
            self._anchor = datetime.combine(_first_on_weekday_after(schedule.start, weekday), at)
            self._anchor_k = 1
        else:
            self._step = schedule.shift_length
            self._anchor = first
            self._anchor_k = 0

    # -- handoffs --

    def local_handoff(self, k: int) -> datetime:
        """Naive local wall-clock time of handoff ``k`` (k >= 0)."""
        if k == 0:
            return self._first
        return self._anchor + (k - self._anchor_k) * self._step

    def handoff(self, k: int) -> datetime:
        """UTC instant of handoff ``k``; shift ``k`` runs from here to ``handoff(k + 1)``."""
        return wall_clock_instant(self.local_handoff(k), self.zone)

    def index_at(self, at: datetime) -> int:
        """The shift index in force at ``at``: the last k with ``handoff(k) <= at``; -1 before start."""
        at = as_utc(at)
        local = at.astimezone(self.zone).replace(tzinfo=None)
        k = max(-1, self._anchor_k + (local - self._anchor) // self._step)
        # The estimate is off by at most one around daylight-saving changes; settle it on instants.
        while k >= 0 and self.handoff(k) > at:
            k -= 1
        while self.handoff(k + 1) <= at:
            k += 1
        return k

    def next_handoff(self, after: datetime) -> datetime:
        """The first handoff strictly after ``after`` (the first one of all, before ``start``)."""
        return self.handoff(self.index_at(after) + 1)

    # -- shifts --

    def shifts_of(self, k: int) -> list[Shift]:
        """Primary (and backup, if any) of shift ``k``; empty if DST collapsed it to nothing."""
        start, end = self.handoff(k), self.handoff(k + 1)
        if end <= start:
            return []
        out = [Shift(self._primary[k % len(self._primary)], Role.PRIMARY, start, end, Origin.ROTATION)]
        if self._backup:
            out.append(Shift(self._backup[k % len(self._backup)], Role.BACKUP, start, end, Origin.ROTATION))
        return out

    def base_shifts(self, start: datetime, end: datetime) -> list[Shift]:
        """Rotation shifts (both roles) overlapping ``[start, end)``, unclipped, without overrides."""
        start, end = as_utc(start), as_utc(end)
        k = max(0, self.index_at(start))
        out: list[Shift] = []
        while self.handoff(k) < end:
            out.extend(self.shifts_of(k))
            k += 1
        return out


def _first_on_weekday_after(day: date, weekday: int) -> date:
    """The first date strictly after ``day`` falling on ``weekday`` (0 = Monday)."""
    return day + timedelta(days=(weekday - day.weekday()) % 7 or 7)
