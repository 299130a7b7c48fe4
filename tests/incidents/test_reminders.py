"""Status nudges and the post-mortem reminder: on time by the injected clock, never twice, and still
there after a restart."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import ManualClock
from bot.sandbox.slack import SlackStandIn
from bot.slack.ids import IncidentAction
from tests.incidents.flow import CHANNEL, declare, incident, posted
from tests.support.factories import BOB, CAROL
from tests.support.harness import Harness, start_harness
from tests.support.visible import buttons


def nudges(h: Harness, channel: str = CHANNEL) -> list[str]:
    return [m.text for m in h.slack.messages(channel) if m.text.startswith("⏰")]


async def test_the_commander_is_nudged_when_status_updates_stop(harness: Harness) -> None:
    h = harness
    await declare(h, user=BOB, commander=CAROL, severity="SEV1")  # SEV1: an update every 30m
    h.clock.advance(timedelta(minutes=29))
    await h.drain()
    assert nudges(h) == []
    h.clock.advance(timedelta(minutes=1))  # 14:30
    await h.drain()
    await h.drain()
    assert nudges(h) == [
        "⏰ <@U0CAROL01>, there has been no status update for 30m 00s. SEV1 incidents get one every 30m: "
        "`/incident status <what is happening>` or the *Post update* button on the pinned header."]

    h.clock.advance(timedelta(minutes=10))  # 14:40 an update: the next one is expected at 15:10
    await incident(h, "status identified: the 1.42 payment client times out", user=CAROL)
    await posted(h, "Status update")
    h.clock.advance(timedelta(minutes=29))
    await h.drain()
    assert len(nudges(h)) == 1
    h.clock.advance(timedelta(minutes=1))  # 15:10
    await h.drain()
    assert len(nudges(h)) == 2 and "no status update for 30m 00s" in nudges(h)[1]

    await incident(h, "sev 3", user=CAROL)  # SEV3: every 4h, counted from the last nudge
    await posted(h, "lowered the severity")
    h.clock.advance(timedelta(hours=3, minutes=59))
    await h.drain()
    assert len(nudges(h)) == 2
    h.clock.advance(timedelta(minutes=1))  # 19:10
    await h.drain()
    assert len(nudges(h)) == 3 and "SEV3 incidents get one every 4h" in nudges(h)[2]

    await incident(h, "resolve", user=CAROL)
    await posted(h, "resolved* by")
    h.clock.advance(timedelta(hours=12))
    await h.drain()
    assert len(nudges(h)) == 3


async def test_a_due_nudge_survives_a_restart(slack: SlackStandIn, clock: ManualClock, db_url: str) -> None:
    async with start_harness(slack=slack, clock=clock, db_url=db_url) as first:
        await declare(first, user=BOB, commander=CAROL, severity="SEV1")
    clock.advance(timedelta(minutes=45))  # the bot was down when the nudge came due
    async with start_harness(slack=slack, clock=clock, db_url=db_url) as second:
        await second.drain()
        await second.drain()
        assert len(nudges(second)) == 1
        assert "no status update for 45m 00s" in nudges(second)[0]


async def test_the_postmortem_reminder_comes_a_day_after_resolve_unless_it_is_done(harness: Harness) -> None:
    h = harness
    await declare(h, user=BOB, commander=BOB)
    other = await declare(h, "Search is empty", user=CAROL, commander=CAROL, severity="SEV3")
    h.clock.advance(timedelta(minutes=10))
    await incident(h, "resolve", user=BOB)
    resolved = await posted(h, "resolved* by")
    await incident(h, "resolve", user=CAROL, channel=other.id)
    other_resolved = await posted(h, "resolved* by", channel=other.id)
    await h.driver.click(other_resolved, IncidentAction.POSTMORTEM_DONE, user_id=CAROL)
    await posted(h, "marked the post-mortem", channel=other.id)

    h.clock.advance(timedelta(hours=23, minutes=59))
    await h.drain()
    assert not any("post-mortem is not marked done" in m.text for m in h.slack.messages(CHANNEL))
    h.clock.advance(timedelta(minutes=1))
    await h.drain()
    await h.drain()
    [reminder] = [m for m in h.slack.messages(CHANNEL) if "post-mortem is not marked done" in m.text]
    assert reminder.text.startswith("📝 <@U0BOB0001>, incident #1 was resolved a day ago")
    assert buttons(reminder) == ["Mark post-mortem done"]
    assert not any("post-mortem is not marked done" in m.text for m in h.slack.messages(other.id))
    assert resolved.ts != reminder.ts
