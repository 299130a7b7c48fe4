"""When the weekly summary goes out: on schedule, once per week across restarts, one catch-up after downtime."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.triggers.cron import CronTrigger

from bot.clock import ManualClock
from bot.notify.handoff_posts import JOB_ID as HANDOFF_JOB_ID
from bot.notify.weekly_summary import CHECK_JOB_ID, CRON_JOB_ID, run_due_summary
from bot.retention import FIRST_RUN_AFTER as RETENTION_FIRST_RUN
from bot.retention import JOB_ID as RETENTION_JOB_ID
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
        job = h.bot.scheduler.get_job(CRON_JOB_ID)
        assert isinstance(job.trigger, CronTrigger)
        assert str(job.trigger) == "cron[day_of_week='fri', hour='16', minute='30']"
        assert str(job.trigger.timezone) == "America/New_York"
        # The due week follows the same settings.
        clock.set(datetime(2026, 11, 27, 21, 30, tzinfo=UTC))  # Fri 16:30 in New York
        assert await run_due_summary(h.bot.services)
        await h.drain()
        [message] = h.slack.messages("ops-weekly")
    assert visible_text(message).splitlines()[1].startswith("Fri 20 Nov 16:30 EST → Fri 27 Nov 16:30 EST")


# Built in a process whose clock libfaketime sets to the repeated hour of a fall-back night; what
# it prints is, for each interval job, how long after "now" its first run is.
_FIRST_RUNS = """
import json
from datetime import UTC, datetime
from apscheduler.triggers.interval import IntervalTrigger
from bot.app import background_scheduler, create_bot
from bot.clock import SystemClock
from bot.config import Settings
from tests.support.factories import make_config

settings = Settings(slack_bot_token="xoxb-x", slack_signing_secret="s", database_url="sqlite+aiosqlite:///:memory:")
bot = create_bot(settings, make_config(), clock=SystemClock())
now = datetime.now(UTC)
jobs = background_scheduler(bot.services, run_background=True).get_jobs()
print(json.dumps({"now": now.isoformat(), "after": {
    job.id: [(job.trigger.get_next_fire_time(None, now) - now).total_seconds(), job.trigger.interval_length]
    for job in jobs if isinstance(job.trigger, IntervalTrigger)}}))
"""


@pytest.mark.skipif(shutil.which("faketime") is None, reason="needs libfaketime (apt-get install faketime)")
def test_the_catch_up_check_waits_its_interval_when_started_as_clocks_go_back() -> None:
    """Started at 02:30 CET on the night Berlin goes from CEST back to CET, the catch-up check
    (and every other interval job) must first run one interval later, not at once: run at once it
    raced whatever the bot was doing at start-up."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAKETIME") and k != "LD_PRELOAD"}
    env.update(TZ="UTC", FAKETIME_DONT_RESET="1")
    done = subprocess.run(["faketime", "-f", "@2027-10-31 01:30:00", sys.executable, "-c", _FIRST_RUNS],
                          capture_output=True, text=True, timeout=120, env=env, cwd=Path(__file__).parents[2])
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    now = datetime.fromisoformat(shown["now"])
    assert datetime(2027, 10, 31, 1, 0, tzinfo=UTC) <= now < datetime(2027, 10, 31, 2, 0, tzinfo=UTC)
    assert set(shown["after"]) == {CHECK_JOB_ID, HANDOFF_JOB_ID, RETENTION_JOB_ID}
    first_after, _ = shown["after"].pop(RETENTION_JOB_ID)  # the daily pruning: first run soon after start, not a day
    assert abs(first_after - RETENTION_FIRST_RUN.total_seconds()) < 5, shown
    for first_after, interval in shown["after"].values():
        assert abs(first_after - interval) < 5, shown
