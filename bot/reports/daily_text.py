"""The daily digest's wording that Slack and email share: the headline, dates, times, ages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, tzinfo

from bot.durations import format_duration
from bot.oncall.report_text import when
from bot.oncall.shifts import Origin, Shift
from bot.reports.daily import AlertCount, DailyDigest
from bot.severity import Severity

TITLE = "Daily digest"


def day_label(day: date) -> str:
    """``Thu 3 Dec``."""
    return f"{day:%a} {day.day} {day:%b}"


def _n(count: int, word: str, plural: str | None = None) -> str:
    return f"{count} {word if count == 1 else plural or word + 's'}"


def headline(d: DailyDigest) -> str:
    """``2 open, 14 yesterday, 1 check down, 1 certificate expiring`` (checks only when there are some)."""
    parts = [f"{d.open_now.total} open", f"{d.yesterday.total} yesterday"]
    if d.checks_down:
        parts.append(f"{_n(len(d.checks_down), 'check')} down")
    if d.certs_expiring:
        parts.append(f"{_n(len(d.certs_expiring), 'certificate')} expiring")
    return ", ".join(parts)


def subject(d: DailyDigest) -> str:
    """``Watchstander daily digest — Thu 3 Dec: 2 open, 14 yesterday, 1 check down``."""
    return f"Watchstander daily digest — {day_label(d.sent_on)}: {headline(d)}"


def period(d: DailyDigest) -> str:
    """``Wed 2 Dec 00:00 CET → Thu 3 Dec 00:00 CET``."""
    return f"{when(d.day_start, d.zone, now=d.now)} → {when(d.day_end, d.zone, now=d.now)}"


def as_of(d: DailyDigest) -> str:
    return when(d.now, d.zone, now=d.now)


def late_note(d: DailyDigest) -> str | None:
    if d.late_for is None:
        return None
    return f"sent late: Watchstander was not running at {when(d.late_for, d.zone, now=d.now)}"


def clock(at: datetime, zone: tzinfo, now: datetime) -> str:
    """``12:00`` on the digest's own local day, ``Mon 7 Dec 09:00 CET`` on another."""
    if at.astimezone(zone).date() == now.astimezone(zone).date():
        return f"{at.astimezone(zone):%H:%M}"
    return when(at, zone, now=now)


def age(at: datetime, now: datetime) -> str:
    return format_duration(now - at)


def by_severity(counts: AlertCount) -> list[tuple[str, int]]:
    """(severity, count) for the severities that have any, most severe first."""
    return [(s.value, counts.by_severity[s.value]) for s in Severity if counts.by_severity.get(s.value)]


def shifts_text(found: Sequence[Shift], names: Mapping[str, str], zone: tzinfo, now: datetime) -> str:
    """``Bob until 12:00, then Alice (override) until 13:00, then Bob until Mon 7 Dec 09:00 CET``."""
    if not found:
        return "nobody"
    parts = []
    for i, shift in enumerate(found):
        who = names.get(shift.person, shift.person) + (" (override)" if shift.source is Origin.OVERRIDE else "")
        starts = f" from {clock(shift.start, zone, now)}" if i == 0 and shift.start > now else ""
        parts.append(f"{who}{starts} until {clock(shift.end, zone, now)}")
    return ", then ".join(parts)


def expiry_text(expires_at: datetime | None, zone: tzinfo, now: datetime) -> str:
    """``expires Sun 20 Dec 2026 (in 17 days)``, ``expired on …``, or that it was not read."""
    if expires_at is None:
        return "expiry warning raised; the certificate has not been read since"
    local = expires_at.astimezone(zone)
    on = f"{local:%a} {local.day} {local:%b %Y}"
    left = expires_at - now
    if left.total_seconds() <= 0:
        return f"expired on {on}"
    return f"expires {on} (in {_n(left.days, 'day')})" if left.days else f"expires {on} (within a day)"
