"""The span a report covers, and when the weekly summary is due.

A weekly summary covers the seven days that end at its scheduled instant (Monday 09:00 covers the
previous Monday 09:00 up to this one), compared with the seven days before. Instants are computed
on the local calendar of the summary's zone, so "Monday 09:00" stays 09:00 across daylight saving
changes (that week is then 167 or 169 hours long, which is what people mean by "last week").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from bot.config import WEEKDAYS, Config


@dataclass(frozen=True, slots=True)
class ReportWindow:
    """``[start, end)``, both aware UTC."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError("a report window must end after it starts")

    @property
    def length(self) -> timedelta:
        return self.end - self.start

    @property
    def days(self) -> int:
        """Whole days, rounded (a DST week of 169 hours is still 7 days)."""
        return max(1, round(self.length / timedelta(days=1)))

    def previous(self) -> ReportWindow:
        """The window of the same length just before this one, for the "against the week before" figures."""
        return ReportWindow(self.start - self.length, self.start)

    @classmethod
    def ending(cls, end: datetime, length: timedelta) -> ReportWindow:
        return cls(end - length, end)


def _local_instant(day: date, at: time, zone: tzinfo) -> datetime:
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def scheduled_before(now: datetime, *, weekday: str, at: time, zone: tzinfo) -> datetime:
    """The most recent scheduled instant (``weekday`` ``at`` in ``zone``) at or before ``now``."""
    local = now.astimezone(zone)
    day = local.date() - timedelta(days=(local.weekday() - WEEKDAYS.index(weekday)) % 7)
    instant = _local_instant(day, at, zone)
    if instant > now:
        instant = _local_instant(day - timedelta(days=7), at, zone)
    return instant


def week_ending(instant: datetime, zone: tzinfo, at: time) -> ReportWindow:
    """The week a summary scheduled at ``instant`` (``at`` local) covers: from the previous week's
    scheduled instant, up to it. Both ends come from ``at``, not from the local time ``instant``
    shows: a 02:30 that the clocks skip happens at 03:30, and the week after must still start where
    this one ended."""
    local = instant.astimezone(zone)
    return ReportWindow(_local_instant(local.date() - timedelta(days=7), at, zone), instant)


def summary_zone_name(config: Config) -> str:
    return config.summary.timezone or config.timezone
