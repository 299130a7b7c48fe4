"""An imported schedule that is no single rotation, written as the iCal calendar of its shifts.

Each shift names its holder's Slack id in SUMMARY, which is what Watchstander's calendar reader
matches first, so a renamed person still matches.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import icalendar

_ROLE_WORDS = ("backup", "secondary")  # the calendar reader takes these words to mean a backup shift


def calendar_bytes(title: str, shifts: Sequence[tuple[datetime, datetime, str, str]], *, team: str) -> bytes:
    cal = icalendar.Calendar()
    cal.add("prodid", "-//Watchstander//import//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"{title} (imported)")
    for i, (start, end, name, slack_id) in enumerate(shifts):
        shown = " ".join(w for w in name.split() if w.lower() not in _ROLE_WORDS)
        event = icalendar.Event()
        event.add("uid", f"{team}-{i}-{int(start.timestamp())}@import.watchstander")
        event.add("summary", f"On call: {shown} ({slack_id})")
        event.add("dtstart", start)
        event.add("dtend", end)
        event.add("dtstamp", start)
        cal.add_component(event)
    return bytes(cal.to_ical())
