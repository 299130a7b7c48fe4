"""Durations as people type them (``30s``, ``5m``, ``1h30m``, ``2d``) and as they read them."""

from __future__ import annotations

import re
from datetime import timedelta

_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(w|d|h|m|s)", re.IGNORECASE)
_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_LONG = {
    "weeks": "w", "week": "w", "wk": "w", "days": "d", "day": "d", "hours": "h", "hour": "h",
    "hrs": "h", "hr": "h", "minutes": "m", "minute": "m", "mins": "m", "min": "m",
    "seconds": "s", "second": "s", "secs": "s", "sec": "s",
}


class DurationError(ValueError):
    pass


def parse_duration(text: str) -> timedelta:
    """Parse ``30s``, ``5m``, ``2h``, ``1d``, ``1h30m``, ``90 minutes``; raise DurationError otherwise."""
    raw = str(text).strip().lower()
    if not raw:
        raise DurationError("empty duration; use e.g. 30s, 5m, 2h or 1d")
    for long, short in sorted(_LONG.items(), key=lambda kv: -len(kv[0])):
        raw = re.sub(rf"(?<=\d)\s*{long}\b", short, raw)
    pos = 0
    total = 0.0
    compact = raw.replace(" ", "")
    for m in _PART.finditer(compact):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNITS[m.group(2).lower()]
        pos = m.end()
    if pos != len(compact) or pos == 0:
        raise DurationError(f"cannot read {text!r} as a duration; use e.g. 30s, 5m, 2h or 1d")
    return timedelta(seconds=total)


def format_duration(delta: timedelta) -> str:
    """``1m 12s``, ``2h 05m``, ``3d 4h``: the two largest units, as on-call people read them."""
    secs = int(max(delta.total_seconds(), 0))
    days, rem = divmod(secs, 86400)
    hours, rem = divmod(rem, 3600)
    minutes, seconds = divmod(rem, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {seconds:02d}s"
    return f"{seconds}s"


def format_config_duration(delta: timedelta) -> str:
    """The shortest config-style spelling: ``5m``, ``1h30m``, ``2d``; under a minute with its
    fraction, as it was written (``0.2s``, ``2.5s``)."""
    if delta < timedelta(minutes=1):
        return f"{round(delta.total_seconds(), 3):g}s"
    secs = int(delta.total_seconds())
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        n, secs = divmod(secs, size)
        if n:
            out.append(f"{n}{unit}")
    return "".join(out)
