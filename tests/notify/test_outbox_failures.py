"""Every outbox row ends sent, or failed after its attempts — said in the alert's thread, in the log
and in /metrics — and never waits forever; a kind nothing would send stops the bot at start."""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import insert, literal, select

from bot.app import create_bot
from bot.clock import ManualClock
from bot.config import Settings
from bot.db import transaction
from bot.notify.dispatch import MissingOutboxHandlers
from bot.outbox import OutboxKind, OutboxMessage
from bot.sandbox.slack import SlackStandIn
from tests.escalation.paging import fire, thread_texts
from tests.support.factories import make_config
from tests.support.harness import SIGNING_SECRET, Harness


async def _row(h: Harness, kind: str) -> OutboxMessage:
    async with h.bot.services.sessions() as s:
        return (await s.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind))).one()


async def _metrics(h: Harness) -> str:
    async with h.http.get(h.url + "/metrics") as resp:
        assert resp.status == 200
        return await resp.text()


def _sample(metrics: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)} (\S+)$", metrics, re.MULTILINE)
    assert match, f"{name} is not in /metrics"
    return float(match.group(1))


async def test_a_handler_bug_is_retried_counted_then_failed_and_said_in_the_alerts_thread(
        pager: Harness, caplog: pytest.LogCaptureFixture) -> None:
    async def broken(item: OutboxMessage) -> dict[str, Any]:
        raise ValueError("template field 'runbook' is not a string")

    pager.bot.dispatcher.handlers[OutboxKind.PAGE_SLACK] = broken
    caplog.set_level(logging.INFO)
    msg = await fire(pager)

    # The broken row did not stop the rest of its batch: the thread reply about the page went out.
    assert thread_texts(pager, msg) == ["📟 Paging <@U0ALICE01> (step 1)"]
    row = await _row(pager, OutboxKind.PAGE_SLACK)
    assert (row.attempts, row.failed_at, row.sent_at) == (1, None, None)
    assert row.last_error == "ValueError: template field 'runbook' is not a string"

    pager.clock.advance(timedelta(seconds=2))  # the backoff after attempt 1
    await pager.drain()
    assert (await _row(pager, OutboxKind.PAGE_SLACK)).attempts == 2
    assert _sample(await _metrics(pager), "watchstander_outbox_oldest_pending_seconds") == 2.0

    pager.clock.advance(timedelta(seconds=4))  # the backoff after attempt 2; a bug gets three
    await pager.drain()
    row = await _row(pager, OutboxKind.PAGE_SLACK)
    assert row.attempts == 3 and row.failed_at == pager.clock.now() and row.claimed_until is None
    assert thread_texts(pager, msg)[-1] == (
        "⚠️ Watchstander gave up sending a page by Slack DM after 3 attempt(s): ValueError. "
        f"The bot's log has the details (outbox row #{row.id}).")
    assert pager.slack.dms("U0ALICE01") == []

    metrics = await _metrics(pager)
    assert _sample(metrics, 'watchstander_outbox_failed_total{kind="page_slack"}') == 1.0
    assert _sample(metrics, 'watchstander_outbox_failed_total{kind="page_sms"}') == 0.0
    assert _sample(metrics, "watchstander_outbox_oldest_pending_seconds") == 0.0
    failed = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert failed == [f"outbox row #{row.id} (page_slack) failed after 3 attempt(s): "
                      "ValueError: template field 'runbook' is not a string"]
    assert "Traceback" not in caplog.text

    pager.clock.advance(timedelta(minutes=1))
    await pager.drain()
    assert (await _row(pager, OutboxKind.PAGE_SLACK)).attempts == 3  # failed is the end of it


async def test_a_row_of_a_kind_nobody_handles_is_retried_then_failed_not_left_waiting(harness: Harness) -> None:
    now = harness.clock.now()
    async with transaction(harness.bot.services.sessions) as s:
        # What an older or newer replica might have written: a kind this version does not know.
        # (So not an OutboxKind: the row is written past the model, as the other version would.)
        await s.execute(insert(OutboxMessage).values(key="x:1", kind=literal("made_up"), payload={}, created_at=now,
                                                     due_at=now))
    for _ in range(8):
        await harness.drain()
        harness.clock.advance(timedelta(minutes=5))
    async with harness.bot.services.sessions() as s:  # such a row is read by its columns only
        row = (await s.execute(select(OutboxMessage.attempts, OutboxMessage.failed_at, OutboxMessage.sent_at,
                                      OutboxMessage.last_error).where(OutboxMessage.key == "x:1"))).one()
    assert row.attempts == 8 and row.failed_at is not None and row.sent_at is None
    assert row.last_error == "no handler for outbox kind 'made_up'"
    assert _sample(await _metrics(harness), 'watchstander_outbox_failed_total{kind="made_up"}') == 1.0


async def test_the_bot_will_not_start_with_an_outbox_kind_nothing_sends(
        slack: SlackStandIn, clock: ManualClock, db_url: str) -> None:
    settings = Settings(slack_bot_token=slack.bot_token, slack_signing_secret=SIGNING_SECRET,
                        slack_api_url=slack.api_url, database_url=db_url, port=0)
    bot = create_bot(settings, make_config(), clock=clock)
    del bot.dispatcher.handlers[OutboxKind.INCIDENT_NUDGE]
    runner = web.AppRunner(bot.web)
    with pytest.raises(MissingOutboxHandlers) as refused:
        await runner.setup()
    assert str(refused.value) == ("no outbox handler registered for kind(s) incident_nudge; "
                                  "rows of these kinds would never be sent")
    await runner.cleanup()
