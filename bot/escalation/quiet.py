"""Quiet hours: when a person's window (``people[].quiet``, on their own wall clock) holds a page."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.config import QuietHours


def _inside(quiet: QuietHours, t: time) -> bool:
    if quiet.start < quiet.end:  # 01:00–06:00
        return quiet.start <= t < quiet.end
    return t >= quiet.start or t < quiet.end  # 22:00–07:00 spans midnight


def quiet_until(quiet: QuietHours, zone: ZoneInfo, at: datetime) -> datetime | None:
    """When the quiet window around ``at`` ends (the first instant at ``quiet.end`` on the person's
    wall clock after ``at``), or None when ``at`` is outside it. A window end that does not exist on a
    daylight-saving day (02:30 when the clocks jump from 02:00 to 03:00) is read forward, as zoneinfo does."""
    local = at.astimezone(zone)
    if not _inside(quiet, local.time()):
        return None
    day = local.date()
    for _ in range(2):
        end = datetime.combine(day, quiet.end, zone)
        if end > local:
            return end
        day += timedelta(days=1)
    return datetime.combine(day, quiet.end, zone)
