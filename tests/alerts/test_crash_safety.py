"""An alert survives the bot dying at any step of showing it, and is shown exactly once.

Each test starts a real ``watchstander serve`` with ``WATCHSTANDER_CRASH_AT`` naming a crash point
(``bot/crashpoints.py``): the bot dies there as under ``kill -9``, the test sees the process exit
with the crash code, restarts the bot without the variable and reads what people would see in
Slack and what is stored. The alerts go to the payments team, which pages nobody, so the alert's
message is the only thing posted and "the first time a point is reached" is always this alert.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.sandbox.slack import SandboxMessage, SlackStandIn
from tests.support.crash import rows, until_settled
from tests.support.factories import TOKENS, am_alert, am_notification
from tests.support.process import BotProcess, free_port, start_bot, write_config
from tests.support.visible import visible_text

CHANNEL = "payments-alerts"
NOTIFICATION = am_notification(am_alert("PaymentsDown", fingerprint="fp-pay", labels={"service": "payments"},
                                        summary="card payments failing"),
                               group_key='{}:{alertname="PaymentsDown"}')


async def _send(bot: BotProcess, payload: dict[str, Any]) -> int | None:
    """Alertmanager delivering ``payload``: the HTTP status, or None if the bot hung up without one."""
    try:
        async with aiohttp.ClientSession() as http, http.post(
                f"{bot.url}/alerts/alertmanager", json=payload,
                headers={"Authorization": f"Bearer {TOKENS['AM_TOKEN']}"}) as resp:
            return resp.status
    except aiohttp.ClientConnectionError:
        return None


def _stored(db: Path) -> list[tuple[Any, ...]]:
    return rows(db, "SELECT title, channel, status, slack_ts FROM alert_groups ORDER BY id")


def _shown(slack: SlackStandIn) -> list[SandboxMessage]:
    return slack.messages(CHANNEL)


@pytest.fixture
def bot_files(tmp_path: Path) -> tuple[Path, Path]:
    return tmp_path / "w.db", write_config(tmp_path)


async def _crash_then_restart(point: str, db: Path, config: Path, slack: SlackStandIn, *,
                              expect_status: int | None) -> BotProcess:
    """Deliver the alert to a bot set to die at ``point``; restart it once it has died there."""
    bot = await start_bot(db_path=db, config_path=config, slack_api_url=slack.api_url, crash_at=point)
    try:
        assert await _send(bot, NOTIFICATION) == expect_status
        await bot.crashed(point)
    finally:
        await bot.stop()
    return await start_bot(db_path=db, config_path=config, slack_api_url=slack.api_url)


async def _one_message_after_restart(bot: BotProcess, db: Path, slack: SlackStandIn) -> SandboxMessage:
    try:
        await slack.wait_for(lambda: _shown(slack), timeout=30)
        await until_settled(db)
        # Alertmanager repeats the notification (as it does when unsure it was delivered): still one.
        assert await _send(bot, NOTIFICATION) == 202
        await until_settled(db)
    finally:
        await bot.stop()
    [message] = _shown(slack)
    assert visible_text(message).split("\n")[0] == "🔴 PaymentsDown"
    assert _stored(db) == [("PaymentsDown", CHANNEL, "firing", message.ts)]
    return message


async def test_stored_but_not_answered_the_alert_is_shown_once_after_restart(
        bot_files: tuple[Path, Path], slack: SlackStandIn) -> None:
    """Committed, then dead before the 202: Alertmanager saw no answer, yet the alert is kept."""
    db, config = bot_files
    bot = await _crash_then_restart("alert_stored", db, config, slack, expect_status=None)
    assert _stored(db) == [("PaymentsDown", CHANNEL, "firing", None)]
    assert _shown(slack) == []
    await _one_message_after_restart(bot, db, slack)


async def test_claimed_but_not_posted_the_alert_is_posted_once_after_restart(
        bot_files: tuple[Path, Path], slack: SlackStandIn) -> None:
    db, config = bot_files
    bot = await _crash_then_restart("alert_claimed", db, config, slack, expect_status=202)
    assert _shown(slack) == []
    assert rows(db, "SELECT sync_attempts FROM alert_groups") == [(1,)]  # the restart knows it is a retry
    await _one_message_after_restart(bot, db, slack)


@pytest.mark.parametrize("point", ["alert_posted", "after_slack_post"])
async def test_posted_but_not_recorded_the_message_is_found_not_repeated(
        point: str, bot_files: tuple[Path, Path], slack: SlackStandIn) -> None:
    """Slack accepted the message, the bot died before recording its ts: the restarted bot finds
    it by its metadata and edits it; nobody sees a second copy."""
    db, config = bot_files
    bot = await _crash_then_restart(point, db, config, slack, expect_status=202)
    [posted] = _shown(slack)
    assert _stored(db) == [("PaymentsDown", CHANNEL, "firing", None)]
    message = await _one_message_after_restart(bot, db, slack)
    assert message.ts == posted.ts


async def test_slack_unreachable_then_killed_every_alert_is_posted_after_restart(
        bot_files: tuple[Path, Path], slack: SlackStandIn) -> None:
    """Accepted while Slack is down, the bot dies with nothing posted: the restart posts them all.

    Nothing can be posted before the kill (Slack does not answer), so the moment of the kill does
    not matter here: SIGKILL after the last 202.
    """
    db, config = bot_files
    dead_slack = f"http://127.0.0.1:{free_port()}/api/"  # nothing listens there
    bot = await start_bot(db_path=db, config_path=config, slack_api_url=dead_slack)
    for i in range(3):
        payload = am_notification(am_alert(f"DiskFull{i}", fingerprint=f"fp-{i}"), group_key=f"g{i}")
        assert await _send(bot, payload) == 202
    await bot.kill9()
    assert [t for t, *_ in _stored(db)] == ["DiskFull0", "DiskFull1", "DiskFull2"]

    bot = await start_bot(db_path=db, config_path=config, slack_api_url=slack.api_url)
    try:
        await slack.wait_for(lambda: len(slack.messages("platform-alerts")) == 3, timeout=30)
        await until_settled(db)
    finally:
        await bot.stop()
    titles = sorted(visible_text(m).split("\n")[0] for m in slack.messages("platform-alerts"))
    assert titles == ["🔴 DiskFull0", "🔴 DiskFull1", "🔴 DiskFull2"]
