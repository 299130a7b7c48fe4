"""A real `watchstander serve` process dies at a named point of escalating and paging, is
restarted, and every due step still pages each person exactly once, counted at the Twilio and
Slack stand-ins, with the escalation going on at the right step.

The bot dies through ``WATCHSTANDER_CRASH_AT`` (``bot/crashpoints.py``): ``os._exit`` at the Nth
time it reaches the point, as under ``kill -9``. Time is moved with a FileClock
(``WATCHSTANDER_FAKE_CLOCK_FILE``), one step at a time, and the test waits until the bot's database
says nothing is left to do before it counts, so which page a point's Nth passage is never depends
on timing. The platform policy pages, with Alice primary and Bob backup this week:

    0m DM Alice · 5m SMS Alice · 10m SMS Bob, DM Bob · 20m @here — then once more from 30m.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from bot.clock import FAKE_CLOCK_ENV, FileClock
from bot.sandbox.slack import SlackStandIn
from bot.sandbox.twilio import TwilioStandIn
from tests.escalation.paging import BOT_NUMBER, NAMES, PHONES, PUBLIC_URL
from tests.support.crash import rows, until_settled
from tests.support.factories import ALICE, BOB, T0, TOKENS, am_alert, am_notification
from tests.support.process import BotProcess, start_bot, write_config
from tests.support.visible import visible_text

CHANNEL = "platform-alerts"

# (minute, what that step pages, where the run stands after it: steps run, round, next step, next minute)
STAGES: list[tuple[int, list[str], tuple[int, int, int, int | None]]] = [
    (0, ["DM Alice"], (1, 0, 1, 5)),
    (5, ["SMS Alice"], (2, 0, 2, 10)),
    (10, ["SMS Bob", "DM Bob"], (3, 0, 3, 20)),
    (20, ["@here"], (4, 1, 0, 30)),
    (30, ["DM Alice"], (5, 1, 1, 35)),
    (35, ["SMS Alice"], (6, 1, 2, 40)),
    (40, ["SMS Bob", "DM Bob"], (7, 1, 3, 50)),
    (50, ["@here"], (8, 1, 3, None)),
]

# Each point at a step where its Nth passage is one known page. Pages are sent in the order the step
# lists them. Every page also has a thread note ("📱 Paging Bob by SMS (step 3)"), queued just
# before it: so by 10m the outbox rows are 2 per page (DM Bob's is the 8th), and the Slack posts
# are the alert's message and, per page, its note and any Slack page (DM Bob is the 7th).
CRASHES = [  # (WATCHSTANDER_CRASH_AT, the minute it fires, what of that step nobody had got when it did)
    pytest.param("steps_run@3", 10, ["SMS Bob", "DM Bob"], id="steps_run: step 3 ran, not committed"),
    pytest.param("steps_committed@4", 20, ["@here"], id="steps_committed: the @here step committed, not sent"),
    pytest.param("page_marked@2", 5, ["SMS Alice"], id="page_marked: SMS Alice marked, not sent"),
    pytest.param("page_sent@2", 5, [], id="page_sent: SMS Alice accepted by Twilio, not recorded"),
    pytest.param("page_sent@4", 10, [], id="page_sent: DM Bob accepted by Slack, not recorded"),
    pytest.param("page_sent@5", 20, [], id="page_sent: @here accepted by Slack, not recorded"),
    pytest.param("outbox_handled@8", 10, [], id="outbox_handled: DM Bob's row handled, not marked sent"),
    pytest.param("after_slack_post@7", 10, [], id="after_slack_post: DM Bob posted, Slack's answer unread"),
]


class ClockFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.set(0)

    def set(self, minute: int) -> datetime:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text((T0 + timedelta(minutes=minute)).isoformat())
        os.replace(tmp, self.path)  # atomic: the bot never reads half a time
        return T0 + timedelta(minutes=minute)


@pytest.fixture
def clock_file(tmp_path: Path) -> ClockFile:
    return ClockFile(tmp_path / "now")


@pytest.fixture
async def phone_company(clock_file: ClockFile) -> AsyncIterator[TwilioStandIn]:
    async with TwilioStandIn(from_numbers=[BOT_NUMBER], clock=FileClock(str(clock_file.path))) as stand_in:
        yield stand_in


def seen(slack: SlackStandIn, twilio: TwilioStandIn) -> Counter[str]:
    """Every page people got so far: "DM Alice", "SMS Bob", "@here" — with how often."""
    got: Counter[str] = Counter()
    for person in (ALICE, BOB):
        got[f"DM {NAMES[person]}"] = len(slack.dms(person))
        got[f"SMS {NAMES[person]}"] = sum(m.direction == "outbound-api" for m in twilio.sent_to(PHONES[person]))
    got["@here"] = sum("<!here>" in m.text for m in slack.messages(CHANNEL))
    return +got


def run_state(db: Path) -> tuple[int, int, int, int | None]:
    [(steps_run, round_, next_step, next_at)] = rows(db, "SELECT steps_run, round, next_step, next_at FROM escalations")
    minute = None if next_at is None else int((datetime.fromisoformat(next_at) - T0.replace(tzinfo=None))
                                               .total_seconds() // 60)
    return steps_run, round_, next_step, minute


@pytest.mark.parametrize(("crash_at", "crash_minute", "unsent"), CRASHES)
async def test_a_crash_at_any_point_of_paging_neither_loses_nor_repeats_a_page(
        crash_at: str, crash_minute: int, unsent: list[str], tmp_path: Path, slack: SlackStandIn, phone_company: TwilioStandIn,
        clock_file: ClockFile) -> None:
    twilio = phone_company
    db, config = tmp_path / "w.db", write_config(tmp_path)
    env = {FAKE_CLOCK_ENV: str(clock_file.path), "PUBLIC_URL": PUBLIC_URL,
           "TWILIO_ACCOUNT_SID": twilio.account_sid, "TWILIO_AUTH_TOKEN": twilio.auth_token,
           "TWILIO_FROM_NUMBER": BOT_NUMBER, "TWILIO_API_URL": twilio.api_url}

    async def start(crash: str | None = None) -> BotProcess:
        return await start_bot(db_path=db, config_path=config, slack_api_url=slack.api_url, extra_env=env,
                               crash_at=crash)

    bot = await start(crash_at)
    try:
        async with aiohttp.ClientSession() as http, http.post(
                f"{bot.url}/alerts/alertmanager", json=am_notification(am_alert()),
                headers={"Authorization": f"Bearer {TOKENS['AM_TOKEN']}"}) as resp:
            assert resp.status == 202
        expected: Counter[str] = Counter()
        for minute, pages, state in STAGES:
            now = clock_file.set(minute)
            expected.update(pages)
            if minute == crash_minute:
                await bot.crashed(crash_at)
                assert seen(slack, twilio) == expected - Counter(unsent), "when it died"
                bot = await start()  # without the variable: it must finish what the dead one began
            await until_settled(db, now, bot)
            assert seen(slack, twilio) == expected, f"at {minute}m"
            assert run_state(db) == state, f"at {minute}m"
    finally:
        await bot.stop()

    assert rows(db, "SELECT status FROM escalations") == [("done",)]
    # One alert message, and each page once: a row per page, sent, pointing at its one message.
    [alert] = [m for m in slack.messages(CHANNEL) if "<!here>" not in m.text]
    assert visible_text(alert).split("\n")[0] == "🔴 HighErrorRate"
    pages = rows(db, "SELECT person, via, step, round, status, twilio_sid, slack_ref FROM pages ORDER BY id")
    assert [(p, via, step, rnd, status) for p, via, step, rnd, status, _, _ in pages] == [
        (person, via, step, rnd, "sent") for rnd in (1, 2) for person, via, step in
        [(ALICE, "slack", 1), (ALICE, "sms", 2), (BOB, "sms", 3), (BOB, "slack", 3), (None, "channel", 4)]]
    sids = sorted(sid for *_, sid, _ in pages if sid)
    assert sids == sorted(m.sid for m in twilio.messages if m.direction == "outbound-api")
    refs = sorted(ref.split(":")[1] for *_, ref in pages if ref)
    shown = [m.ts for person in (ALICE, BOB) for m in slack.dms(person)]
    shown += [m.ts for m in slack.messages(CHANNEL) if "<!here>" in m.text]
    assert refs == sorted(shown)
