"""Handoffs: the team channel post and the incoming person's DM, at the right instant, exactly once.

Platform hands off Mondays 09:00 Berlin (08:00 UTC in winter): Alice → Bob on 30 Nov, Bob → Carol
on 7 Dec. The injected clock is moved and :func:`run_due_handoffs` called, as the scheduler
would every minute.
"""

from __future__ import annotations

from datetime import UTC, datetime

from apscheduler.triggers.interval import IntervalTrigger

from bot.alerts import actions
from bot.clock import ManualClock
from bot.db import transaction
from bot.notify.handoff_posts import JOB_ID, run_due_handoffs
from bot.sandbox.slack import SlackStandIn
from tests.support.factories import ALICE, BOB, CAROL, DAVE, am_alert, am_notification
from tests.support.harness import Harness, start_harness
from tests.support.oncall_helpers import dm_texts, oncall
from tests.support.visible import visible_text

HANDOFF_30_NOV = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


async def open_alerts(h: Harness) -> None:
    """Two open platform alerts (one acknowledged by Alice) and one already resolved; "warning" so that
    escalation pages nobody and the DMs here are the handoff's own."""
    for name, fp in (("HighErrorRate", "fp-1"), ("DiskFull", "fp-2"), ("Flapping", "fp-3")):
        alert = am_alert(name, fingerprint=fp, labels={"severity": "warning"})
        status, _ = await h.alertmanager(am_notification(alert,
                                                         group_key=f'{{}}:{{alertname="{name}"}}'))
        assert status == 202
    async with transaction(h.bot.services.sessions) as s:
        await actions.acknowledge(s, 2, actor=ALICE, via="slack", now=h.clock.now(), severities=h.config.severities)
        await actions.resolve(s, 3, actor=ALICE, via="slack", now=h.clock.now())
    await h.drain()


def handoff_dms(h: Harness, user: str) -> list[str]:
    return [t for t in dm_texts(h, user) if "You're now on call" in t]


def handoff_posts(h: Harness) -> list[str]:
    return [t for t in (visible_text(m) for m in h.slack.messages("platform-alerts")) if "Handoff:" in t]


async def test_handoff_posts_in_the_channel_and_dms_the_incoming_person_once(harness: Harness) -> None:
    await open_alerts(harness)
    svc = harness.bot.services
    harness.clock.set(datetime(2026, 11, 30, 7, 59, tzinfo=UTC))
    assert await run_due_handoffs(svc) == 0  # a minute early: nothing
    harness.clock.set(HANDOFF_30_NOV)
    assert await run_due_handoffs(svc) == 1
    await harness.drain()
    assert handoff_posts(harness) == [
        "🔁 Handoff: Bob is now on call for platform until Mon 7 Dec 09:00 CET, backup Carol\n"
        "Previously: Alice · Next: Carol from Mon 7 Dec 09:00 CET · 2 open alerts handed over"]
    [dm] = handoff_dms(harness, BOB)
    lines = dm.splitlines()
    assert lines[0] == ("🟢 You're now on call for platform until Mon 7 Dec 03:00 EST (backup: <@U0CAROL01>). "
                        "You inherit 2 open alerts.")
    assert lines[1] == "*2 open alerts*"
    assert lines[2].startswith("🟡 *#1* HighErrorRate — firing since Tue 24 Nov 08:00 EST in <#")
    assert lines[3].startswith("🟡 *#2* DiskFull — acknowledged by <@U0ALICE01> since Tue 24 Nov 08:00 EST in <#")
    assert "Flapping" not in dm
    # The scheduler's next runs, minutes later, find it announced.
    harness.clock.set(datetime(2026, 11, 30, 8, 5, tzinfo=UTC))
    assert await run_due_handoffs(svc) == 0
    await harness.drain()
    assert len(handoff_posts(harness)) == 1 and len(handoff_dms(harness, BOB)) == 1


async def test_a_restarted_bot_on_the_same_database_does_not_post_again(
        harness: Harness, slack: SlackStandIn, clock: ManualClock, db_url: str) -> None:
    clock.set(HANDOFF_30_NOV)
    assert await run_due_handoffs(harness.bot.services) == 1
    await harness.drain()
    async with start_harness(slack=slack, clock=clock, db_url=db_url) as restarted:
        clock.set(datetime(2026, 11, 30, 8, 1, tzinfo=UTC))
        assert await run_due_handoffs(restarted.bot.services) == 0
        await restarted.drain()
    assert len(handoff_posts(harness)) == 1
    assert len(handoff_dms(harness, BOB)) == 1


async def test_after_downtime_only_the_most_recent_handoff_is_announced(harness: Harness) -> None:
    # Down from before 30 Nov until Monday 7 Dec 15:00 CET: Bob's turn was missed, Carol's is current.
    harness.clock.set(datetime(2026, 12, 7, 14, 0, tzinfo=UTC))
    assert await run_due_handoffs(harness.bot.services) == 1
    await harness.drain()
    assert handoff_posts(harness) == [
        "🔁 Handoff: Carol is now on call for platform until Mon 14 Dec 09:00 CET, backup Alice\n"
        "Previously: Bob · Next: Alice from Mon 14 Dec 09:00 CET · 0 open alerts handed over"]
    assert handoff_dms(harness, CAROL) == [
        "🟢 You're now on call for platform until Mon 14 Dec 08:00 GMT (backup: <@U0ALICE01>). "
        "Nothing is open: a quiet start.\n`/oncall` shows the schedule · `/oncall take` covers a gap"]
    assert handoff_dms(harness, BOB) == []


async def test_a_handoff_older_than_a_day_is_news_to_nobody(harness: Harness) -> None:
    harness.clock.set(datetime(2026, 12, 8, 8, 1, tzinfo=UTC))
    assert await run_due_handoffs(harness.bot.services) == 0
    # ...which is also why a fresh install at T0 (Tuesday; last handoff Monday) posts nothing.
    harness.clock.set(datetime(2026, 11, 24, 13, 0, tzinfo=UTC))
    assert await run_due_handoffs(harness.bot.services) == 0


async def test_overrides_hand_the_pager_over_and_back(harness: Harness) -> None:
    await oncall(harness, "override @Dave from 15:00 until 17:00 dentist cover", user=ALICE)
    svc = harness.bot.services
    harness.clock.set(datetime(2026, 11, 24, 14, 0, tzinfo=UTC))  # 15:00 Berlin
    assert await run_due_handoffs(svc) == 1
    harness.clock.set(datetime(2026, 11, 24, 16, 0, tzinfo=UTC))  # 17:00 Berlin: Alice again
    assert await run_due_handoffs(svc) == 1
    await harness.drain()
    assert [p.splitlines()[0] for p in handoff_posts(harness)] == [
        "🔁 Handoff: Dave is now on call for platform until Tue 24 Nov 17:00 CET, backup Bob",
        "🔁 Handoff: Alice is now on call for platform until Mon 30 Nov 09:00 CET, backup Bob",
    ]
    assert handoff_dms(harness, DAVE)[-1].startswith("🟢 You're now on call for platform until Wed 25 Nov 01:00 JST")
    assert handoff_dms(harness, ALICE)[-1].startswith("🟢 You're now on call for platform until Mon 30 Nov 09:00 CET")


async def test_the_scheduler_runs_the_job_every_minute(harness: Harness) -> None:
    job = harness.bot.scheduler.get_job(JOB_ID)
    assert job is not None and isinstance(job.trigger, IntervalTrigger)
    assert job.trigger.interval.total_seconds() == 60
