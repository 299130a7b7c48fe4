"""The few calculations the summary does in Python rather than SQL, each defined exactly.

Percentiles use the **nearest-rank** method: the p-th percentile of n values is the value at rank
⌈p·n/100⌉ in ascending order. It is always a time somebody actually took (no interpolated
"2m 37.5s"), p50 of an even count is the lower middle value, and one value is its own p50 and p90.
The rank is computed in integers, because 0.9 × 10 in floating point is 9.000000000000002.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from bot.config import OutOfHours

#: An alert is flapping when it fired this many times within :data:`FLAP_SPAN`, resolving between
#: fires (a new fire of a resolved alert is a new stored alert with the same fingerprint).
FLAP_FIRES = 3
FLAP_SPAN = timedelta(hours=24)


def percentile(values: Sequence[timedelta], p: int) -> timedelta | None:
    """Nearest-rank percentile; None for no values."""
    if not 0 < p <= 100:
        raise ValueError(f"percentile must be in 1..100, got {p}")
    if not values:
        return None
    ordered = sorted(values)
    rank = -(-p * len(ordered) // 100)  # ceil(p * n / 100) without floating point
    return ordered[rank - 1]


@dataclass(frozen=True, slots=True)
class DurationStats:
    """p50 and p90 of ``count`` durations (both None when there are none)."""

    count: int
    p50: timedelta | None
    p90: timedelta | None

    @classmethod
    def of(cls, values: Sequence[timedelta]) -> DurationStats:
        return cls(count=len(values), p50=percentile(values, 50), p90=percentile(values, 90))


def is_out_of_hours(at: datetime, zone: tzinfo, rule: OutOfHours) -> bool:
    """Whether ``at`` falls outside working hours on the wall clock of ``zone``.

    ``rule.start``–``rule.end`` is the night (19:00–08:00 wraps past midnight; a span that does not
    wrap, such as 00:00–06:00, is taken as written); equal start and end mean no night at all.
    Weekends are Saturday and Sunday, all day, when ``rule.weekends`` is set.
    """
    local = at.astimezone(zone)
    if rule.weekends and local.weekday() >= 5:
        return True
    clock = local.time().replace(tzinfo=None)
    if rule.start == rule.end:
        return False
    if rule.start > rule.end:
        return clock >= rule.start or clock < rule.end
    return rule.start <= clock < rule.end


def most_fires_within(fires: Sequence[datetime], span: timedelta = FLAP_SPAN) -> int:
    """The largest number of ``fires`` inside any window of length ``span`` (a sliding window)."""
    ordered = sorted(fires)
    best, first = 0, 0
    for last, at in enumerate(ordered):
        while at - ordered[first] >= span:
            first += 1
        best = max(best, last - first + 1)
    return best
