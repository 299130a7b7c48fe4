"""With replicas on PostgreSQL, two transactions can lock the same rows in opposite orders (a replica
storing a repeat of an alert locks its group, then the alert; a click or a storm fold on another
replica can hold the alert and want the group). PostgreSQL then rolls one back to let the other
through. A webhook whose transaction was the one rolled back is stored all the same, not a 500."""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from bot.alerts.models import Alert, AlertGroup
from bot.clock import ManualClock
from bot.sandbox.slack import SlackStandIn
from tests.support.factories import am_alert, am_notification
from tests.support.harness import start_harness
from tests.web.hostile import tracebacks


async def _waiting_for_a_lock(watch: AsyncConnection) -> None:
    """Until a backend of this database waits for a row lock (the bot's ingest, blocked by ``other``)."""
    for _ in range(500):
        waiting = await watch.scalar(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"))
        if waiting:
            return
        await asyncio.sleep(0.02)  # polling the server's own account of who waits; bounded at 10 s
    raise AssertionError("the webhook's transaction never waited for the alert's row lock")


async def test_a_webhook_postgresql_rolled_back_to_break_a_deadlock_is_stored_all_the_same(
        slack: SlackStandIn, clock: ManualClock, pg_url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "bot.db")
    async with start_harness(slack=slack, clock=clock, db_url=pg_url, background=False) as h:
        assert (await h.alertmanager(am_notification(am_alert("DiskFull", fingerprint="disk-1"))))[0] == 202
        async with h.bot.services.sessions() as s:
            alert = await s.scalar(select(Alert))
            assert alert is not None
            alert_id, group_id = alert.id, alert.group_id
        engine = create_async_engine(pg_url)
        try:
            async with engine.connect() as other, engine.connect() as watch:
                await other.begin()
                # This backend waits a minute before it looks for a deadlock; the bot's, the server's
                # default second. So the bot's transaction is the one PostgreSQL rolls back.
                await other.execute(text("SET LOCAL deadlock_timeout = '60s'"))
                await other.execute(update(Alert).where(Alert.id == alert_id).values(count=Alert.count))
                repeat = am_alert("DiskFull", fingerprint="disk-1", summary="disk 97% full")
                webhook = asyncio.create_task(h.alertmanager(am_notification(repeat)))
                await _waiting_for_a_lock(watch)  # the bot holds the group and waits for the alert
                await other.execute(update(AlertGroup).where(AlertGroup.id == group_id)
                                    .values(version=AlertGroup.version))  # the cycle: one of us must go
                await other.commit()
                status, body = await webhook
        finally:
            await engine.dispose()
        assert status == 202, body
        async with h.bot.services.sessions() as s:
            stored = await s.get_one(Alert, alert_id)
            assert (stored.count, stored.annotations["summary"]) == (2, "disk 97% full")
            assert await s.scalar(select(func.count()).select_from(Alert)) == 1
    assert "lost a deadlock to another transaction; running it again (attempt 2 of 3)" in caplog.text
    assert tracebacks(caplog) == []
