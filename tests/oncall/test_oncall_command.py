"""`/oncall` over real HTTP against the Slack stand-in: what each person sees, errors included.

The clock stands at Tue 24 Nov 2026 13:00 UTC: 14:00 in Berlin (Alice), 08:00 in New York (Bob),
13:00 in London (Carol). Platform's weekly rotation hands off Mondays 09:00 Berlin time; this week
Alice is primary and Bob backup, next week Bob is primary.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.config import Config, parse_config
from bot.sandbox.slack import SlackStandIn
from tests.support.factories import ALICE, BOB, CAROL, DAVE, TOKENS, config_text
from tests.support.harness import Harness, start_harness
from tests.support.oncall_helpers import channel_texts, dm_texts, oncall, stored_overrides

ADMIN = "U0ADMIN01"

SEARCH_TEAM = """\
  - name: search
    channel: search-alerts
    schedule:
      rotation: daily
      handoff: "09:00"
      timezone: America/New_York
      start: 2026-11-01
      primary: [U0ALICE01, U0DAVE001]
"""


def config_with(team_yaml: str) -> Config:
    text = config_text().replace("  - name: payments\n", team_yaml + "  - name: payments\n")
    return parse_config(text, env=TOKENS)


@pytest.fixture
async def two_rotations(slack: SlackStandIn, clock: ManualClock, db_url: str) -> AsyncIterator[Harness]:
    # A public channel nobody invited the bot to: announcements must join it first.
    slack.workspace.create_channel("search-alerts", creator=DAVE, is_private=False, members=[ALICE, BOB, CAROL, DAVE])
    async with start_harness(slack=slack, clock=clock, db_url=db_url, config=config_with(SEARCH_TEAM)) as h:
        yield h


# --- who is on call --------------------------------------------------------------------------


async def test_bare_oncall_answers_for_every_team_in_the_callers_zone(harness: Harness) -> None:
    text = await oncall(harness, user=BOB)  # Bob's Slack zone is New York
    assert text.splitlines()[0] == "*On call now* · times in EST"
    assert ("*platform* · #platform-alerts\n"
            "Primary: <@U0ALICE01> until Mon 30 Nov 03:00 EST\n"
            "Backup: <@U0BOB0001> until Mon 30 Nov 03:00 EST\n"
            "Next: <@U0BOB0001> from Mon 30 Nov 03:00 EST") in text
    assert "/oncall/platform.ics?token=platform-ics-token|Subscribe to the platform on-call calendar>" in text
    assert "*payments* · #payments-alerts\nNo schedule configured; nobody is on call." in text


async def test_oncall_team_shows_one_team_with_date_and_zone(harness: Harness) -> None:
    text = await oncall(harness, "platform", user=ALICE)
    assert "Primary: <@U0ALICE01> until Mon 30 Nov 09:00 CET" in text
    assert "payments" not in text
    assert await oncall(harness, "PLATFORM", user=CAROL) == (await oncall(harness, "platform", user=CAROL))
    assert "until Mon 30 Nov 08:00 GMT" in await oncall(harness, "platform", user=CAROL)


async def test_the_callers_zone_comes_from_slack_once_then_from_the_cache(harness: Harness) -> None:
    assert "until Mon 30 Nov 08:00 GMT" in await oncall(harness, "platform", user=CAROL)  # Slack says London
    assert "until Mon 30 Nov 08:00 GMT" in await oncall(harness, "platform", user=CAROL)
    assert [c.args["user"] for c in harness.slack.calls_to("users.info")] == [CAROL]
    harness.clock.advance(timedelta(hours=7))  # past the cache's lifetime: ask again
    await oncall(harness, "platform", user=CAROL)
    assert [c.args["user"] for c in harness.slack.calls_to("users.info")] == [CAROL, CAROL]


async def test_without_slacks_answer_the_configured_zone_is_used(harness: Harness) -> None:
    harness.slack.fail_next("users.info", error="user_not_found", times=2)
    assert "until Mon 30 Nov 03:00 EST" in await oncall(harness, "platform", user=BOB)  # Bob's config zone
    assert "until Mon 30 Nov 09:00 CET" in await oncall(harness, "platform", user=CAROL)  # none: the config's


async def test_unknown_team_or_subcommand_is_named_in_the_error(harness: Harness) -> None:
    assert await oncall(harness, "platfrom", user=ALICE) == (
        "⚠️ there is no subcommand or team called 'platfrom'. Teams: platform, payments; "
        "`/oncall help` lists the subcommands")
    assert await oncall(harness, "platform next week", user=ALICE) == (
        "⚠️ `/oncall platform` takes nothing more; for weeks ahead use `/oncall schedule platform 4`")


async def test_help_lists_every_subcommand(harness: Harness) -> None:
    text = await oncall(harness, "help", user=ALICE)
    for sub in ("`/oncall`*", "`/oncall TEAM`", "schedule [TEAM] [N weeks]", "override [TEAM] @person", "take [TEAM]",
                "overrides [TEAM]", "cancel ID", "page TEAM message", "silence MATCHERS DURATION", "report [7d|30d]"):
        assert sub in text


async def test_every_subcommand_help_lists_answers_as_itself(harness: Harness) -> None:
    """``page``, ``silence`` and ``report`` live in other modules than the schedule subcommands; each
    one answers over ``/oncall`` with its own words (no placeholder, no team-name guess)."""
    assert (await oncall(harness, "page", user=ALICE)).startswith("Usage: `/oncall page TEAM message`")
    assert (await oncall(harness, "silence", user=ALICE)).startswith("Usage: `/oncall silence MATCHERS DURATION`")
    assert (await oncall(harness, "report 0d", user=ALICE)).startswith("⚠️ `0d` is not a report period.")
    assert (await oncall(harness, "cancel", user=ALICE)).startswith("⚠️ say which override, e.g. `/oncall cancel 12`")
    assert await oncall(harness, "overrides", user=ALICE) == "No current or upcoming overrides for all teams."
    assert (await oncall(harness, "schedule payments", user=ALICE)) == (
        "⚠️ payments has no schedule configured; add `schedule:` to it in the config")
    assert (await oncall(harness, "take", user=ALICE)).startswith("⚠️ say for how long or until when")
    assert (await oncall(harness, "override", user=ALICE)).startswith("⚠️ say who goes on call")


# --- schedule --------------------------------------------------------------------------------


async def test_schedule_shows_the_next_weeks_in_the_callers_zone(harness: Harness) -> None:
    text = await oncall(harness, "schedule platform 4", user=ALICE)
    assert text.splitlines() == [
        "*platform* on-call schedule, next 4 weeks",
        "*Primary*",
        "• Mon 23 Nov 09:00 CET → Mon 30 Nov 09:00 CET  <@U0ALICE01>",
        "• Mon 30 Nov 09:00 CET → Mon 7 Dec 09:00 CET  <@U0BOB0001>",
        "• Mon 7 Dec 09:00 CET → Mon 14 Dec 09:00 CET  <@U0CAROL01>",
        "• Mon 14 Dec 09:00 CET → Mon 21 Dec 09:00 CET  <@U0ALICE01>",
        "• Mon 21 Dec 09:00 CET → Mon 28 Dec 09:00 CET  <@U0BOB0001>",
        "*Backup*",
        "• Mon 23 Nov 09:00 CET → Mon 30 Nov 09:00 CET  <@U0BOB0001>",
        "• Mon 30 Nov 09:00 CET → Mon 7 Dec 09:00 CET  <@U0CAROL01>",
        "• Mon 7 Dec 09:00 CET → Mon 14 Dec 09:00 CET  <@U0ALICE01>",
        "• Mon 14 Dec 09:00 CET → Mon 21 Dec 09:00 CET  <@U0BOB0001>",
        "• Mon 21 Dec 09:00 CET → Mon 28 Dec 09:00 CET  <@U0CAROL01>",
    ]


async def test_schedule_defaults_to_the_callers_team_and_two_weeks(harness: Harness) -> None:
    text = await oncall(harness, "schedule", user=BOB)
    assert text.startswith("*platform* on-call schedule, next 2 weeks")
    assert "• Mon 30 Nov 03:00 EST → Mon 7 Dec 03:00 EST  <@U0BOB0001>" in text
    assert (await oncall(harness, "schedule 3 weeks", user=BOB)).startswith("*platform* on-call schedule, next 3 weeks")


async def test_schedule_errors(harness: Harness) -> None:
    assert await oncall(harness, "schedule platform 13", user=ALICE) == (
        "⚠️ show between 1 and 12 weeks, e.g. `/oncall schedule 4`")
    assert await oncall(harness, "schedule nosuch", user=ALICE) == (
        "⚠️ cannot read 'nosuch': use `/oncall schedule [TEAM] [N weeks]`, e.g. `/oncall schedule platform 4`. "
        "Teams: platform, payments")
    assert await oncall(harness, "schedule payments", user=ALICE) == (
        "⚠️ payments has no schedule configured; add `schedule:` to it in the config")


async def test_a_person_in_two_rotations_must_name_the_team(two_rotations: Harness) -> None:
    h = two_rotations
    assert await oncall(h, "schedule", user=ALICE) == (
        "⚠️ <@U0ALICE01> is in the platform and search rotations; say which team, e.g. `/oncall schedule platform`")
    assert await oncall(h, "take 2h", user=ALICE) == (
        "⚠️ <@U0ALICE01> is in the platform and search rotations; say which team, e.g. `/oncall take platform 2h`")
    text = await oncall(h, "take search 2h", user=ALICE)
    assert text.startswith("✅ <@U0ALICE01> is on call for search: Tue 24 Nov 14:00 CET → Tue 24 Nov 16:00 CET")
    assert "Primary: <@U0ALICE01> until Tue 24 Nov 16:00 CET (override)" in await oncall(h, "search", user=ALICE)
    await h.drain()
    assert channel_texts(h, "search-alerts")[0].startswith(
        "📅 <@U0ALICE01> took the search pager: Tue 24 Nov 08:00 EST → Tue 24 Nov 10:00 EST, instead of <@U0DAVE001>")  # the team's zone


# --- override and take -----------------------------------------------------------------------


@pytest.mark.parametrize("mention", ["<@U0BOB0001|bob>", "<@U0BOB0001>", "@Bob", "U0BOB0001"])
async def test_override_accepts_every_way_slack_sends_a_person(harness: Harness, mention: str) -> None:
    text = await oncall(harness, f"override {mention} 4h", user=CAROL)
    assert text == ("✅ <@U0BOB0001> is on call for platform: Tue 24 Nov 13:00 GMT → Tue 24 Nov 17:00 GMT, "
                    "instead of <@U0ALICE01> (override #1). Announced in #platform-alerts; undo with `/oncall cancel 1`.")


async def test_override_is_stored_announced_and_dmed(harness: Harness) -> None:
    text = await oncall(harness, "override <@U0BOB0001|bob> until fri 18:00 covering the dentist", user=CAROL)
    # "fri 18:00" is Carol's Friday 18:00, in London.
    assert text.startswith("✅ <@U0BOB0001> is on call for platform: Tue 24 Nov 13:00 GMT → Fri 27 Nov 18:00 GMT")
    [row] = await stored_overrides(harness)
    assert (row.team, row.person, row.created_by, row.reason) == ("platform", BOB, CAROL, "covering the dentist")
    assert (row.starts_at, row.ends_at) == (datetime(2026, 11, 24, 13, tzinfo=UTC), datetime(2026, 11, 27, 18, tzinfo=UTC))
    await harness.drain()
    assert channel_texts(harness) == [
        "📅 <@U0CAROL01> put <@U0BOB0001> on call for platform: Tue 24 Nov 14:00 CET → Fri 27 Nov 19:00 CET, "
        "instead of <@U0ALICE01> — “covering the dentist”\nOverride #1 · `/oncall overrides platform`"]
    assert dm_texts(harness, BOB) == [
        "<@U0CAROL01> put you on call for platform: Tue 24 Nov 08:00 EST → Fri 27 Nov 13:00 EST (override #1) "
        "— “covering the dentist”"]
    assert dm_texts(harness, ALICE) == [
        "<@U0BOB0001> covers your platform shift over Tue 24 Nov 14:00 CET → Fri 27 Nov 19:00 CET "
        "(override #1, set by <@U0CAROL01>) — “covering the dentist”"]
    assert dm_texts(harness, CAROL) == []  # she made the change
    now = await oncall(harness, "platform", user=ALICE)
    assert "Primary: <@U0BOB0001> until Fri 27 Nov 19:00 CET (override)" in now
    assert "Next: <@U0ALICE01> from Fri 27 Nov 19:00 CET" in now


async def test_take_puts_the_caller_on_call(harness: Harness) -> None:
    assert await oncall(harness, "take 2h30m", user=BOB) == (
        "✅ <@U0BOB0001> is on call for platform: Tue 24 Nov 08:00 EST → Tue 24 Nov 10:30 EST, instead of "
        "<@U0ALICE01> (override #1). Announced in #platform-alerts; undo with `/oncall cancel 1`.")
    await harness.drain()
    assert channel_texts(harness)[0].startswith(
        "📅 <@U0BOB0001> took the platform pager: Tue 24 Nov 14:00 CET → Tue 24 Nov 16:30 CET, instead of <@U0ALICE01>")


async def test_overlapping_overrides_latest_wins(harness: Harness) -> None:
    await oncall(harness, "override @Bob 4h", user=ALICE)
    await oncall(harness, "override @Carol from 15:00 until 16:00", user=ALICE)
    text = await oncall(harness, "schedule platform 1", user=ALICE)
    assert ("• Tue 24 Nov 14:00 CET → Tue 24 Nov 15:00 CET  <@U0BOB0001> _(override)_\n"
            "• Tue 24 Nov 15:00 CET → Tue 24 Nov 16:00 CET  <@U0CAROL01> _(override)_\n"
            "• Tue 24 Nov 16:00 CET → Tue 24 Nov 18:00 CET  <@U0BOB0001> _(override)_\n"
            "• Tue 24 Nov 18:00 CET → Mon 30 Nov 09:00 CET  <@U0ALICE01>") in text


async def test_anyone_may_take_but_only_members_or_admins_override_others(harness: Harness) -> None:
    assert await oncall(harness, "override @Bob 4h", user=DAVE) == (
        "⚠️ only members of the platform rotation or an admin may put someone else on call for platform; "
        "you can take a shift yourself with /oncall take")
    assert await stored_overrides(harness) == []
    assert (await oncall(harness, "take 1h", user=DAVE)).startswith("✅ <@U0DAVE001> is on call for platform")
    assert (await oncall(harness, "override @Carol 1h", user=ADMIN)).startswith("✅ <@U0CAROL01> is on call for platform")
    assert [r.person for r in await stored_overrides(harness)] == [DAVE, CAROL]


@pytest.mark.parametrize(("text", "error"), [
    ("override", "⚠️ say who goes on call, e.g. `/oncall override @bob 4h` or "
                 "`/oncall override platform @bob until fri 18:00 dentist`"),
    ("override @Bob", "⚠️ say for how long or until when, e.g. `/oncall override @bob 4h` or "
                      "`/oncall override platform @bob until fri 18:00 dentist`"),
    ("override <@U0NOBODY1|zed> 4h", "⚠️ <@U0NOBODY1|zed> is not listed under people in the config, so the bot could "
                                      "not page them; pick someone from Slack's @-autocomplete, or ask an admin to add them"),
    ("override @Bob 4x", "⚠️ cannot set that override: cannot read '4x' as a duration; use e.g. 30m, 4h, 2h30m or 1d"),
    ("override @Bob until 2026-11-20 18:00", "⚠️ cannot set that override: Fri 2026-11-20 18:00 CET is in the past"),
    ("override @Bob from 10:00 until 09:00 tomorrow", "⚠️ cannot set that override: cannot tell what 'from 10:00 "
                                                       "until 09:00 tomorrow' means; put the day before the time, e.g. "
                                                       "'until fri 18:00' or 'until tomorrow 09:00'"),
    ("take until 18:00 friday dentist", "⚠️ cannot set that override: cannot tell what 'until 18:00 friday dentist' "
                                        "means; put the day before the time, e.g. 'until fri 18:00' or "
                                        "'until tomorrow 09:00'"),
    ("take 200d", "⚠️ cannot set that override: 200d is longer than the 90d an override may last"),
    ("override nosuchteam @Bob 4h", "⚠️ say who goes on call, e.g. `/oncall override @bob 4h` or "
                                     "`/oncall override platform @bob until fri 18:00 dentist`"),
])
async def test_bad_override_input_gets_a_clear_error_and_stores_nothing(harness: Harness, text: str, error: str) -> None:
    assert await oncall(harness, text, user=ALICE) == error
    assert await stored_overrides(harness) == []
    await harness.drain()
    assert channel_texts(harness) == []


# --- listing and cancelling ------------------------------------------------------------------


async def test_overrides_are_listed_and_cancelled_with_an_announcement(harness: Harness) -> None:
    await oncall(harness, "override @Bob 4h dentist", user=ALICE)
    await oncall(harness, "override @Carol from tomorrow 09:00 until tomorrow 17:00", user=ALICE)
    listing = await oncall(harness, "overrides platform", user=ALICE)
    assert listing == (
        "*Overrides for platform*\n"
        "• *#1* platform: <@U0BOB0001> Tue 24 Nov 14:00 CET → Tue 24 Nov 18:00 CET (by <@U0ALICE01>) — “dentist”"
        " · *in progress*\n"
        "• *#2* platform: <@U0CAROL01> Wed 25 Nov 09:00 CET → Wed 25 Nov 17:00 CET (by <@U0ALICE01>)\n"
        "Cancel one with `/oncall cancel ID`.")
    assert await oncall(harness, "cancel 2", user=DAVE) == (
        "⚠️ only <@U0CAROL01>, whoever created override #2, members of the platform rotation or an admin may cancel it")
    assert await oncall(harness, "cancel 2", user=CAROL) == (
        "✅ Cancelled override #2 (<@U0CAROL01> for platform). Announced in #platform-alerts.")
    harness.clock.advance(timedelta(hours=1))
    assert await oncall(harness, "cancel #1", user=ALICE) == (
        "✅ Ended override #1 (<@U0BOB0001> for platform). Announced in #platform-alerts.")
    assert await oncall(harness, "cancel 1", user=ALICE) == "⚠️ override #1 is already over; nothing to cancel"
    assert await oncall(harness, "cancel 99", user=ALICE) == (
        "⚠️ there is no override #99; /oncall overrides lists them")
    assert await oncall(harness, "cancel bob", user=ALICE) == (
        "⚠️ say which override, e.g. `/oncall cancel 12`; `/oncall overrides` lists them with IDs")
    assert await oncall(harness, "overrides", user=ALICE) == "No current or upcoming overrides for all teams."
    await harness.drain()
    texts = channel_texts(harness)
    assert texts[2].startswith("📅 <@U0CAROL01> cancelled override #2 for platform (<@U0CAROL01>, "
                               "Wed 25 Nov 09:00 CET → Wed 25 Nov 17:00 CET); <@U0ALICE01> back on call")
    assert texts[3].startswith("📅 <@U0ALICE01> ended override #1 for platform (<@U0BOB0001>, "
                               "Tue 24 Nov 14:00 CET → Tue 24 Nov 15:00 CET); <@U0ALICE01> back on call")
    assert dm_texts(harness, BOB)[-1] == ("<@U0ALICE01> cancelled override #1: you are no longer on call for platform "
                                          "over Tue 24 Nov 08:00 EST → Tue 24 Nov 09:00 EST.")
    [bob_row, carol_row] = await stored_overrides(harness)
    assert bob_row.cancelled_at is None and bob_row.cancelled_by == ALICE  # history: Bob held it for an hour
    assert carol_row.cancelled_at is not None and carol_row.cancelled_by == CAROL
    assert "Primary: <@U0ALICE01> until Mon 30 Nov 09:00 CET" in await oncall(harness, "platform", user=ALICE)


async def test_overrides_of_unknown_team(harness: Harness) -> None:
    assert await oncall(harness, "overrides nosuch", user=ALICE) == (
        "⚠️ there is no team named 'nosuch'; teams: platform, payments")


# --- iCal-imported schedules -----------------------------------------------------------------


async def test_oncall_shows_a_team_whose_schedule_is_an_imported_calendar(
        slack: SlackStandIn, clock: ManualClock, db_url: str, tmp_path: Path) -> None:
    ics = tmp_path / "pagerduty.ics"
    ics.write_bytes(b"\r\n".join([
        b"BEGIN:VCALENDAR", b"VERSION:2.0", b"PRODID:-//PagerDuty Inc.//PagerDuty Calendar 1.0//EN",
        b"BEGIN:VEVENT", b"UID:Q1@pagerduty", b"DTSTAMP:20261101T000000Z",
        b"DTSTART:20261123T080000Z", b"DTEND:20261130T080000Z", b"RRULE:FREQ=WEEKLY;INTERVAL=2",
        b"SUMMARY:On Call - Carol - Payments", b"END:VEVENT",
        b"BEGIN:VEVENT", b"UID:Q2@pagerduty", b"DTSTAMP:20261101T000000Z",
        b"DTSTART:20261130T080000Z", b"DTEND:20261207T080000Z", b"RRULE:FREQ=WEEKLY;INTERVAL=2",
        b"SUMMARY:On Call - Dave - Payments", b"END:VEVENT", b"END:VCALENDAR", b""]))
    text = config_text().replace("    channel: payments-alerts\n",
                                 f"    channel: payments-alerts\n    schedule: {{ical: {ics}}}\n")
    config = parse_config(text, env=TOKENS)
    async with start_harness(slack=slack, clock=clock, db_url=db_url, config=config) as h:
        answer = await oncall(h, "payments", user=ALICE)
        assert "Primary: <@U0CAROL01> until Mon 30 Nov 09:00 CET" in answer
        assert "Next: <@U0DAVE001> from Mon 30 Nov 09:00 CET" in answer
        assert (await oncall(h, "take payments 1h", user=DAVE)).startswith(
            "✅ <@U0DAVE001> is on call for payments: Tue 24 Nov 22:00 JST → Tue 24 Nov 23:00 JST, instead of <@U0CAROL01>")
