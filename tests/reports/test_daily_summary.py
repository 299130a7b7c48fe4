"""The daily digest as the team reads it in #ops at 08:30 Berlin time: on time, once a day across
restarts, late after downtime but not too late, a daylight-saving day, and no test alerts.

The seeded day and every expected line are in :mod:`tests.reports.day`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import select

from bot.clock import ManualClock
from bot.config import Config, Retention
from bot.db import transaction
from bot.notify.daily_summary import CHECK_JOB_ID, CRON_JOB_ID, MAX_LATE, run_due_digest
from bot.outbox import OutboxMessage
from bot.sandbox.slack import SlackStandIn
from tests.reports import seed
from tests.reports.day import CHECKS, DUE, at, seed_day
from tests.support.factories import am_alert, am_notification, make_config
from tests.support.harness import Harness, start_harness
from tests.support.visible import visible_text

API_TOKEN = "api-token-0123456789"


@pytest.fixture
def config() -> Config:
    return make_config(CHECKS)


@pytest.fixture
async def harness(slack: SlackStandIn, clock: ManualClock, db_url: str, config: Config) -> AsyncIterator[Harness]:
    slack.add_channel("ops")
    async with start_harness(slack=slack, clock=clock, db_url=db_url, config=config, background=False) as h:
        yield h


def digests(h: Harness) -> list[str]:
    return [visible_text(m) for m in h.slack.messages("ops")]


async def post_digest(h: Harness) -> str:
    assert await run_due_digest(h.bot.services)
    await h.drain()
    [message] = h.slack.messages("ops")
    return visible_text(message)


async def test_the_digest_is_posted_at_0830_berlin_with_every_section(harness: Harness) -> None:
    await seed_day(harness.bot.services.sessions)
    harness.clock.set(DUE - timedelta(minutes=1))  # 08:29: nothing is due yet (yesterday's is too old)
    assert not await run_due_digest(harness.bot.services)
    await harness.drain()
    assert digests(harness) == []
    harness.clock.set(DUE)
    text = await post_digest(harness)
    assert text.startswith("☀️ Daily digest — Thu 3 Dec\n"
                           "Wed 2 Dec 00:00 CET → Thu 3 Dec 00:00 CET · as of Thu 3 Dec 08:30 CET\n")
    assert "late" not in text
    assert ("*📥 Yesterday*: 5 alerts — 🔴 1 critical · 🟠 1 high · 🟡 1 medium · 🔵 2 low\n"
            "• 🔴 PaymentsDown (payments) — resolved · raised 10:00\n"
            "• 🟠 SlowResponses (platform) — acknowledged · raised 13:00\n"
            "• 🟡 QueueBacklog (platform) — firing · raised 23:59\n"
            "• 🔵 MidnightBackup (platform) — resolved · raised 00:00\n"
            "• 🔵 DiskCleanup (platform) — resolved · raised 16:00\n") in text
    assert ("*🚨 Open now*: 4 — 🟠 2 high · 🟡 1 medium · ⚪ 1 info\n"
            "• 🟠 BackupFailed (platform) — firing, open 2d 21h\n"
            "• 🟠 SlowResponses (platform) — acknowledged, open 19h 30m\n"
            "• 🟡 QueueBacklog (platform) — firing, open 8h 31m\n"
            "• ⚪ EarlyThursday (platform) — firing, open 8h 30m\n") in text
    assert ("*📟 On call today*\n"
            "*platform* — primary Bob until 12:00, then Alice (override) until 13:00, then Bob until "
            "Mon 7 Dec 09:00 CET; backup Carol until Mon 7 Dec 09:00 CET\n"
            "*payments* — primary Dave (override) from 14:00 until 18:00\n") in text
    assert text.endswith("*🩺 Checks*\n"
                         "• 🔴 *api-health* (platform) — down 2h 30m, since 06:00: HTTP 503\n"
                         "• 🔒 *shop-tls* (shop.example.com:443) — certificate expires Sun 20 Dec 2026 (in 17 days)")
    for absent in ("LateTuesday", "Watchstander test alert", "internal-db", "cdn-tls", "<@"):
        assert absent not in text
    [message] = harness.slack.messages("ops")
    assert message.text == "Daily digest Thu 3 Dec: 4 open, 5 yesterday, 1 check down, 1 certificate expiring"


async def test_posted_once_when_run_twice_and_after_a_restart(harness: Harness, slack: SlackStandIn,
                                                              clock: ManualClock, db_url: str,
                                                              config: Config) -> None:
    clock.set(DUE + timedelta(seconds=5))
    assert await run_due_digest(harness.bot.services)
    assert not await run_due_digest(harness.bot.services)  # the catch-up check, a few minutes later
    await harness.drain()
    assert len(digests(harness)) == 1
    clock.advance(timedelta(hours=2))
    async with start_harness(slack=slack, clock=clock, db_url=db_url, config=config, background=False) as restarted:
        assert not await run_due_digest(restarted.bot.services)
        await restarted.drain()
    assert len(digests(harness)) == 1
    clock.set(DUE + timedelta(days=1))  # Friday's is a new day
    assert await run_due_digest(harness.bot.services)
    await harness.drain()
    assert [d.splitlines()[0] for d in digests(harness)] == ["☀️ Daily digest — Thu 3 Dec",
                                                              "☀️ Daily digest — Fri 4 Dec"]
    assert "🌙 *A quiet day*: no alerts yesterday, nothing open, no check down." in digests(harness)[1]
    async with harness.bot.services.sessions() as s:
        keys = list(await s.scalars(select(OutboxMessage.key).where(OutboxMessage.key.startswith("daily:"))))
    assert sorted(keys) == ["daily:2026-12-03", "daily:2026-12-03:email", "daily:2026-12-04", "daily:2026-12-04:email"]


async def test_after_downtime_a_late_digest_says_so_and_one_too_late_is_skipped(harness: Harness) -> None:
    harness.clock.set(DUE + timedelta(hours=3))  # down from 08:00 to 11:30
    text = await post_digest(harness)
    assert text.splitlines()[1] == ("Wed 2 Dec 00:00 CET → Thu 3 Dec 00:00 CET · as of Thu 3 Dec 11:30 CET · "
                                    "⏰ sent late: Watchstander was not running at Thu 3 Dec 08:30 CET")
    harness.clock.set(DUE + timedelta(days=1) + MAX_LATE + timedelta(minutes=1))  # Friday 20:31: skipped
    assert not await run_due_digest(harness.bot.services)
    harness.clock.set(DUE + timedelta(days=2))  # Saturday's comes as usual
    assert await run_due_digest(harness.bot.services)
    await harness.drain()
    assert [d.splitlines()[0] for d in digests(harness)] == ["☀️ Daily digest — Thu 3 Dec",
                                                              "☀️ Daily digest — Sat 5 Dec"]


def test_a_day_can_no_longer_be_due_once_its_rows_may_be_pruned() -> None:
    """The once-a-day key lives in the outbox: a sent row is kept at least a day, longer than a digest can be late."""
    assert timedelta(days=1) > MAX_LATE
    with pytest.raises(ValueError, match="at least 1d"):
        Retention(outbox=timedelta(hours=23))


async def test_a_daylight_saving_day_is_25_hours_and_the_digest_still_comes_at_0830(
        slack: SlackStandIn, clock: ManualClock, db_url: str) -> None:
    slack.add_channel("ops")
    config = make_config('daily_summary: {channel: ops, time: "08:30"}\n')
    async with start_harness(slack=slack, clock=clock, db_url=db_url, config=config) as h:
        job = h.bot.scheduler.get_job(CRON_JOB_ID)
        assert isinstance(job.trigger, CronTrigger) and h.bot.scheduler.get_job(CHECK_JOB_ID) is not None
        assert str(job.trigger) == "cron[hour='8', minute='30']" and str(job.trigger.timezone) == "Europe/Berlin"
        # 08:30 CEST on Saturday, then 08:30 CET on Sunday after the clocks went back.
        saturday = datetime(2026, 10, 24, 6, 30, tzinfo=UTC)
        assert job.trigger.get_next_fire_time(None, saturday - timedelta(hours=1)) == saturday
        assert job.trigger.get_next_fire_time(saturday, saturday + timedelta(minutes=1)) == datetime(
            2026, 10, 25, 7, 30, tzinfo=UTC)
        async with transaction(h.bot.services.sessions) as s:
            for when in (datetime(2026, 10, 24, 21, 59, tzinfo=UTC), datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
                         datetime(2026, 10, 25, 1, 30, tzinfo=UTC), datetime(2026, 10, 25, 22, 59, tzinfo=UTC)):
                await seed.alert(s, f"Disk{when:%H%M}", "high", when, resolved_after=timedelta(minutes=1))
        clock.set(datetime(2026, 10, 26, 7, 30, tzinfo=UTC))  # Monday 08:30 CET
        text = await post_digest(h)
    assert text.splitlines()[1] == "Sun 25 Oct 00:00 CEST → Mon 26 Oct 00:00 CET · as of Mon 26 Oct 08:30 CET"
    assert ("*📥 Yesterday*: 3 alerts — 🟠 3 high\n"  # 21:59Z on the 24th was Saturday 23:59 CEST
            "• 🟠 Disk0030 (platform) — resolved · raised 02:30\n"  # 02:30 CEST
            "• 🟠 Disk0130 (platform) — resolved · raised 02:30\n"  # and 02:30 CET, an hour later
            "• 🟠 Disk2259 (platform) — resolved · raised 23:59\n") in text


async def test_a_test_alert_is_not_counted(slack: SlackStandIn, clock: ManualClock, db_url: str) -> None:
    slack.add_channel("ops")
    config = make_config("daily_summary: {channel: ops}\n")
    async with start_harness(slack=slack, clock=clock, db_url=db_url, config=config,
                             settings={"api_token": API_TOKEN}) as h:
        clock.set(at(2, 10))
        status, answer = await h.post("/api/test", {"keep_open": True, "wait_seconds": 5}, token=API_TOKEN)
        assert status in (200, 502), answer  # 502: no Twilio here, so the SMS hop is skipped
        assert answer["resolved"] is False
        status, _ = await h.alertmanager(am_notification(am_alert(starts_at="2026-12-02T10:00:00Z")))
        assert status == 202
        await h.drain()
        clock.set(DUE)
        text = await post_digest(h)
    assert "*📥 Yesterday*: 1 alert — 🔴 1 critical\n• 🔴 HighErrorRate (platform) — firing · raised 11:00" in text
    assert "*🚨 Open now*: 1 — 🔴 1 critical\n" in text
    assert "test" not in text.lower()
