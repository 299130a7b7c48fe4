"""Stopping the bot while it talks to Slack: the post in progress finishes and is recorded.

Before, shutdown cancelled the dispatcher mid-pass: the alert message was in Slack but its ts was
never stored (the next start would post it again), and aiosqlite's worker thread answered a loop
that had closed ("Event loop is closed").
"""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy import select

from bot.alerts.models import AlertGroup
from bot.clock import ManualClock
from bot.db import create_engine, session_factory
from bot.sandbox.slack import SlackStandIn
from tests.support.factories import am_notification
from tests.support.harness import start_harness
from tests.support.visible import visible_text


async def test_stopping_mid_post_lets_the_post_finish_and_records_it(
        slack: SlackStandIn, clock: ManualClock, db_url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    held = slack.hold("chat.postMessage")
    async with start_harness(slack=slack, clock=clock, db_url=db_url) as h:  # the dispatcher runs on its own
        status, body = await h.alertmanager(am_notification())
        assert status == 202, body
        await asyncio.wait_for(held.reached.wait(), timeout=10)  # the post is with Slack, unanswered
        dispatcher = h.bot.dispatcher
        stop = dispatcher.stop

        def stop_then_answer() -> None:  # Slack answers only once the bot has been told to stop
            stop()
            held.release()

        dispatcher.stop = stop_then_answer  # type: ignore[method-assign]
    # The harness has stopped the bot.
    [message] = slack.messages("platform-alerts")
    assert "HighErrorRate" in visible_text(message)
    engine = create_engine(db_url)
    try:
        async with session_factory(engine)() as s:
            assert await s.scalar(select(AlertGroup.slack_ts)) == message.ts
    finally:
        await engine.dispose()
    problems = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert problems == []
