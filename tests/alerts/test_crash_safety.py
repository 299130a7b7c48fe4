"""No alert that got a 2xx is lost, also across `kill -9`: after restart it is there and posted once."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import aiohttp

from bot.sandbox.slack import SlackStandIn
from tests.support.factories import TOKENS, am_alert, am_notification
from tests.support.process import free_port, start_bot, write_config
from tests.support.visible import visible_text


async def _post_alerts(url: str, n: int) -> None:
    async with aiohttp.ClientSession() as http:
        for i in range(n):
            payload = am_notification(am_alert(f"DiskFull{i}", fingerprint=f"fp-{i}"), group_key=f"g{i}")
            async with http.post(f"{url}/alerts/alertmanager", json=payload,
                                 headers={"Authorization": f"Bearer {TOKENS['AM_TOKEN']}"}) as resp:
                assert resp.status == 202, await resp.text()


def _stored_titles(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [r[0] for r in conn.execute("SELECT title FROM alerts ORDER BY id")]


async def test_kill_9_right_after_202_while_slack_is_unreachable(tmp_path: Path, slack: SlackStandIn) -> None:
    db, config = tmp_path / "w.db", write_config(tmp_path)
    dead_slack = f"http://127.0.0.1:{free_port()}/api/"  # nothing listens there
    bot = await start_bot(db_path=db, config_path=config, slack_api_url=dead_slack)
    await _post_alerts(bot.url, 3)
    await bot.kill9()
    assert _stored_titles(db) == ["DiskFull0", "DiskFull1", "DiskFull2"]

    bot = await start_bot(db_path=db, config_path=config, slack_api_url=slack.api_url)
    try:
        await slack.wait_for(lambda: len(slack.messages("platform-alerts")) == 3, timeout=30)
    finally:
        await bot.stop()
    titles = sorted(visible_text(m).split("\n")[0] for m in slack.messages("platform-alerts"))
    assert titles == ["🔴 DiskFull0", "🔴 DiskFull1", "🔴 DiskFull2"]


async def test_kill_9_mid_flight_never_posts_twice(tmp_path: Path, slack: SlackStandIn) -> None:
    db, config = tmp_path / "w.db", write_config(tmp_path)
    bot = await start_bot(db_path=db, config_path=config, slack_api_url=slack.api_url)
    await _post_alerts(bot.url, 5)
    await bot.kill9()  # some messages may be out, some not, one may be out but not yet recorded
    bot = await start_bot(db_path=db, config_path=config, slack_api_url=slack.api_url)
    try:
        await slack.wait_for(lambda: len(slack.messages("platform-alerts")) >= 5, timeout=30)
        async with aiohttp.ClientSession() as http, http.get(f"{bot.url}/readyz") as resp:
            assert resp.status == 200
    finally:
        await bot.stop()
    assert len(slack.messages("platform-alerts")) == 5
    assert len(_stored_titles(db)) == 5


async def test_a_post_that_was_sent_but_not_recorded_is_found_not_repeated(harness) -> None:  # type: ignore[no-untyped-def]
    """The crash window between Slack accepting chat.postMessage and us recording its ts."""
    from sqlalchemy import update

    from bot.alerts.models import AlertGroup

    status, _ = await harness.alertmanager(am_notification(am_alert()))
    assert status == 202
    await harness.drain()
    [msg] = harness.slack.messages("platform-alerts")
    async with harness.bot.services.sessions() as s, s.begin():
        await s.execute(update(AlertGroup).values(slack_ts=None, slack_channel_id=None, posted_version=0,
                                                  sync_attempts=1))
    await harness.drain()
    [again] = harness.slack.messages("platform-alerts")
    assert again.ts == msg.ts
