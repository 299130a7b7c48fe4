"""Scheduled work with two replicas on one PostgreSQL database: each replica's own scheduler runs the
handoff, weekly summary and daily digest jobs (APScheduler's job store is in memory, never shared),
and each run is claimed in the database — a row unique per team and instant, per week, per day —
so however the two interleave, the channel gets one handoff post, the incoming person one DM, and
the summary channel one weekly summary and one daily digest. Retention needs no claim: two replicas
pruning at once both finish."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.alerts.models import AlertGroup
from bot.clock import ManualClock
from bot.db import create_engine, session_factory
from bot.notify.daily_summary import run_due_digest
from bot.notify.handoff_posts import run_due_handoffs
from bot.notify.weekly_summary import run_due_summary
from bot.retention import Pruner
from bot.sandbox.slack import SlackStandIn
from tests.support.factories import BOB, make_config
from tests.support.harness import start_harness
from tests.support.history import seed_year
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


async def test_two_replicas_pruning_at_once_both_finish_and_leave_what_is_kept(pg_url: str) -> None:
    """Each replica's daily retention job may run at the same moment as another's: they delete the same
    rows in the same order, and the second finds less (or nothing) left. Neither fails."""
    config = make_config("retention: {alerts: 30d, incidents: 30d}\n")
    now = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    engines = [create_engine(pg_url), create_engine(pg_url)]
    try:
        await seed_year(session_factory(engines[0]), now, alerts=600)
        pruners = [Pruner(sessions=session_factory(e), clock=ManualClock(now), retention=config.retention, batch=50)
                   for e in engines]
        reports = await asyncio.gather(*(p.run() for p in pruners))
        async with session_factory(engines[0])() as s:
            oldest = await s.scalar(select(func.min(AlertGroup.created_at)).where(AlertGroup.status == "resolved"))
            kept = await s.scalar(select(func.count()).select_from(AlertGroup))
    finally:
        for e in engines:
            await e.dispose()
    assert sum(r.total for r in reports) > 0
    assert oldest is not None and oldest >= now - timedelta(days=31)
    assert kept is not None and 0 < kept < 600
