"""The weekly summary's wording that Slack and email share: changes against the week before,
counts, spans, how far an escalation went, the subject line, and the layout of a plain table."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta, tzinfo

from bot.durations import format_duration
from bot.oncall.report_text import when
from bot.oncall.shifts import Shift
from bot.reports.queries import EscalationReach
from bot.reports.stats import DurationStats
from bot.reports.summary import CheckUptime, WeeklySummary

MAX_SHIFTS = 7  # per role and team: a daily rotation's week
FOOTNOTES = ("p50/p90 by nearest rank over the alerts raised in the period",
             "out of hours is judged in each paged person's own time zone")


def change(now: int, before: int) -> str:
    """``↑ 4 from 8 (+50%)``, ``↓ 2 from 3 (−67%)``, ``no change``, ``new (0 before)``."""
    if now == before:
        return "no change"
    arrow = "↑" if now > before else "↓"
    text = f"{arrow} {abs(now - before)} from {before}"
    if before:
        pct = round(abs(now - before) * 100 / before)
        text += f" ({'+' if now > before else '−'}{pct}%)"
    return text


def plural(n: int, word: str) -> str:
    return word if n == 1 else f"{word}s"


def count(n: int, word: str) -> str:
    """``1 alert``, ``3 alerts``."""
    return f"{n} {plural(n, word)}"


def hours(span: timedelta) -> str:
    return f"{int(span.total_seconds() // 3600)} h"


def minutes(span: timedelta) -> str:
    """Whole minutes, but a downtime under one is not "0 min"."""
    m = span / timedelta(minutes=1)
    return "under 1 min" if m < 1 else f"{round(m)} min"


def percentiles(stats: DurationStats) -> tuple[str, str] | None:
    """p50 and p90 as durations (``4m 00s``), or None when no alert was measured."""
    if stats.p50 is None or stats.p90 is None:
        return None
    return format_duration(stats.p50), format_duration(stats.p90)


def downtime(check: CheckUptime) -> str:
    return "no downtime" if not check.downtime else f"{minutes(check.downtime)} down"


def more_text(total: int, shown: int) -> str | None:
    """``… and 4 more`` when a list shows fewer than it has."""
    return f"… and {total - shown} more" if total > shown else None


def more(total: int, shown: int) -> list[str]:
    text = more_text(total, shown)
    return [text] if text else []


def reach(e: EscalationReach) -> str:
    """How far an escalation went: ``step 3, SMS``, ``step 2, SMS, call``."""
    return ", ".join(part for part in (f"step {e.furthest_step}" if e.furthest_step else "",
                                       "SMS" if e.by_sms else "", "call" if e.by_call else "") if part)


def shifts_text(found: Sequence[Shift], names: Mapping[str, str], zone: tzinfo, now: datetime, *,
                escape: Callable[[str], str] = str) -> str:
    """``Alice until Mon 30 Nov 09:00 CET, then Bob until …`` for the coming week, the first
    :data:`MAX_SHIFTS` of them; ``escape`` is the medium's for a person's name."""
    parts = [f"{escape(names.get(shift.person, shift.person))} until {when(shift.end, zone, now=now)}"
             for shift in found[:MAX_SHIFTS]]
    extra = len(found) - MAX_SHIFTS
    return ", then ".join(parts) + (f" (+{extra} more)" if extra > 0 else "")


def aligned(header: tuple[str, ...], rows: Sequence[tuple[str, ...]], *, left: frozenset[int]) -> list[str]:
    """A table for a monospace font: the columns in ``left`` left-aligned, the others (numbers) right-aligned."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(c.ljust(w) if i in left else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    return [line(header), *(line(r) for r in rows)]


def period(s: WeeklySummary, now: datetime) -> str:
    """``Mon 16 Nov 09:00 CET → Mon 23 Nov 09:00 CET``."""
    return f"{when(s.window.start, s.zone, now=now)} → {when(s.window.end, s.zone, now=now)}"


def late_note(late_for: datetime | None, s: WeeklySummary, now: datetime) -> str | None:
    """``Watchstander was not running at Mon 23 Nov 09:00 CET``: why a late summary is late."""
    if late_for is None:
        return None
    return f"Watchstander was not running at {when(late_for, s.zone, now=now)}"


def week_label(s: WeeklySummary) -> str:
    """The days the summary covers, as people name a week: ``16–22 Nov``, ``30 Nov – 6 Dec``,
    ``28 Dec 2026 – 3 Jan 2027`` (a window ending Monday 09:00 covers the seven days before that Monday)."""
    first = s.window.start.astimezone(s.zone).date()
    last = max(s.window.end.astimezone(s.zone).date() - timedelta(days=1), first)
    if first.year != last.year:
        return f"{_day(first)} {first.year} – {_day(last)} {last.year}"
    if first.month != last.month:
        return f"{_day(first)} – {_day(last)}"
    return f"{first.day}–{_day(last)}" if first != last else _day(first)


def _day(d: date) -> str:
    return f"{d.day} {d:%b}"


def subject(s: WeeklySummary) -> str:
    """``Watchstander weekly summary — 16–22 Nov: 10 alerts (+3)``."""
    diff = s.total - s.previous_total
    against = "no change" if not diff else f"+{diff}" if diff > 0 else f"−{-diff}"
    return f"Watchstander weekly summary — {week_label(s)}: {count(s.total, 'alert')} ({against})"
