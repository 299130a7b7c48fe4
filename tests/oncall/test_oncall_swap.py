"""``/oncall swap @person DAY``: the request DM and its buttons, accepting (two overrides, the
schedule, the channel, the asker), declining, a second click, an expired request, bad inputs.

Platform's primaries, weekly from Mondays 09:00 Berlin: Alice (23 Nov), Bob (30 Nov), Carol
(7 Dec), Alice (14 Dec), Bob (21 Dec), Carol (28 Dec). Now is Tue 24 Nov 14:00 Berlin. Carol asks
Bob to swap Mon 7 Dec: her shift 7 → 14 Dec; Bob's nearest not yet begun is 30 Nov → 7 Dec (a week
before hers; his 21 Dec one is two weeks after). What the asker reads is in her zone (London).
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime

from bot.oncall.models import ShiftSwapRow
from bot.sandbox.slack import SandboxMessage
from bot.slack.ids import SwapAction
from tests.support.factories import ALICE, BOB, CAROL, DAVE
from tests.support.harness import Harness
from tests.support.oncall_helpers import channel_texts, dm_texts, oncall, stored_overrides, utc
from tests.support.visible import visible_text


def request_dm(h: Harness, user: str = BOB) -> SandboxMessage:
    [dm] = [m for m in h.slack.dms(user) if "swap" in m.text]
    return dm


async def click(h: Harness, message: SandboxMessage, action: SwapAction, user: str = BOB) -> str:
    """Click the button as ``user``; the ephemeral answer, if the bot gave one, else ''."""
    before = len(h.slack.ephemerals(user))
    resp = await h.driver.click(message, action, user_id=user)
    assert resp.status == 200, resp.text
    await h.drain()
    new = h.slack.ephemerals(user)[before:]
    return visible_text(new[-1]) if new else ""


async def ask(h: Harness, text: str = "@bob mon 7 dec", user: str = CAROL) -> str:
    answer = await oncall(h, f"swap {text}", user=user)
    await h.drain()
    return answer


async def test_the_request_dm_names_both_shifts_and_has_the_buttons(harness: Harness) -> None:
    answer = await ask(harness)
    assert answer == ("✅ Asked <@U0BOB0001> in a DM to swap platform shifts (swap #1):\n"
                      "• they take your shift *Mon 7 Dec 08:00 GMT → Mon 14 Dec 08:00 GMT*\n"
                      "• you take theirs *Mon 30 Nov 08:00 GMT → Mon 7 Dec 08:00 GMT*\n"
                      "You will hear when they answer.")
    dm = request_dm(harness)
    assert visible_text(dm).splitlines()[:3] == [  # in Bob's zone, New York
        "🔄 <@U0CAROL01> asks to swap platform shifts with you:",
        "• you take their shift *Mon 7 Dec 03:00 EST → Mon 14 Dec 03:00 EST*",
        "• they take yours *Mon 30 Nov 03:00 EST → Mon 7 Dec 03:00 EST*"]
    assert "yours is your shift of the same team nearest to it that has not begun yet" in visible_text(dm)
    buttons = [e for b in dm.blocks if b["type"] == "actions" for e in b["elements"]]
    assert [(e["action_id"], e["text"]["text"], e["value"]) for e in buttons] == [
        ("swap_accept", "Accept", "1"), ("swap_decline", "Decline", "1")]


async def test_accept_swaps_both_shifts_announces_and_tells_the_asker(harness: Harness) -> None:
    await ask(harness)
    dm = request_dm(harness)
    stale = copy.deepcopy(dm)
    assert await click(harness, dm, SwapAction.ACCEPT) == ""
    first, second = await stored_overrides(harness)
    assert (first.person, first.starts_at, first.ends_at) == (BOB, utc("2026-12-07T08:00:00+00:00"),
                                                              utc("2026-12-14T08:00:00+00:00"))
    assert (second.person, second.starts_at, second.ends_at) == (CAROL, utc("2026-11-30T08:00:00+00:00"),
                                                                 utc("2026-12-07T08:00:00+00:00"))
    assert first.created_by == second.created_by == BOB and first.reason == "shift swap #1"
    async with harness.bot.services.sessions() as s:
        row = await s.get_one(ShiftSwapRow, 1)
        assert (row.status, row.other_override_id, row.asker_override_id) == ("accepted", first.id, second.id)
    # The request DM now says what happened, without buttons.
    updated = harness.slack.dms(BOB)[0]
    assert visible_text(updated).startswith("✅ You swapped platform shifts with <@U0CAROL01>: you are on call "
                                            "*Mon 7 Dec 03:00 EST → Mon 14 Dec 03:00 EST*")
    assert not any(b["type"] == "actions" for b in updated.blocks)
    assert [t for t in channel_texts(harness) if "swapped" in t] == [
        "🔄 <@U0CAROL01> and <@U0BOB0001> swapped platform shifts: <@U0BOB0001> is on call Mon 7 Dec 09:00 CET → "
        "Mon 14 Dec 09:00 CET, <@U0CAROL01> is on call Mon 30 Nov 09:00 CET → Mon 7 Dec 09:00 CET\n"
        "Shift swap #1 · overrides #1 and #2 · `/oncall overrides platform`"]
    assert [t for t in dm_texts(harness, CAROL) if "accepted" in t] == [
        "✅ <@U0BOB0001> accepted your swap: they are on call *Mon 7 Dec 08:00 GMT → Mon 14 Dec 08:00 GMT*, "
        "you are on call *Mon 30 Nov 08:00 GMT → Mon 7 Dec 08:00 GMT* (overrides #1 and #2)."]
    # Who is on call at those times: the swap, not the rotation.
    harness.clock.set(datetime(2026, 12, 1, 12, tzinfo=UTC))
    assert "Primary: <@U0CAROL01> until Mon 7 Dec 09:00 CET (override)" in await oncall(harness, "platform", user=ALICE)
    harness.clock.set(datetime(2026, 12, 8, 12, tzinfo=UTC))
    assert "Primary: <@U0BOB0001> until Mon 14 Dec 09:00 CET (override)" in await oncall(harness, "platform", user=ALICE)
    # A second click (an old copy of the DM) changes nothing and says so.
    assert await click(harness, stale, SwapAction.ACCEPT) == "⚠️ you already accepted this swap request"
    assert len(await stored_overrides(harness)) == 2


async def test_decline_tells_the_asker_and_changes_nothing(harness: Harness) -> None:
    await ask(harness)
    stale = copy.deepcopy(request_dm(harness))
    await click(harness, request_dm(harness), SwapAction.DECLINE)
    assert await stored_overrides(harness) == []
    assert visible_text(harness.slack.dms(BOB)[0]).startswith("❌ You declined <@U0CAROL01>'s swap")
    assert [t for t in dm_texts(harness, CAROL) if "declined" in t] == [
        "❌ <@U0BOB0001> declined your swap of *Mon 7 Dec 08:00 GMT → Mon 14 Dec 08:00 GMT* for "
        "*Mon 30 Nov 08:00 GMT → Mon 7 Dec 08:00 GMT*. Nothing changed."]
    assert not [t for t in channel_texts(harness) if "swapped" in t]
    assert await click(harness, stale, SwapAction.ACCEPT) == "⚠️ you already declined this swap request"


async def test_a_request_answered_after_a_shift_began_has_expired(harness: Harness) -> None:
    await ask(harness)
    harness.clock.set(datetime(2026, 11, 30, 9, tzinfo=UTC))  # Bob's 30 Nov shift has begun
    await click(harness, request_dm(harness), SwapAction.ACCEPT)
    assert await stored_overrides(harness) == []
    assert visible_text(harness.slack.dms(BOB)[0]).startswith("⌛ This swap request from <@U0CAROL01> has expired")
    assert any("expired before they answered" in t for t in dm_texts(harness, CAROL))


async def test_only_the_person_asked_may_answer(harness: Harness) -> None:
    await ask(harness)
    assert await click(harness, request_dm(harness), SwapAction.ACCEPT, user=ALICE) == \
        "⚠️ only <@U0BOB0001> can answer this swap request"
    assert await stored_overrides(harness) == []


async def test_a_schedule_changed_meanwhile_is_not_swapped(harness: Harness) -> None:
    await ask(harness)
    await oncall(harness, "override @alice from 2026-12-07 12:00 until 2026-12-07 15:00", user=CAROL)
    await harness.drain()
    answer = await click(harness, request_dm(harness), SwapAction.ACCEPT)
    assert answer.startswith("⚠️ the schedule has changed since this swap was asked")
    assert len(await stored_overrides(harness)) == 1


async def test_bad_requests_are_told_what_is_wrong(harness: Harness) -> None:
    cases = {
        "@nobody mon 7 dec": "⚠️ @nobody is not listed under people in the config",
        "mon 7 dec": "⚠️ say who to swap with, e.g. `/oncall swap @bob mon 7 dec`",
        "@bob": "⚠️ say which day of yours to swap",
        "@bob 2026-11-20": "⚠️ cannot read the day: Fri 20 Nov 2026 is in the past",
        "@bob sun 7 dec": "⚠️ cannot read the day: 7 Dec 2026 is a Monday, not a Sunday",
        "@bob someday": "⚠️ cannot read the day: cannot read 'someday' as a day",
        "@dave mon 7 dec": "⚠️ only people on the platform rotation may swap shifts, and <@U0DAVE001> is not",
        "@carol mon 7 dec": "⚠️ you cannot swap with yourself",
        "@bob mon 30 nov": "⚠️ you have no platform shift on Mon 30 Nov",
        "@bob tue": "⚠️ you have no platform shift on Tue 24 Nov",
    }
    for text, start in cases.items():
        answer = await oncall(harness, f"swap {text}", user=CAROL)
        assert answer.startswith(start), (text, answer)
    dave = await oncall(harness, "swap platform @bob mon 7 dec", user=DAVE)
    assert dave.startswith("⚠️ only people on the platform rotation may swap shifts, and <@U0DAVE001> is not")
    alice = await oncall(harness, "swap @bob today", user=ALICE)  # her shift is the current one
    assert alice.startswith("⚠️ your platform shift covering Tue 24 Nov has already begun")
    assert harness.slack.dms(BOB) == []
