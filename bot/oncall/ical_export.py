"""``GET /oncall/<team>.ics``: a subscribable calendar of a team's shifts.

Calendar apps poll a subscription and match events by UID, so the UID of a shift is derived from
what identifies it to a person (team, role, start, who) and not from anything that moves when an
override later shortens it: the event then updates in place instead of duplicating. All times
are written in UTC so no VTIMEZONE is needed and every client agrees on the instant.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

import icalendar

from bot.oncall.shifts import Origin, Role, Shift, as_utc

PRODID = "-//Watchstander//On-call schedule//EN"
REFRESH = timedelta(hours=1)


def shift_uid(team_name: str, shift: Shift) -> str:
    """Stable per (team, role, start, person); see the module docstring for why not per end."""
    key = f"{team_name}|{shift.role.value}|{shift.start.isoformat()}|{shift.person}"
    return f"{hashlib.sha256(key.encode()).hexdigest()[:32]}@watchstander"


def export_calendar(
    team_name: str,
    shifts: Sequence[Shift],
    *,
    people_names: Mapping[str, str],
    now: datetime,
    calendar_url: str | None = None,
) -> bytes:
    """The iCalendar bytes for ``shifts`` (the caller picks the window, e.g. 8 weeks ahead)."""
    now = as_utc(now, "now")
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", f"On call: {team_name}")
    cal.add("x-wr-caldesc", f"Watchstander on-call shifts for {team_name}")
    cal.add("name", f"On call: {team_name}")
    # Outlook/Apple read X-PUBLISHED-TTL, RFC 7986 clients REFRESH-INTERVAL; both get 1 hour.
    cal.add("x-published-ttl", icalendar.vDuration(REFRESH))  # a plain timedelta renders as "1:00:00"
    cal.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    if calendar_url:
        cal.add("url", calendar_url)
        cal.add("source", calendar_url, parameters={"VALUE": "URI"})
    for shift in sorted(shifts, key=lambda s: (s.start, s.role is Role.BACKUP, s.person)):
        cal.add_component(_event(team_name, shift, people_names, now))
    data: bytes = cal.to_ical()
    return data


def _event(team_name: str, shift: Shift, people_names: Mapping[str, str], now: datetime) -> icalendar.Event:
    name = people_names.get(shift.person, shift.person)
    event = icalendar.Event()
    event.add("uid", shift_uid(team_name, shift))
    event.add("dtstamp", now)
    event.add("dtstart", shift.start)
    event.add("dtend", shift.end)
    event.add("summary", f"On call: {name} ({team_name} {shift.role.value})")
    how = {
        Origin.ROTATION: "from the rotation",
        Origin.OVERRIDE: "an override",
        Origin.ICAL: "from the imported calendar",
    }[shift.source]
    event.add("description", f"{name} is {shift.role.value} on call for {team_name} ({how}).")
    event.add("categories", ["On call", shift.role.value.capitalize()])
    # Being on call is not being busy; don't block the person's free/busy.
    event.add("transp", "TRANSPARENT")
    return event
