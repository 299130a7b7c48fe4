"""No secret and no phone number reaches the log, whatever logs it: a real `watchstander serve`
with every logger (aiohttp, slack_sdk, twilio, SQLAlchemy, APScheduler…) at DEBUG runs a whole
alert → Slack → escalation → SMS → SMS-reply flow, plus the requests that put tokens in the
log's way; then its entire stderr is searched for every secret and every number."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import aiohttp
import pytest

from bot.clock import FAKE_CLOCK_ENV, FileClock
from bot.config import parse_config
from bot.sandbox.slack import SlackStandIn
from bot.sandbox.slack_user import SlackDriver
from bot.sandbox.twilio import TwilioStandIn
from tests.escalation.paging import BOT_NUMBER, PHONES, PUBLIC_URL
from tests.support.factories import ALICE, T0, TOKENS, am_alert, am_notification
from tests.support.harness import SIGNING_SECRET
from tests.support.process import BotProcess, free_port, start_bot, write_config

METRICS_TOKEN = "metrics-scrape-token-7"
TWILIO_TOKEN = "twilio-auth-token-0123456789abcdef"
SECRET_MARK, PHONE_MARK = "[secret]", "[phone]"  # what the log shows instead


def phone_forms(number: str) -> list[str]:
    """How a number shows up in logs: E.164, URL-encoded (Twilio's form bodies), bare digits, dashed."""
    digits = number.lstrip("+")
    national = digits[1:]
    return [number, "%2B" + digits, digits, national, f"{national[:3]}-{national[3:6]}-{national[6:]}"]


def leaks(log: str, secrets: list[str], phones: list[str]) -> list[str]:
    found = [s for s in secrets if s in log or quote(s, safe="") in log]
    found += [form for p in phones for form in phone_forms(p) if re.search(rf"(?<!\d){re.escape(form)}(?!\d)", log)]
    return found


@pytest.fixture
def clock_file(tmp_path: Path) -> Path:
    path = tmp_path / "now"
    path.write_text(T0.isoformat())
    return path


def set_clock(path: Path, since_t0: timedelta) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text((T0 + since_t0).isoformat())
    os.replace(tmp, path)  # atomic: the bot never reads half a time


@pytest.fixture
async def twilio(clock_file: Path) -> AsyncIterator[TwilioStandIn]:
    async with TwilioStandIn(from_numbers=[BOT_NUMBER], auth_token=TWILIO_TOKEN,
                             clock=FileClock(str(clock_file))) as stand_in:
        yield stand_in


async def until(what: str, done: object, bot: BotProcess) -> None:
    """Wait (bounded) for the bot, a real process on its own time, to get there. The bound is only
    against a hang: at DEBUG the bot logs every SQLite call, and 20 s was once not enough on a
    loaded 2-core machine (the SMS retry step of a full local run; it passed alone 3 of 3)."""
    for _ in range(1200):
        if callable(done) and done():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what} did not happen; the bot's log ends:\n" + "".join(bot.log[-20:]))


async def parser_rejection(url: str, path: str) -> bytes:
    """A request aiohttp's HTTP parser refuses (a malformed request line), its URL carrying a token."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(f"GET {path} HTTP/1.1 and more\r\nHost: {host}\r\n\r\n".encode())
    await writer.drain()
    answer = await reader.read(200)
    writer.close()
    return answer


async def test_a_whole_flow_at_debug_leaves_no_secret_or_number_in_the_log(
        tmp_path: Path, slack: SlackStandIn, twilio: TwilioStandIn, clock_file: Path) -> None:
    env = {FAKE_CLOCK_ENV: str(clock_file), "PUBLIC_URL": PUBLIC_URL, "METRICS_TOKEN": METRICS_TOKEN,
           "TWILIO_ACCOUNT_SID": twilio.account_sid, "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
           "TWILIO_FROM_NUMBER": BOT_NUMBER, "TWILIO_API_URL": twilio.api_url,
           "LOG_LEVEL": "DEBUG", "LOG_LIBRARY_LEVEL": "DEBUG"}
    bot = await start_bot(db_path=tmp_path / "w.db", config_path=write_config(tmp_path),
                          slack_api_url=slack.api_url, extra_env=env)
    try:
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{bot.url}/alerts/alertmanager", json=am_notification(am_alert()),
                                 headers={"Authorization": f"Bearer {TOKENS['AM_TOKEN']}"}) as resp:
                assert resp.status == 202
            await until("the page DM to Alice", lambda: slack.dms(ALICE), bot)
            async with http.post(f"{bot.url}/alerts/generic?token=not-{TOKENS['GENERIC_TOKEN']}",
                                 json={"title": "x"}) as resp:
                assert resp.status == 401  # a bad token
            async with http.get(f"{bot.url}/oncall/platform.ics?token={TOKENS['PLATFORM_ICS_TOKEN']}") as resp:
                assert resp.status == 200
            async with http.get(f"{bot.url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}) as resp:
                assert resp.status == 200
            answer = await parser_rejection(bot.url, f"/alerts/generic?token={TOKENS['GENERIC_TOKEN']}")
            assert answer.split(b" ")[1] == b"400", answer

            twilio.fail_next(503)  # the first try fails; the retry looks the number's messages up first
            set_clock(clock_file, timedelta(minutes=5))  # the SMS step falls due
            await until("a failed SMS try", lambda: any("will retry" in line for line in bot.log), bot)
            set_clock(clock_file, timedelta(minutes=6))
            await until("the SMS page to Alice", lambda: twilio.sent_to(PHONES[ALICE]), bot)
            page = twilio.sent_to(PHONES[ALICE])[0]
            code = re.search(r"Reply (\d+) A to ack", page.body)
            assert code, page.body
            result = await twilio.reply(f"{bot.url}/twilio/sms", from_=PHONES[ALICE], body=f"{code[1]} A",
                                        public_url=PUBLIC_URL + "/twilio/sms")
            assert result.status == 200 and "Acknowledged" in " ".join(result.messages), result
        async with SlackDriver(f"{bot.url}/slack/events", signing_secret=SIGNING_SECRET, slack=slack) as driver:
            answer = await driver.slash("/oncall", "platform", user_id=ALICE, channel_id="alerts")
            assert answer.status == 200  # Bolt logs the signed request at DEBUG
    finally:
        await bot.stop()
    log = "".join(bot.log)
    secrets = [*TOKENS.values(), "xoxb-sandbox-token", SIGNING_SECRET, TWILIO_TOKEN, METRICS_TOKEN]
    assert leaks(log, secrets, [*PHONES.values(), BOT_NUMBER]) == []
    # It is the scrubber at work, not a quiet log: libraries spoke at DEBUG, and where a token or a
    # number was written the marker stands in its place.
    loggers = {json.loads(line)["logger"].split(".")[0] for line in bot.log if line.startswith("{")}
    assert {"aiohttp", "slack_bolt", "slack_sdk", "twilio", "sqlalchemy", "apscheduler"} <= loggers, loggers
    assert f"platform.ics?token={SECRET_MARK}" in log  # the /oncall answer's calendar link, in slack_sdk's log
    assert f"?To={PHONE_MARK}&From={PHONE_MARK}" in log  # twilio's request log on the SMS retry


@pytest.fixture
def logging_state() -> Iterator[None]:
    """setup_logging changes process-wide state; give it back to pytest afterwards."""
    from bot.logs import LIBRARIES

    root = logging.getLogger()
    handlers, level, hook = root.handlers[:], root.level, sys.excepthook
    yield
    root.handlers[:], sys.excepthook = handlers, hook
    root.setLevel(level)
    logging.captureWarnings(False)
    for library in LIBRARIES:
        logging.getLogger(library).setLevel(logging.NOTSET)


def test_the_environment_and_the_config_feed_the_scrubber(tmp_path: Path, logging_state: None,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Secret-named variables, DATABASE_URL's password, ``${NAME}`` values and people's numbers in any
    formatting, whichever logger writes them, in a message, its args or a traceback."""
    from bot.logs import protect, setup_logging

    env = {"DATABASE_URL": "postgresql+asyncpg://watch:pg-pass%2Fword@db:5432/watch", "SOME_API_KEY": "api-key-9876",
           "CHANNEL_REF": "ops-secret-channel", **TOKENS}
    config = parse_config("people:\n  - {slack_id: U0ALICE01, name: Alice, phone: \"+447700900123\"}\n"
                          "teams:\n  - {name: ops, channel: \"${CHANNEL_REF}\"}\n", env=env)
    stream = tmp_path / "log"
    with stream.open("w") as err:
        monkeypatch.setattr(sys, "stderr", err)
        setup_logging("DEBUG", "json", library_level="DEBUG", env=env)
        protect(config=config, referenced={"CHANNEL_REF"}, env=env)
        lib = logging.getLogger("sqlalchemy.engine")
        lib.debug("connect %s", "postgresql://watch:pg-pass%2Fword@db/watch")
        lib.info("key %s for %s", "api-key-9876", "ops-secret-channel")
        try:
            raise ValueError("call 07700 900123 or +44 7700 900 123 (password pg-pass/word)")
        except ValueError:
            logging.getLogger("twilio.http_client").exception("failed")
    text = stream.read_text()
    for leaked in ("pg-pass", "api-key-9876", "ops-secret-channel", "7700", "900123"):
        assert leaked not in text, text
    assert "connect postgresql://watch:[secret]@db/watch" in text
    assert "call [phone] or [phone] (password [secret])" in text, text


@pytest.mark.parametrize("argv", [["migrate"], ["oncall"]])
async def test_every_command_logs_through_the_scrubber(tmp_path: Path, argv: list[str]) -> None:
    """A command that fails on a database it cannot reach: its traceback is a scrubbed log record, not
    raw text on stderr (where a DSN or a token in an exception's text would go unscrubbed)."""
    password = "pg-password-4242"
    env = {**os.environ, **TOKENS, "WATCHSTANDER_CONFIG": str(write_config(tmp_path)), "LOG_FORMAT": "json",
           "DATABASE_URL": f"postgresql+asyncpg://watch:{password}@127.0.0.1:{free_port()}/watch"}
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", *argv, env=env, cwd=tmp_path,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode != 0
    assert password not in (out + err).decode()
    records = [json.loads(line) for line in err.decode().splitlines() if line.startswith("{")]
    raw = [line for line in err.decode().splitlines() if not line.startswith("{")]
    assert raw == [], raw  # nothing bypassed the handler
    assert any(r["level"] == "critical" and "ConnectionRefusedError" in r.get("error", "") for r in records), records
