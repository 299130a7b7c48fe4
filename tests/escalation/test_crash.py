"""A real `watchstander serve` process, killed with SIGKILL between and during escalation steps and
restarted, sends every due step exactly once: counted at the Twilio and Slack stand-ins.

Time is moved with a FileClock (``WATCHSTANDER_FAKE_CLOCK_FILE``), so the policy's minutes pass in
moments while the process runs on its own, as in production.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest

from bot.clock import FAKE_CLOCK_ENV, FileClock
from bot.sandbox.slack import SlackStandIn
from bot.sandbox.twilio import TwilioStandIn
from tests.escalation.paging import BOT_NUMBER, PHONES, PUBLIC_URL
from tests.support.factories import ALICE, BOB, T0, TOKENS, am_alert, am_notification
from tests.support.process import BotProcess, start_bot, write_config


class ClockFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.set(timedelta(0))

    def set(self, since_t0: timedelta) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text((T0 + since_t0).isoformat())
        os.replace(tmp, self.path)  # atomic: the bot never reads half a time


@pytest.fixture
def clock_file(tmp_path: Path) -> ClockFile:
    return ClockFile(tmp_path / "now")


@pytest.fixture
async def phone_company(clock_file: ClockFile) -> AsyncIterator[TwilioStandIn]:
    async with TwilioStandIn(from_numbers=[BOT_NUMBER], clock=FileClock(str(clock_file.path))) as stand_in:
        yield stand_in


def counts(slack: SlackStandIn, twilio: TwilioStandIn) -> dict[str, int]:
    return {
        "DM Alice": len(slack.dms(ALICE)), "DM Bob": len(slack.dms(BOB)),
        "SMS Alice": len([m for m in twilio.sent_to(PHONES[ALICE]) if m.direction == "outbound-api"]),
        "SMS Bob": len([m for m in twilio.sent_to(PHONES[BOB]) if m.direction == "outbound-api"]),
        "@here": sum("<!here>" in m.text for m in slack.messages("platform-alerts")),
    }


async def test_sigkill_between_and_during_steps_never_loses_or_repeats_a_page(
        tmp_path: Path, slack: SlackStandIn, phone_company: TwilioStandIn, clock_file: ClockFile) -> None:
    twilio = phone_company
    db, config = tmp_path / "w.db", write_config(tmp_path)
    env = {FAKE_CLOCK_ENV: str(clock_file.path), "PUBLIC_URL": PUBLIC_URL,
           "TWILIO_ACCOUNT_SID": twilio.account_sid, "TWILIO_AUTH_TOKEN": twilio.auth_token,
           "TWILIO_FROM_NUMBER": BOT_NUMBER, "TWILIO_API_URL": twilio.api_url}

    async def start() -> BotProcess:
        return await start_bot(db_path=db, config_path=config, slack_api_url=slack.api_url, extra_env=env)

    async def until(expected: dict[str, int]) -> None:
        """Wait (bounded) until the stand-ins have seen exactly this; a real process runs on its own time."""
        for _ in range(600):
            if counts(slack, twilio) == expected:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"expected {expected}, the stand-ins saw {counts(slack, twilio)}")

    procs: list[BotProcess] = []

    async def restart() -> BotProcess:
        procs.append(await start())
        return procs[-1]

    try:
        await scenario(restart, until, clock_file)
        await asyncio.sleep(1.0)  # anything sent twice would arrive now
        assert counts(slack, twilio) == {"DM Alice": 2, "DM Bob": 2, "SMS Alice": 2, "SMS Bob": 2, "@here": 2}
    finally:
        for proc in procs:  # never leave a bot running, whatever failed
            await proc.stop()


async def scenario(restart: Callable[[], Awaitable[BotProcess]], until: Callable[[dict[str, int]], Awaitable[None]],
                   clock_file: ClockFile) -> None:
    bot = await restart()
    async with aiohttp.ClientSession() as http, http.post(
            f"{bot.url}/alerts/alertmanager", json=am_notification(am_alert()),
            headers={"Authorization": f"Bearer {TOKENS['AM_TOKEN']}"}) as resp:
        assert resp.status == 202
    expected = {"DM Alice": 1, "DM Bob": 0, "SMS Alice": 0, "SMS Bob": 0, "@here": 0}
    await until(expected)

    clock_file.set(timedelta(minutes=5))
    expected["SMS Alice"] = 1
    await until(expected)
    await bot.kill9()  # between steps: step 3 falls due while the bot is down
    clock_file.set(timedelta(minutes=10))
    bot = await restart()
    expected.update({"SMS Bob": 1, "DM Bob": 1})
    await until(expected)

    # Now kill it at different moments after a step falls due: before the claim, between claim and
    # send, mid-send, after. Whatever the moment, the restarted bot completes the step exactly once.
    plan = [(20, 0.0, "@here"), (30, 0.03, "DM Alice"), (35, 0.01, "SMS Alice"), (40, 0.06, "SMS Bob"),
            (50, 0.15, "@here")]
    for minute, delay, what in plan:
        clock_file.set(timedelta(minutes=minute))
        await asyncio.sleep(delay)
        await bot.kill9()
        # A minute on, so any lease the killed process held has run out (steps are 5m or more apart).
        clock_file.set(timedelta(minutes=minute, seconds=61))
        bot = await restart()
        expected[what] += 1
        if minute == 40:
            expected["DM Bob"] += 1
        await until(expected)
