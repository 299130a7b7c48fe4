"""`GET /oncall/<team>.ics`: what a calendar app subscribes to, parsed back with icalendar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar

from bot.oncall.shifts import Role
from bot.oncall.who import shifts
from tests.support.factories import ALICE, BOB, CAROL, TOKENS
from tests.support.harness import Harness
from tests.support.oncall_helpers import oncall


async def get(h: Harness, path: str) -> tuple[int, str, bytes]:
    async with h.http.get(h.url + path) as resp:
        return resp.status, resp.headers.get("Content-Type", ""), await resp.read()


async def test_calendar_matches_the_computed_shifts_including_an_override(harness: Harness) -> None:
    await oncall(harness, "override @Carol from tomorrow 10:00 until tomorrow 14:00 school run", user=ALICE)
    status, ctype, body = await get(harness, f"/oncall/platform.ics?token={TOKENS['PLATFORM_ICS_TOKEN']}")
    assert status == 200 and ctype.startswith("text/calendar")
    cal = icalendar.Calendar.from_ical(body)
    assert str(cal["X-WR-CALNAME"]) == "On call: platform"
    events = {(e.decoded("DTSTART"), e.decoded("DTEND"), str(e["SUMMARY"])) for e in cal.walk("VEVENT")}

    now = harness.clock.now()
    async with harness.bot.services.sessions() as s:
        expected_shifts = await shifts(s, harness.bot.services.schedules, "platform", now - timedelta(weeks=1),
                                       now + timedelta(weeks=8))
    names = {ALICE: "Alice", BOB: "Bob", CAROL: "Carol"}
    expected = {(sh.start, sh.end, f"On call: {names[sh.person]} (platform {sh.role.value})") for sh in expected_shifts}
    assert events == expected
    # The override cuts Alice's week in three, and shows as Carol's own event.
    carol = datetime(2026, 11, 25, 9, tzinfo=UTC), datetime(2026, 11, 25, 13, tzinfo=UTC)
    assert (*carol, "On call: Carol (platform primary)") in events
    assert (datetime(2026, 11, 23, 8, tzinfo=UTC), carol[0], "On call: Alice (platform primary)") in events
    assert (carol[1], datetime(2026, 11, 30, 8, tzinfo=UTC), "On call: Alice (platform primary)") in events
    [override_event] = [e for e in cal.walk("VEVENT") if e.decoded("DTSTART") == carol[0]]
    assert "an override" in str(override_event["DESCRIPTION"])
    # Eight weeks ahead: the last primary shift starts before 19 Jan.
    primaries = sorted(sh.start for sh in expected_shifts if sh.role is Role.PRIMARY)
    assert primaries[-1] == datetime(2027, 1, 18, 8, tzinfo=UTC)


async def test_calendar_refuses_wrong_or_missing_tokens_and_unknown_teams(harness: Harness) -> None:
    assert await get(harness, "/oncall/platform.ics") == (
        401, "application/json; charset=utf-8", b'{"error": "this calendar needs ?token=<the team\'s calendar_token>"}')
    status, _, body = await get(harness, "/oncall/platform.ics?token=platform-ics-tokem")
    assert (status, body) == (401, b'{"error": "wrong calendar token"}')
    status, _, body = await get(harness, "/oncall/nosuch.ics?token=x")
    assert (status, body) == (404, b'{"error": "no team named \'nosuch\'"}')
    status, _, body = await get(harness, "/oncall/payments.ics?token=x")
    assert (status, body) == (404, b'{"error": "team \'payments\' has no calendar; set calendar_token on it in the config"}')
