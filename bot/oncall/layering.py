"""Layering shifts: later layers cut earlier ones, so a role never has two holders at once.

Both overrides on a rotation and overlapping events in an imported calendar come down to the
same operation, "paint this span over whatever is there", applied in order of precedence.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TypeVar

from bot.oncall.shifts import Shift

T = TypeVar("T")


def paint(base: Sequence[Shift], layers: Iterable[Shift]) -> list[Shift]:
    """Lay ``layers`` in order over ``base``; each replaces whatever it covers.

    ``base`` must already be non-overlapping (a rotation is); the result is non-overlapping and
    sorted by start. A covered shift keeps its pieces on either side with their own start/end,
    which is what lets a week of Alice show "until Wed 10:00" when Bob takes Wed 10:00-14:00.
    """
    out = sorted(base, key=lambda s: s.start)
    for layer in layers:
        starts = [s.start for s in out]
        # Only shifts starting before layer.end can overlap it; earlier ones may reach into it.
        hi = bisect_left(starts, layer.end)
        lo = hi
        while lo > 0 and out[lo - 1].end > layer.start:
            lo -= 1
        pieces: list[Shift] = []
        for seg in out[lo:hi]:
            if seg.start < layer.start:
                pieces.append(replace(seg, end=layer.start))
        pieces.append(layer)
        for seg in out[lo:hi]:
            if seg.end > layer.end:
                pieces.append(replace(seg, start=layer.end))
        out[lo:hi] = sorted(pieces, key=lambda s: s.start)
    return out


def gather(
    start: datetime,
    end: datetime,
    fetch: Callable[[datetime, datetime], Sequence[T]],
    bounds: Callable[[T], tuple[datetime, datetime]],
    *,
    max_rounds: int = 32,
) -> list[T]:
    """Fetch everything that can shape the timeline over ``[start, end)``.

    A shift that overlaps the window may be cut by something lying entirely outside it (an
    override created later that starts after the window ends, but overlaps the shift's tail).
    Widening the window to cover whatever it caught, until nothing new is caught, makes the
    shifts' reported start/end exact rather than clipped to the window. ``max_rounds`` bounds
    pathological calendars (endless chains of overlapping recurring events).
    """
    lo, hi = start, end
    items = list(fetch(lo, hi))
    for _ in range(max_rounds):
        spans = [bounds(i) for i in items]
        new_lo = min([lo, *(s for s, _ in spans)])
        new_hi = max([hi, *(e for _, e in spans)])
        if (new_lo, new_hi) == (lo, hi):
            break
        lo, hi = new_lo, new_hi
        items = list(fetch(lo, hi))
    return items
