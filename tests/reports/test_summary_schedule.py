"""When the weekly summary goes out: on schedule, once per week across restarts, one catch-up after downtime."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from apscheduler.triggers.cron import CronTrigger

from bot.clock import ManualClock
from bot.notify.weekly_summary import CRON_JOB_ID, run_due_summary
from bot.sandbox.slack import SlackStandIn
from tests.reports.week import DUE
from tests.support.factories import make_config
from tests.support.harness import Harness, start_harness
from tests.support.visible import visible_text


def summaries(h: Harness) -> list[str]:
    return [visible_text(m) for m in h.slack.messages("ops-weekly")]


async def test_running_twice_and_restarting_post_the_week_once(
        harness: Harness, slack: SlackStandIn, clock: ManualClock, db_url: str) -> None:
    clock.set(DUE + timedelta(seconds=5))
    assert await run_due_summary(harness.bot.services)
    assert not await run_due_summary(harness.bot.services)  # the catch-up check, a minute later
    await harness.drain()
    assert len(summaries(harness)) == 1
    # A restart (a new process on the same database) during the same week posts nothing more.
    clock.advance(timedelta(days=3))
    async with start_harness(slack=slack, clock=clock, db_url=db_url) as restarted:
        assert not await run_due_summary(restarted.bot.services)
        await restarted.drain()
    assert len(summaries(harness)) == 1
    # The next Monday's is a new week.
    clock.set(DUE + timedelta(days=7))
    assert await run_due_summary(harness.bot.services)
    await harness.drain()
    assert [s.splitlines()[1].split(" · ")[0] for s in summaries(harness)] == [
        "Mon 16 Nov 09:00 CET → Mon 23 Nov 09:00 CET",
        "Mon 23 Nov 09:00 CET → Mon 30 Nov 09:00 CET",
    ]


async def test_downtime_across_two_mondays_catches_up_with_one_late_post(harness: Harness) -> None:
    harness.clock.set(DUE - timedelta(days=7))  # Mon 16 Nov 09:00 Berlin: on time
    assert await run_due_summary(harness.bot.services)
    await harness.drain()
    # Down from then until Tuesday 1 Dec: the summaries of 23 and 30 Nov were never posted.
    harness.clock.set(datetime(2026, 12, 1, 13, 0, tzinfo=UTC))
    assert await run_due_summary(harness.bot.services)
    assert not await run_due_summary(harness.bot.services)
    await harness.drain()
    posted = summaries(harness)
    assert len(posted) == 2
    assert posted[1].splitlines()[1] == (
        "Mon 23 Nov 09:00 CET → Mon 30 Nov 09:00 CET · compared with the week before · "
        "⏰ posted late: Watchstander was not running at Mon 30 Nov 09:00 CET"
    )
    assert "posted late" not in posted[0]


async def test_the_cron_job_runs_at_the_configured_weekday_time_and_zone(
        slack: SlackStandIn, clock: ManualClock, db_url: str) -> None:
    config = make_config('summary: {weekday: fri, time: "16:30", timezone: America/New_York}\n')
    async with start_harness(slack=slack, clock=clock, db_url=db_url, config=config) as h:
        job = h.bot.services.extras["scheduler"].get_job(CRON_JOB_ID)
        assert isinstance(job.trigger, CronTrigger)
        assert str(job.trigger) == "cron[day_of_week='fri', hour='16', minute='30']"
        assert str(job.trigger.timezone) == "America/New_York"
        # The due week follows the same settings.
        clock.set(datetime(2026, 11, 27, 21, 30, tzinfo=UTC))  # Fri 16:30 in New York
        assert await run_due_summary(h.bot.services)
        await h.drain()
        [message] = h.slack.messages("ops-weekly")
    assert visible_text(message).splitlines()[1].startswith("Fri 20 Nov 16:30 EST → Fri 27 Nov 16:30 EST")
