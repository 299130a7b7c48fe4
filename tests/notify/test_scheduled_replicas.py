"""Scheduled work with two replicas on one PostgreSQL database: each replica's own scheduler runs the
handoff, weekly summary and daily digest jobs (APScheduler's job store is in memory, never shared),
and each run is claimed in the database — a row unique per team and instant, per week, per day —
so however the two interleave, the channel gets one handoff post, the incoming person one DM, and
the summary channel one weekly summary and one daily digest."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from bot.clock import ManualClock
from bot.notify.daily_summary import run_due_digest
from bot.notify.handoff_posts import run_due_handoffs
from bot.notify.weekly_summary import run_due_summary
from bot.sandbox.slack import SlackStandIn
from tests.support.factories import BOB, make_config
from tests.support.harness import start_harness
from tests.support.visible import visible_text

pytestmark = pytest.mark.postgres
MONDAY_0900 = datetime(2026, 11, 30, 8, 0, 5, tzinfo=UTC)  # Berlin: platform's handoff (Alice → Bob), the summary


async def test_two_replicas_post_each_handoff_summary_and_digest_once(
        slack: SlackStandIn, clock: ManualClock, pg_url: str) -> None:
    config = make_config('daily_summary: {channel: ops-weekly, time: "08:30"}\n')
    clock.set(MONDAY_0900)
    async with start_harness(slack=slack, clock=clock, db_url=pg_url, config=config, background=False) as a, \
            start_harness(slack=slack, clock=clock, db_url=pg_url, config=config, background=False) as b:
        replicas = (a.bot.services, b.bot.services)
        handoffs, summaries, digests = 0, 0, 0
        for _ in range(3):  # the schedulers' next runs find each one done
            results = await asyncio.gather(*(job(svc) for svc in replicas
                                             for job in (run_due_handoffs, run_due_summary, run_due_digest)))
            handoffs += int(results[0]) + int(results[3])
            summaries += int(results[1]) + int(results[4])
            digests += int(results[2]) + int(results[5])
        await asyncio.gather(a.drain(), b.drain())
        await asyncio.gather(a.drain(), b.drain())  # the summary's chart goes into its thread
    assert (handoffs, summaries, digests) == (1, 1, 1)
    posts = [visible_text(m) for m in slack.messages("platform-alerts")]
    assert [p for p in posts if "Handoff:" in p] == [posts[0]] and "Bob is now on call for platform" in posts[0]
    assert len([m for m in slack.dms(BOB) if "You're now on call" in m.text]) == 1
    shown = [visible_text(m) for m in slack.messages("ops-weekly")]
    assert len(shown) == 2, shown
    assert sum("Weekly on-call summary" in text for text in shown) == 1
