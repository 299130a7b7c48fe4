"""Spans as people type them after ``/oncall override @bob`` or ``/oncall take``.

Accepted (case-insensitive, in the caller's zone)::

    4h | 2h30m | 90 minutes | for 4h                  -> now .. now + duration
    until fri 18:00 | until tomorrow 09:00 | until 18:00 | until 2026-12-01 18:00
    fri 18:00 (a bare time means "until")
    from mon 09:00 until wed 09:00 | from 22:00 to 06:00 | from tomorrow 09:00 for 8h

Times: ``HH:MM``, ``9am``, ``6:30pm``, ``noon``, ``midnight``; prefixes ``today``,
``tomorrow``, a weekday (``fri``, ``friday``) or an ISO date. A weekday or bare time means the
next such moment *strictly after* the reference: "fri 18:00" typed on Friday at 17:00 is today,
at 18:00 or later it is next week. The reference is "now", except for the end of a
``from … until …`` span, which counts from the start ("from 22:00 until 06:00" is overnight).
``today``/``tomorrow``/dates always mean the calendar day as seen from now.

Wall-clock times that do not exist (a spring-forward gap) resolve with ``fold=0``, exactly like
rotation handoffs: "02:30" on that day is 03:30 local. Errors are typed so the Slack layer can say
precisely what was wrong, and their messages are written for the person who typed the command.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from bot.durations import DurationError, format_duration, parse_duration
from bot.oncall.shifts import as_utc

MAX_SPAN = timedelta(days=90)
# A "from" time a few seconds old is what the user meant by "now", not a mistake.
_PAST_GRACE = timedelta(minutes=1)
_EXAMPLES = "use e.g. 4h, until fri 18:00, until tomorrow 09:00 or from mon 09:00 until wed 09:00"

WEEKDAYS = {
    "mon": 0, "monday": 0, "tue": 1, "tues": 1, "tuesday": 1, "wed": 2, "wednesday": 2,
    "thu": 3, "thur": 3, "thurs": 3, "thursday": 3, "fri": 4, "friday": 4,
    "sat": 5, "saturday": 5, "sun": 6, "sunday": 6,
}
_UNTIL = r"(?:until|till|til|to)"
_TIME = re.compile(r"(?:(\d{1,2})(?::(\d{2}))?\s*(am|pm)|(\d{1,2}):(\d{2})|(noon|midnight))")
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


class SpanError(ValueError):
    """Something in the typed span is wrong; ``str(err)`` is the message to show the user."""


class SpanSyntaxError(SpanError):
    """The text is not a duration, a time or a span we understand."""


class SpanInPastError(SpanError):
    """The span (or its start) lies before now."""


class SpanOrderError(SpanError):
    """The span ends before, or when, it starts."""


class SpanTooLongError(SpanError):
    """Longer than ``max_span``: almost always a typo, and an override that long is a rotation."""


def parse_span(
    text: str,
    *,
    now: datetime,
    zone: str | tzinfo,
    max_span: timedelta = MAX_SPAN,
) -> tuple[datetime, datetime]:
    """``(start, end)`` in UTC for what the user typed; raises a :class:`SpanError` subclass."""
    now = as_utc(now, "now")
    tz = ZoneInfo(zone) if isinstance(zone, str) else zone
    raw = " ".join(text.strip().lower().split())
    if not raw:
        raise SpanSyntaxError(f"say for how long or until when; {_EXAMPLES}")
    start, end = _read(raw, now, tz)
    if start < now - _PAST_GRACE:
        raise SpanInPastError(f"the start, {_show(start, tz)}, is in the past")
    start = max(start, now)
    if end <= now:
        raise SpanInPastError(f"{_show(end, tz)} is in the past")
    if end <= start:
        raise SpanOrderError(f"the end, {_show(end, tz)}, is not after the start, {_show(start, tz)}")
    if end - start > max_span:
        raise SpanTooLongError(
            f"{format_duration(end - start)} is longer than the {format_duration(max_span)} an override may last"
        )
    return start, end


def parse_when(text: str, *, after: datetime, now: datetime, zone: str | tzinfo) -> datetime:
    """One moment (``fri 18:00``, ``tomorrow 09:00``, ``2026-12-01 18:00``) as UTC; see module doc."""
    tz = ZoneInfo(zone) if isinstance(zone, str) else zone
    return _when(" ".join(text.strip().lower().split()), as_utc(after, "after"), as_utc(now, "now"), tz)


def _read(raw: str, now: datetime, tz: tzinfo) -> tuple[datetime, datetime]:
    if m := re.fullmatch(rf"from (.+?) {_UNTIL} (.+)", raw):
        start = _when(m.group(1), now, now, tz)
        return start, _when(m.group(2), start, now, tz)
    if m := re.fullmatch(r"from (.+?) for (.+)", raw):
        start = _when(m.group(1), now, now, tz)
        return start, start + _duration(m.group(2))
    if raw.startswith("from "):
        raise SpanSyntaxError(f"{raw!r} says when it starts but not when it ends; add e.g. 'until wed 09:00'")
    if m := re.fullmatch(rf"{_UNTIL} (.+)", raw):
        return now, _when(m.group(1), now, now, tz)
    if m := re.fullmatch(r"for (.+)", raw):
        return now, now + _duration(m.group(1))
    if _looks_like_when(raw):
        return now, _when(raw, now, now, tz)
    if raw[0].isdigit():
        return now, now + _duration(raw)
    raise SpanSyntaxError(f"cannot read {raw!r}; {_EXAMPLES}")


def _looks_like_when(raw: str) -> bool:
    first = raw.partition(" ")[0]
    return bool(_DATE.match(raw) or _TIME.fullmatch(raw) or first in WEEKDAYS
                or first in ("today", "tomorrow", "now"))


def _duration(text: str) -> timedelta:
    try:
        delta = parse_duration(text)
    except DurationError:
        raise SpanSyntaxError(f"cannot read {text!r} as a duration; use e.g. 30m, 4h, 2h30m or 1d") from None
    if delta <= timedelta(0):
        raise SpanOrderError(f"{text!r} is no time at all; use e.g. 30m or 4h")
    return delta


def _when(text: str, after: datetime, now: datetime, tz: tzinfo) -> datetime:
    """Resolve one moment; ``after`` anchors weekdays and bare times, ``now`` anchors days."""
    if text == "now":
        return now
    today = now.astimezone(tz).date()
    if m := re.fullmatch(rf"{_DATE.pattern}(?:[ t](.+))?", text):
        day = _date(text[:10], int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if m.group(4) is None:
            raise SpanSyntaxError(f"{text!r} has no time of day; add one, e.g. '{text} 18:00'")
        return _at(day, _clock(m.group(4)), tz)
    word, _, rest = text.partition(" ")
    if word in ("today", "tomorrow") or word in WEEKDAYS:
        if not rest:
            raise SpanSyntaxError(f"{text!r} has no time of day; add one, e.g. '{text} 09:00'")
        clock = _clock(rest)
        if word == "today":
            return _at(today, clock, tz)
        if word == "tomorrow":
            return _at(today + timedelta(days=1), clock, tz)
        return _next(after, tz, clock, WEEKDAYS[word])
    return _next(after, tz, _clock(text), None)


def _next(after: datetime, tz: tzinfo, clock: time, weekday: int | None) -> datetime:
    """The first ``clock`` (on ``weekday``, if given) strictly after ``after``."""
    day = after.astimezone(tz).date()
    for offset in range(9):
        candidate = day + timedelta(days=offset)
        if weekday is not None and candidate.weekday() != weekday:
            continue
        moment = _at(candidate, clock, tz)
        if moment > after:
            return moment
    raise AssertionError("unreachable: a weekday recurs within 8 days")  # pragma: no cover


def _clock(text: str) -> time:
    m = _TIME.fullmatch(text.strip())
    if not m:
        raise SpanSyntaxError(f"cannot read {text!r} as a time of day; use e.g. 18:00 or 6pm")
    hour_ampm, minute_ampm, ampm, hour24, minute24, word = m.groups()
    if word:
        return time(12) if word == "noon" else time(0)
    if ampm:
        hour, minute = int(hour_ampm), int(minute_ampm or 0)
        if not 1 <= hour <= 12 or minute > 59:
            raise SpanSyntaxError(f"{text!r} is not a time of day")
        return time(hour % 12 + (12 if ampm == "pm" else 0), minute)
    hour, minute = int(hour24), int(minute24)
    if hour > 23 or minute > 59:
        raise SpanSyntaxError(f"{text!r} is not a time of day; use 00:00 to 23:59")
    return time(hour, minute)


def _date(text: str, year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise SpanSyntaxError(f"{text!r} is not a date") from None


def _at(day: date, clock: time, tz: tzinfo) -> datetime:
    return datetime.combine(day, clock).replace(tzinfo=tz, fold=0).astimezone(UTC)


def _show(moment: datetime, tz: tzinfo) -> str:
    return moment.astimezone(tz).strftime("%a %Y-%m-%d %H:%M %Z")


# --- days ("/oncall swap @bob mon 7 dec") ------------------------------------------------------

_MONTH_NAMES = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
                "november", "december")
MONTHS = {**{m[:3]: i + 1 for i, m in enumerate(_MONTH_NAMES)}, **{m: i + 1 for i, m in enumerate(_MONTH_NAMES)},
          "sept": 9}
_DAY_EXAMPLES = "use e.g. mon 7 dec, 7 dec, dec 7, 2026-12-07, tomorrow or fri"
# "7 dec" typed up to half a year after 7 Dec means that (past) day, later than that the next one.
_DAY_BACK = timedelta(days=183)


def parse_day(text: str, *, now: datetime, zone: str | tzinfo) -> date:
    """A calendar day as typed (``mon 7 dec``, ``7 december``, ``dec 7``, ``2026-12-07``, ``today``,
    ``tomorrow``, ``fri`` — the next Friday, today counting), in ``zone``; raises :class:`SpanError`.

    A day and month without a year is the nearest such date: this year's, unless that is more
    than half a year ago (then next year's). A day before today raises :class:`SpanInPastError`; a
    weekday that does not match the date raises :class:`SpanSyntaxError` naming the right one."""
    tz = ZoneInfo(zone) if isinstance(zone, str) else zone
    today = as_utc(now, "now").astimezone(tz).date()
    words = text.strip().lower().replace(",", " ").split()
    weekday = WEEKDAYS.get(words[0]) if words else None
    rest = words[1:] if weekday is not None else words
    if rest:
        day = _day_of(rest, today, text)
    elif weekday is not None:
        day = today + timedelta(days=(weekday - today.weekday()) % 7)
    else:
        raise SpanSyntaxError(f"say which day; {_DAY_EXAMPLES}")
    if weekday is not None and day.weekday() != weekday:
        raise SpanSyntaxError(f"{day:%-d %b %Y} is a {day:%A}, not a {date(2024, 1, 1 + weekday):%A}")
    if day < today:
        raise SpanInPastError(f"{day:%a %-d %b %Y} is in the past")
    return day


def _day_of(words: list[str], today: date, text: str) -> date:
    joined = " ".join(words)
    if joined in ("today", "tomorrow"):
        return today + timedelta(days=joined == "tomorrow")
    if m := re.fullmatch(_DATE.pattern, joined):
        return _date(joined, int(m.group(1)), int(m.group(2)), int(m.group(3)))
    if len(words) == 2:
        number, month = words if words[0].isdigit() else reversed(words)
        if number.isdigit() and month in MONTHS:
            day = _date(joined, today.year, MONTHS[month], int(number))
            return day if day >= today - _DAY_BACK else _date(joined, today.year + 1, MONTHS[month], int(number))
    raise SpanSyntaxError(f"cannot read {text.strip()!r} as a day; {_DAY_EXAMPLES}")
