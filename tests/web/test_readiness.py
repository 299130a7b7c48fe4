"""/readyz over real HTTP: what makes a replica unready (database, a stalled loop, an unreadable
calendar) is named; Slack's state is reported but leaves ingest ready."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from bot.clock import ManualClock
from bot.config import parse_config
from bot.sandbox.slack import SlackStandIn
from tests.support.factories import TOKENS, am_alert, am_notification, config_text
from tests.support.harness import Harness, start_harness


async def ready(h: Harness) -> tuple[int, Any]:
    async with h.http.get(h.url + "/readyz") as resp:
        return resp.status, await resp.json()


async def test_ready_reports_each_loop_and_slack(harness: Harness) -> None:
    status, body = await ready(harness)
    assert status == 200 and body["status"] == "ready" and body["problems"] == {}
    assert set(body["loops"]) == {"escalation_runner", "dispatcher", "scheduler"}
    assert all(loop["ok"] and loop["seconds_ago"] < 60 for loop in body["loops"].values()), body
    assert body["slack"] == {"ok": True}


async def test_slack_down_leaves_the_replica_ready_for_webhooks(harness: Harness) -> None:
    harness.slack.fail_next("auth.test", status=503)
    status, body = await ready(harness)
    assert status == 200, body
    assert body["slack"] == {"ok": False, "error": "service_unavailable"} and body["problems"] == {}
    code, _ = await harness.alertmanager(am_notification(am_alert()))  # what a load balancer lets through
    assert code == 202
    harness.slack.fail_next("auth.test", error="invalid_auth")  # a revoked token is said, not hidden
    assert (await ready(harness))[1]["slack"] == {"ok": False, "error": "invalid_auth"}
    assert (await ready(harness))[1]["slack"] == {"ok": True}  # the token works again


async def test_a_stalled_dispatcher_makes_the_replica_unready(harness: Harness) -> None:
    dispatcher = harness.bot.dispatcher
    async with dispatcher._lock:  # the dispatcher's loop is stuck: it cannot start another pass
        dispatcher.heartbeat.now = lambda: time.monotonic() + 3600  # an hour goes by without a pass
        status, body = await ready(harness)
    assert status == 503
    assert list(body["problems"]) == ["dispatcher"]
    assert body["problems"]["dispatcher"].startswith("stalled: no pass for 3600 s")
    assert body["loops"]["dispatcher"]["ok"] is False and body["loops"]["escalation_runner"]["ok"] is True


async def test_a_stopped_scheduler_makes_the_replica_unready(harness: Harness) -> None:
    """The scheduler runs the handoffs and the weekly summary; a replica whose scheduler stopped says so."""
    harness.bot.scheduler.shutdown(wait=False)
    try:
        status, body = await ready(harness)
    finally:
        harness.bot.scheduler.start()  # the bot's own shutdown stops it again
    assert status == 503
    assert body["problems"] == {"scheduler": "not running"}
    assert (await ready(harness))[0] == 200


async def test_an_unreadable_calendar_makes_the_replica_unready(
        slack: SlackStandIn, clock: ManualClock, db_url: str, tmp_path: Path) -> None:
    ics = tmp_path / "payments.ics"
    ics.write_text("this is not a calendar")
    text = config_text().replace("    channel: payments-alerts\n",
                                 f"    channel: payments-alerts\n    schedule: {{ical: {ics}}}\n")
    async with start_harness(slack=slack, clock=clock, db_url=db_url, config=parse_config(text, env=TOKENS)) as h:
        status, body = await ready(h)
    assert status == 503
    assert list(body["problems"]) == ["calendar:payments"]
    assert str(ics) in body["problems"]["calendar:payments"]


async def test_an_unreachable_database_makes_the_replica_unready(harness: Harness, db_url: str) -> None:
    path = Path(db_url.removeprefix("sqlite+aiosqlite:///"))
    os.replace(path, path.with_suffix(".moved"))
    os.mkdir(path)  # where the database was, SQLite now finds a directory it cannot open
    await harness.bot.services.engine.dispose()  # drop pooled connections to the moved file
    try:
        status, body = await ready(harness)
    finally:
        os.rmdir(path)
        os.replace(path.with_suffix(".moved"), path)
    assert status == 503
    assert body["problems"]["database"].startswith("unreachable: OperationalError"), body
