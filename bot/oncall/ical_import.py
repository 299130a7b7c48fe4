"""Schedules read from an iCal file exported by PagerDuty, Opsgenie or Grafana OnCall.

Each VEVENT occurrence (RRULEs and RECURRENCE-ID exceptions expanded by
``recurring-ical-events``) becomes a shift for the person it names. Matching, first hit wins:

1. a known Slack user id in an ATTENDEE address (``mailto:U0ALICE01@…``) or in SUMMARY;
2. a configured ``name`` as whole words in SUMMARY, case-insensitive ("On-Call: Alice",
   "On Call - Alice Smith - Platform", Grafana's bare "alice");
3. a name in an ATTENDEE's CN or in its e-mail local part (``alice.smith@…``);
4. a Slack id or name in DESCRIPTION.

Within one step a name found inside a longer matching name yields to it (people "Alice" and
"Alice Smith", SUMMARY "Alice Smith": the latter); two people named side by side ("alice, bob")
is ambiguous, because one shift has one holder. Events that match nobody or are ambiguous are not dropped
silently: :meth:`IcalSource.warnings` lists them so ``check-config`` and the UI can say so.

Role: an event whose SUMMARY or CATEGORIES says "backup" or "secondary" is a backup shift,
anything else a primary one. Where events of one role overlap, the more specific one wins: a
higher Grafana level marker (``[L1] bob`` beats ``[L0]`` / none), then the later start (an
exception inside a weekly shift), then the shorter event. Floating times and all-day dates are
read in the schedule's zone; ``X-WR-TIMEZONE`` calendars are normalised by the library.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events

from bot.oncall.layering import gather, paint
from bot.oncall.shifts import Origin, Role, Shift, as_utc

# Floating times compare against the query bounds in an unknown zone; query a day wider.
_SLACK = timedelta(days=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_LEVEL = re.compile(r"^\s*\[L(\d)\]\s*", re.IGNORECASE)
_BACKUP = re.compile(r"\b(backup|secondary)\b", re.IGNORECASE)


class IcalError(ValueError):
    """The calendar cannot be read at all (missing file, not iCal, broken RRULE)."""


@dataclass(frozen=True, slots=True)
class IcalWarning:
    """An event the import could not turn into a shift, with enough to find it in the calendar."""

    uid: str
    summary: str
    start: datetime | None
    message: str

    def __str__(self) -> str:
        when = f" at {self.start.isoformat()}" if self.start else ""
        return f"event {self.summary!r}{when}: {self.message}"


@dataclass(frozen=True, slots=True)
class _Occurrence:
    uid: str
    summary: str
    start: datetime
    end: datetime
    role: Role
    level: int
    person: str | None
    problem: str | None


class PersonMatcher:
    """Maps event text to a configured person; see the module docstring for the order."""

    def __init__(self, people: Sequence[tuple[str, str]]) -> None:
        self._ids = [(sid, re.compile(rf"(?<![A-Za-z0-9]){re.escape(sid)}(?![A-Za-z0-9])", re.IGNORECASE))
                     for sid, _ in people]
        self._names = [
            (sid, re.compile(r"(?<!\w)" + r"\s+".join(map(re.escape, name.split())) + r"(?!\w)", re.IGNORECASE))
            for sid, name in people if name.strip()
        ]
        self._display = {sid: name for sid, name in people}

    def match(self, event: icalendar.Event) -> tuple[str | None, str | None]:
        """``(slack_id, None)`` on a match, else ``(None, why not)``."""
        summary = _LEVEL.sub("", str(event.get("SUMMARY", "")))
        attendees = _attendees(event)
        addresses = " ".join(str(a) for a in attendees)
        common_names = " ".join(str(a.params.get("CN", "")) for a in attendees)
        local_parts = " ".join(re.sub(r"[._+-]", " ", str(a).split(":", 1)[-1].split("@")[0]) for a in attendees)
        description = str(event.get("DESCRIPTION", ""))
        steps = (
            self._by_id(f"{addresses} {summary}"),
            self._by_name(summary),
            self._by_name(f"{common_names} | {local_parts}"),
            self._by_id(description) or self._by_name(description),
        )
        for found in steps:
            if len(found) == 1:
                return found[0], None
            if len(found) > 1:
                names = " and ".join(self._display[sid] for sid in found)
                return None, f"names more than one person ({names}); name exactly one"
        return None, "names nobody listed under people; put their Slack id or configured name in SUMMARY"

    def _by_id(self, text: str) -> list[str]:
        return [sid for sid, rx in self._ids if rx.search(text)]

    def _by_name(self, text: str) -> list[str]:
        hits = [(m.start(), m.end(), sid) for sid, rx in self._names for m in rx.finditer(text)]
        # "Alice" inside a matched "Alice Smith" is part of that name, not a second person.
        outer = [h for h in hits
                 if not any(o[0] <= h[0] and h[1] <= o[1] and (o[1] - o[0]) > (h[1] - h[0]) for o in hits)]
        return sorted({sid for _, _, sid in outer})


class IcalSource:
    """Shifts from an iCal calendar; a :class:`~bot.oncall.schedule.ShiftSource`.

    Pure apart from :meth:`from_path`: the caller re-reads the file when it wants fresh data.
    """

    def __init__(self, calendar: icalendar.Calendar, *, people: Sequence[tuple[str, str]],
                 zone: str, name: str = "<ical>") -> None:
        self.name = name
        self.zone: tzinfo = ZoneInfo(zone)
        self._matcher = PersonMatcher(people)
        # One broken series must not take the whole team's schedule down: skip it, and say so.
        self._broken = _broken_series(calendar)
        try:
            self._query = recurring_ical_events.of(calendar, skip_bad_series=True)
        except (recurring_ical_events.InvalidCalendar, ValueError) as exc:
            raise IcalError(f"{name}: {exc}") from exc

    @classmethod
    def from_bytes(cls, data: bytes, *, people: Sequence[tuple[str, str]], zone: str,
                   name: str = "<ical>") -> IcalSource:
        try:
            calendar = icalendar.Calendar.from_ical(data)
        except ValueError as exc:
            raise IcalError(f"{name}: not a readable iCal calendar ({exc})") from exc
        if not isinstance(calendar, icalendar.Calendar):
            raise IcalError(f"{name}: expected one VCALENDAR")
        return cls(calendar, people=people, zone=zone, name=name)

    @classmethod
    def from_path(cls, path: str | Path, *, people: Sequence[tuple[str, str]], zone: str) -> IcalSource:
        p = Path(path)
        try:
            data = p.read_bytes()
        except OSError as exc:
            raise IcalError(f"{p}: cannot read the calendar file ({exc.strerror or exc})") from exc
        return cls.from_bytes(data, people=people, zone=zone, name=str(p))

    # -- the ShiftSource protocol --

    def base_shifts(self, start: datetime, end: datetime) -> list[Shift]:
        """Matched shifts overlapping ``[start, end)``, overlaps resolved per role, unclipped."""
        start, end = as_utc(start, "start"), as_utc(end, "end")
        items = gather(start, end, self._matched, lambda o: (o.start, o.end), max_rounds=8)
        out: list[Shift] = []
        for role in Role:
            layers = sorted((o for o in items if o.role is role),
                            key=lambda o: (o.level, o.start, o.start - o.end, o.uid))
            shifts = [Shift(o.person, role, o.start, o.end, Origin.ICAL) for o in layers if o.person is not None]
            out += [s for s in paint([], shifts) if s.overlaps(start, end)]
        return sorted(out, key=lambda s: (s.start, s.role is Role.BACKUP))

    def warnings(self, start: datetime, end: datetime) -> list[IcalWarning]:
        """Events in ``[start, end)`` not turned into shifts (one per event and reason), after any
        series that could not be expanded at all (those have no occurrences to place in time)."""
        seen: set[tuple[str, str]] = set()
        out = list(self._broken)
        for occ in self._occurrences(as_utc(start, "start"), as_utc(end, "end")):
            if occ.problem is not None and (occ.uid, occ.problem) not in seen:
                seen.add((occ.uid, occ.problem))
                out.append(IcalWarning(occ.uid, occ.summary, occ.start, occ.problem))
        return out

    # -- reading events --

    def _matched(self, start: datetime, end: datetime) -> list[_Occurrence]:
        return [o for o in self._occurrences(start, end) if o.person is not None]

    def _occurrences(self, start: datetime, end: datetime) -> list[_Occurrence]:
        try:
            events = self._query.between(start - _SLACK, end + _SLACK)
        except (recurring_ical_events.InvalidCalendar, ValueError) as exc:
            raise IcalError(f"{self.name}: {exc}") from exc
        out = []
        for event in events:
            occ = self._occurrence(event)
            # Zero-length (broken) events still count as "in the window" so they get reported.
            if occ is not None and occ.start < end and (occ.end > start or occ.start >= start):
                out.append(occ)
        return out

    def _occurrence(self, event: icalendar.Event) -> _Occurrence | None:
        if str(event.get("STATUS", "")).upper() == "CANCELLED":
            return None
        uid = str(event.get("UID", ""))
        raw_summary = str(event.get("SUMMARY", ""))
        level_match = _LEVEL.match(raw_summary)
        start = self._instant(event.get("DTSTART"))
        end = self._instant(event.get("DTEND"))
        if start is None:
            return None
        person, problem = self._matcher.match(event)
        if end is None or end <= start:
            person, problem, end = None, "has no end time (or ends before it starts)", start
        categories = " ".join(_text_list(event.get("CATEGORIES")))
        return _Occurrence(
            uid=uid,
            summary=raw_summary,
            start=start,
            end=end,
            role=Role.BACKUP if _BACKUP.search(f"{raw_summary} {categories}") else Role.PRIMARY,
            level=int(level_match.group(1)) if level_match else 0,
            person=person,
            problem=problem,
        )

    def _instant(self, prop: object) -> datetime | None:
        """DTSTART/DTEND as UTC; floating times and all-day dates are local to the schedule."""
        value = getattr(prop, "dt", None)  # icalendar's vDDDTypes; None when the event has no such line
        if isinstance(value, datetime):
            if value.tzinfo is None:
                value = value.replace(tzinfo=self.zone)
            return value.astimezone(UTC)
        if isinstance(value, date):
            return datetime.combine(value, time(0), tzinfo=self.zone).astimezone(UTC)
        return None


def _broken_series(calendar: icalendar.Calendar) -> list[IcalWarning]:
    """Series (events sharing a UID) that recurring-ical-events refuses to expand.

    Each is expanded alone over a dummy window; rule and period errors surface at that point.
    """
    series: dict[str, list[icalendar.Component]] = {}
    for event in calendar.walk("VEVENT"):
        series.setdefault(str(event.get("UID", "")), []).append(event)
    timezones = calendar.walk("VTIMEZONE")
    out = []
    for uid, components in series.items():
        alone = icalendar.Calendar()
        if "X-WR-TIMEZONE" in calendar:
            alone.add("X-WR-TIMEZONE", calendar["X-WR-TIMEZONE"])
        for component in [*timezones, *components]:
            alone.add_component(component)
        try:
            recurring_ical_events.of(alone).between(_EPOCH, _EPOCH + _SLACK)
        except (recurring_ical_events.InvalidCalendar, ValueError) as exc:
            summary = str(components[0].get("SUMMARY", ""))
            out.append(IcalWarning(uid, summary, None, f"cannot be read and is skipped: {exc}"))
    return out


def _attendees(event: icalendar.Event) -> list[icalendar.vCalAddress]:
    value = event.get("ATTENDEE")
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _text_list(value: object) -> list[str]:
    """CATEGORIES may come as one vCategory, a list of them, or plain text."""
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    out: list[str] = []
    for item in items:
        cats = getattr(item, "cats", None)
        if cats is None:
            out.append(str(item))
        else:
            out.extend(str(c) for c in cats)
    return out
