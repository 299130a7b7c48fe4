"""One Grafana OnCall on-call shift as a layer of the common model.

``rolling_users`` hands over every ``interval`` × ``frequency`` from ``start`` (local to the
shift's zone), each turn to the next group of ``rolling_users``; a ``duration`` shorter than the
turn, or ``by_day`` on a weekly shift, limits the hours it covers. ``recurrent_event`` is the
same with one group; ``single_event`` one turn. Groups of several people (everyone notified at
once) keep their first person, and the plan says so.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.importers.jsonread import ImportFailed, JsonObj, integer, opt_text, strings, text
from bot.importers.model import ImportedLayer, Restriction
from bot.oncall.rotation import wall_clock_instant

_UNIT = {"hourly": timedelta(hours=1), "daily": timedelta(days=1), "weekly": timedelta(weeks=1)}
_DAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


def local_instant(raw: str, zone: ZoneInfo, where: str) -> datetime:
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ImportFailed(f"{where}: {raw!r} is not an ISO 8601 time") from None
    return wall_clock_instant(value, zone) if value.tzinfo is None else value.astimezone(UTC)


def shift_layer(shift: JsonObj, zone: ZoneInfo, where: str) -> tuple[ImportedLayer | None, str | None]:
    """The layer, and what of the shift it could not carry (or None)."""
    kind = text(shift, "type", where)
    start = local_instant(text(shift, "start", where), zone, where)
    duration = timedelta(seconds=integer(shift, "duration", where))
    groups = _groups(shift, kind)
    problems = []
    if any(len(g) > 1 for g in groups):
        problems.append("several people on call at once in one turn; Watchstander keeps the first of each")
    members = [g[0] for g in groups if g]
    if kind == "single_event":
        return ImportedLayer(str(shift.get("name")), start, start + duration, start, duration, members[:1]), _join(problems)
    frequency = text(shift, "frequency", where, default="weekly")
    if frequency not in _UNIT:
        return None, f"repeats {frequency}; Watchstander cannot follow that"
    turn = _UNIT[frequency] * integer(shift, "interval", where, default=1)
    offset = integer(shift, "start_rotation_from_user_index", where, default=0)
    members = members[offset:] + members[:offset]
    until = opt_text(shift, "until", where)
    rotation_start = opt_text(shift, "rotation_start", where)
    first = local_instant(rotation_start, zone, where) if rotation_start else start
    days = strings(shift, "by_day")
    local_start = start.astimezone(zone)
    restrictions: list[Restriction] = []
    at = time(local_start.hour, local_start.minute)
    if days:
        if frequency != "weekly":
            problems.append(f"{frequency} turns only on {', '.join(days)}: turns counted on every day")
        restrictions = [Restriction(at, duration, weekday=_DAYS.index(d)) for d in days if d in _DAYS]
    elif duration < turn:
        restrictions = [Restriction(at, duration, weekday=None if frequency == "daily" else local_start.weekday())]
        if frequency == "hourly":
            restrictions, turn = [], duration
            problems.append("hourly turns shorter than their repeat: covered as back-to-back turns")
    return ImportedLayer(str(shift.get("name")), max(first, start), local_instant(until, zone, where) if until else None,
                         start, turn, members, restrictions, wall_clock=frequency != "hourly"), _join(problems)


def _groups(shift: JsonObj, kind: str) -> list[list[str]]:
    if kind == "rolling_users":
        raw = shift.get("rolling_users")
        return [[u for u in g if isinstance(u, str)] for g in raw if isinstance(g, list)] if isinstance(raw, list) else []
    return [strings(shift, "users")]


def _join(problems: list[str]) -> str | None:
    return "; ".join(problems) or None
