"""Who the old system puts on call, computed from its layers the way the vendors render them.

A layer hands off every ``turn`` from ``virtual_start`` (turn k belongs to ``members[k % n]``),
only between its ``start`` and ``end``, and — if it has restrictions — only inside those local
windows. Whole-day turns keep their local handoff time across daylight-saving changes; shorter
turns are fixed lengths of elapsed time. A higher layer covers a lower one wherever it has
someone; overrides cover every layer, the later one winning. People are vendor ids here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.importers.model import ImportedLayer, ImportedOverride, ImportedSchedule, Restriction
from bot.oncall.layering import paint
from bot.oncall.rotation import wall_clock_instant
from bot.oncall.shifts import Origin, Role, Shift

_DAY = timedelta(days=1)
NOBODY = ""  # a member standing for an empty turn (Opsgenie's "none" participant)


def handoff(layer: ImportedLayer, zone: ZoneInfo, k: int) -> datetime:
    """The instant turn ``k`` of the layer begins."""
    if layer.wall_clock:
        local = layer.virtual_start.astimezone(zone).replace(tzinfo=None)
        return wall_clock_instant(local + k * layer.turn, zone)
    return (layer.virtual_start + k * layer.turn).astimezone(UTC)


def turn_at(layer: ImportedLayer, zone: ZoneInfo, at: datetime) -> int:
    """The turn in force at ``at`` (the last k whose handoff is at or before it)."""
    k = (at - layer.virtual_start) // layer.turn
    while handoff(layer, zone, k) > at:
        k -= 1
    while handoff(layer, zone, k + 1) <= at:
        k += 1
    return k


def layer_shifts(layer: ImportedLayer, zone: ZoneInfo, start: datetime, end: datetime) -> list[Shift]:
    """The layer's turns overlapping ``[start, end)``, clipped to the layer's span and restrictions."""
    if not layer.members:
        return []
    lo = max(start, layer.start)
    hi = end if layer.end is None else min(end, layer.end)
    out: list[Shift] = []
    k = turn_at(layer, zone, lo)
    while (begin := handoff(layer, zone, k)) < hi:
        a, b = max(begin, layer.start), handoff(layer, zone, k + 1)
        if layer.end is not None:
            b = min(b, layer.end)
        person = layer.members[k % len(layer.members)]
        for w_start, w_end in _windows(layer.restrictions, zone, a, b) if person != NOBODY else []:
            out.append(Shift(person, Role.PRIMARY, w_start, w_end, Origin.ROTATION))
        k += 1
    return out


def _windows(restrictions: Sequence[Restriction], zone: ZoneInfo, a: datetime,
             b: datetime) -> list[tuple[datetime, datetime]]:
    """``[a, b)`` cut to the restriction windows (all of it when there are none), merged."""
    if b <= a:
        return []
    if not restrictions:
        return [(a, b)]
    spans: list[tuple[datetime, datetime]] = []
    day = a.astimezone(zone).date() - timedelta(days=7)
    last = b.astimezone(zone).date()
    while day <= last:
        for r in restrictions:
            if r.weekday is None or r.weekday == day.weekday():
                begin = wall_clock_instant(datetime.combine(day, r.start), zone)
                lo, hi = max(a, begin), min(b, begin + r.length)
                if lo < hi:
                    spans.append((lo, hi))
        day += _DAY
    spans.sort()
    merged: list[tuple[datetime, datetime]] = []
    for lo, hi in spans:
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return merged


def final_shifts(schedule: ImportedSchedule, start: datetime, end: datetime,
                 overrides: Sequence[ImportedOverride] = ()) -> list[Shift]:
    """The rendered ("final") schedule over ``[start, end)``: layers painted bottom to top, then
    the overrides. Shifts are clipped to the window (the vendors render it so too)."""
    zone = ZoneInfo(schedule.timezone)
    painted: list[Shift] = []
    for layer in schedule.layers:
        painted = paint(painted, layer_shifts(layer, zone, start, end))
    mine = [Shift(o.person_id, Role.PRIMARY, o.start, o.end, Origin.OVERRIDE)
            for o in overrides if o.schedule_id == schedule.vendor_id and o.end > o.start]
    painted = paint(painted, mine)
    return [_clip(s, start, end) for s in painted if s.overlaps(start, end)]


def _clip(shift: Shift, start: datetime, end: datetime) -> Shift:
    return Shift(shift.person, shift.role, max(shift.start, start), min(shift.end, end), shift.source)


def merged(shifts: Sequence[Shift]) -> list[Shift]:
    """Back-to-back shifts of the same person as one (a restricted layer's days stay apart)."""
    out: list[Shift] = []
    for s in sorted(shifts, key=lambda s: s.start):
        if out and out[-1].person == s.person and out[-1].end == s.start and out[-1].source == s.source:
            out[-1] = Shift(s.person, s.role, out[-1].start, s.end, s.source)
        else:
            out.append(s)
    return out


def holder(shifts: Sequence[Shift], at: datetime) -> str | None:
    return next((s.person for s in shifts if s.start <= at < s.end), None)


def overlap(schedule: ImportedSchedule, start: datetime, end: datetime) -> timedelta:
    """How long, within ``[start, end)``, two or more layers have someone at once."""
    zone = ZoneInfo(schedule.timezone)
    edges: list[tuple[datetime, int]] = []
    for layer in schedule.layers:
        for s in layer_shifts(layer, zone, start, end):
            edges += [(max(s.start, start), 1), (min(s.end, end), -1)]
    total, depth, since = timedelta(0), 0, start
    for at, step in sorted(edges, key=lambda e: (e[0], e[1])):
        if depth >= 2:
            total += at - since
        depth, since = depth + step, at
    return total
