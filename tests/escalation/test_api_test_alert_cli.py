"""`watchstander send-test-alert --through-escalation` against a running `watchstander serve`: it
prints each hop with its time and exits non-zero when one did not happen."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.clock import FAKE_CLOCK_ENV
from bot.sandbox.slack import SlackStandIn
from bot.sandbox.twilio import TwilioStandIn
from tests.escalation.conftest import twilio_settings
from tests.escalation.paging import BOT_NUMBER, PHONES, pages_to
from tests.support.factories import ALICE, T0
from tests.support.process import BotProcess, start_bot, write_config
from tests.web.test_log_scrubbing import leaks

API_TOKEN = "api-token-for-the-cli-0123"


async def serve(tmp_path: Path, slack: SlackStandIn, env: dict[str, str]) -> BotProcess:
    clock = tmp_path / "now"  # the bot's clock stays at T0, so Alice is on call for platform
    clock.write_text(T0.isoformat())
    return await start_bot(db_path=tmp_path / "bot.db", config_path=write_config(tmp_path), slack_api_url=slack.api_url,
                           extra_env={"WATCHSTANDER_API_TOKEN": API_TOKEN, FAKE_CLOCK_ENV: str(clock), **env})


@pytest.fixture
async def bot_with_sms(tmp_path: Path, slack: SlackStandIn, twilio: TwilioStandIn) -> AsyncIterator[BotProcess]:
    settings = twilio_settings(twilio)
    bot = await serve(tmp_path, slack, {
        "PUBLIC_URL": settings["public_url"], "TWILIO_ACCOUNT_SID": settings["twilio_account_sid"],
        "TWILIO_AUTH_TOKEN": settings["twilio_auth_token"], "TWILIO_FROM_NUMBER": settings["twilio_from_number"],
        "TWILIO_API_URL": settings["twilio_api_url"], "LOG_LEVEL": "DEBUG", "LOG_LIBRARY_LEVEL": "DEBUG"})
    try:
        yield bot
    finally:
        await bot.stop()


async def cli(*args: str, token: str | None = API_TOKEN) -> tuple[int, str, str]:
    """Run the command as a process (asynchronously: the stand-ins it reaches run in this loop)."""
    env = {k: v for k, v in os.environ.items() if k not in ("WATCHSTANDER_API_TOKEN", "PORT")}
    if token:
        env["WATCHSTANDER_API_TOKEN"] = token
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "send-test-alert", *args, env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=90)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def row(out: str, label: str) -> list[str]:
    line = next(line for line in out.splitlines() if line.strip().startswith(label))
    return line[len("  " + label):].split(None, 3)


async def test_the_cli_prints_every_hop_with_its_time(bot_with_sms: BotProcess, slack: SlackStandIn,
                                                      twilio: TwilioStandIn) -> None:
    code, out, err = await cli("--through-escalation", "--url", bot_with_sms.url)
    assert code == 0, out + err
    assert out.startswith("Test alert #1 ([TEST] Watchstander test alert) for team platform, critical")
    header = next(line for line in out.splitlines() if line.strip().startswith("hop"))
    assert header.split() == ["hop", "result", "after", "detail"]
    for label in ("stored", "posted to Slack", "first page (Slack DM)", "SMS page (Twilio)"):
        result, number, unit, _detail = row(out, label)
        assert (result, unit) == ("ok", "ms") and number.isdigit(), out
    [sms] = pages_to(twilio, ALICE)
    assert f"SID {sms.sid}" in out
    assert "Slack DM to Alice" in out
    assert "All 4 hops happened in" in out and "the test alert was resolved." in out
    assert "[TEST]" in slack.messages("platform-alerts")[0].text
    await bot_with_sms.stop()  # at DEBUG, every library logged the test's requests: none shows the token or a number
    log = "".join(bot_with_sms.log)
    assert "test alert #1 for platform: 4 of 4 hops" in log
    assert leaks(log, [API_TOKEN, twilio.auth_token], [*PHONES.values(), BOT_NUMBER]) == []


async def test_the_cli_exits_non_zero_when_a_hop_did_not_happen(tmp_path: Path, slack: SlackStandIn) -> None:
    bot = await serve(tmp_path, slack, {})  # no Twilio
    try:
        code, out, err = await cli("--through-escalation", "--url", bot.url + "/alerts/generic", "--wait", "10")
        assert code == 1, out + err
        result, after, *detail = row(out, "SMS page (Twilio)")
        assert (result, after) == ("skipped", "—"), out
        assert " ".join(detail).startswith("step 2: SMS is not set up (TWILIO_ACCOUNT_SID"), out
        assert row(out, "first page (Slack DM)")[0] == "ok"
        assert "Only 3 of 4 hops happened" in out
        code, out, err = await cli("--through-escalation", "--url", bot.url, token="not-the-token-0000")
        assert code == 1 and "401" in err and "wrong token" in err, out + err
        code, out, err = await cli("--through-escalation", "--url", bot.url, token=None)
        assert code == 2 and "WATCHSTANDER_API_TOKEN" in err, out + err
    finally:
        await bot.stop()
