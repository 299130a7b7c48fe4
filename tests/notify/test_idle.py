"""An idle bot does not look for work on a timer: each loop sleeps until its next deadline (a row due
later, a backoff, a rate limit's end), woken at once by what this process commits. On SQLite the one
process sees every change, so the idle poll is only a 15 s safety net; replicas on PostgreSQL look
every 2 s for each other's work. A loop asleep until its deadline is not reported stalled."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from bot.alerts.models import AlertGroup
from bot.db import transaction
from bot.heartbeat import Heartbeat
from bot.outbox import ChannelPost, OutboxKind, enqueue
from bot.sandbox.slack import SlackStandIn
from tests.support.factories import am_alert, am_notification
from tests.support.harness import Harness, start_harness


async def test_an_idle_dispatcher_sleeps_until_its_next_row_or_backoff_is_due(harness: Harness) -> None:
    h, dispatcher = harness, harness.bot.dispatcher
    assert await dispatcher.idle_delay() == 15.0  # nothing pending: only the safety net
    async with transaction(h.bot.services.sessions) as s:
        await enqueue(s, key="later", kind=OutboxKind.CHANNEL_POST, now=h.clock.now(),
                      due_at=h.clock.now() + timedelta(seconds=5),
                      payload=ChannelPost(channel="platform-alerts", what="test", text="in 5 s"))
    assert await dispatcher.idle_delay() == 5.0
    h.clock.advance(timedelta(seconds=5))
    await h.drain()
    assert [m.text for m in h.slack.messages("platform-alerts")] == ["in 5 s"]
    assert await dispatcher.idle_delay() == 15.0

    code, _ = await h.alertmanager(am_notification(am_alert()))
    assert code == 202
    async with transaction(h.bot.services.sessions) as s:  # Slack said wait 8 s before this message
        await s.execute(update(AlertGroup).values(sync_claimed_until=h.clock.now() + timedelta(seconds=8)))
    assert await dispatcher.idle_delay() == 8.0
    await h.drain()  # the alert's first step runs; its next is 5 minutes away
    assert await h.bot.paging.runner._seconds_to_next(0) == 15.0  # asleep until then, but for the net


@pytest.mark.postgres
async def test_replicas_look_for_each_others_work_every_2_s(slack: SlackStandIn, clock, pg_url: str) -> None:  # type: ignore[no-untyped-def]
    async with start_harness(slack=slack, clock=clock, db_url=pg_url) as h:
        assert await h.bot.dispatcher.idle_delay() == 2.0
        assert await h.bot.paging.runner._seconds_to_next(0) == 2.0


def test_a_loop_asleep_until_its_deadline_is_not_stalled_and_one_past_it_is() -> None:
    now = [1000.0]
    beat = Heartbeat(2.0, now=lambda: now[0])
    beat.tick(asleep_for=15.0)
    now[0] += 74.0
    assert not beat.beat().stale  # 15 s asleep and the usual 60 s allowance
    now[0] += 2.0
    assert beat.beat().stale and beat.beat().stale_after == 75.0
