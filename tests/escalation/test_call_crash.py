"""A real `watchstander serve` process dies while placing a call (``WATCHSTANDER_CRASH_AT``, as under
``kill -9``), is restarted, and the person is called exactly once, counted at the Twilio stand-in;
the policy goes on at the next step's time. See ``test_crash.py`` for how time and "settled" work.

The policy: 0m DM Alice (page 1) · 5m call Alice (page 2) · 10m SMS Bob, DM Bob.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select, update

from bot.alerts.current import load_current
from bot.clock import FAKE_CLOCK_ENV
from bot.db import transaction
from bot.escalation.models import PageRecord, Via
from bot.notify.page_call import CallNotifier
from bot.notify.page_sender import PageDelivery
from bot.sandbox.slack import SlackStandIn
from bot.sandbox.twilio import TwilioStandIn
from tests.escalation.calling import call_config_text
from tests.escalation.paging import BOT_NUMBER, NAMES, PHONES, PUBLIC_URL, fire
from tests.escalation.test_crash import ClockFile, clock_file, phone_company  # noqa: F401  (fixtures)
from tests.support.crash import rows, until_settled
from tests.support.factories import ALICE, BOB, TOKENS, am_alert, am_notification
from tests.support.harness import Harness
from tests.support.process import BotProcess, start_bot

STAGES = [(0, ["DM Alice"]), (5, ["call Alice"]), (10, ["SMS Bob", "DM Bob"])]


def seen(slack: SlackStandIn, twilio: TwilioStandIn) -> Counter[str]:
    got: Counter[str] = Counter()
    for person in (ALICE, BOB):
        got[f"DM {NAMES[person]}"] = len(slack.dms(person))
        got[f"SMS {NAMES[person]}"] = sum(m.direction == "outbound-api" for m in twilio.sent_to(PHONES[person]))
        got[f"call {NAMES[person]}"] = len(twilio.voice.calls_to(PHONES[person]))
    return +got


@pytest.mark.parametrize(("crash_at", "placed_when_it_died"), [
    pytest.param("page_marked@2", 0, id="page_marked: the call marked, not placed"),
    pytest.param("page_sent@2", 1, id="page_sent: Twilio took the call, the bot did not record it"),
])
async def test_a_crash_while_calling_places_the_call_once(crash_at: str, placed_when_it_died: int, tmp_path: Path,
                                                          slack: SlackStandIn, phone_company: TwilioStandIn,  # noqa: F811
                                                          clock_file: ClockFile) -> None:  # noqa: F811
    twilio = phone_company
    db, config = tmp_path / "w.db", tmp_path / "watchstander.yaml"
    config.write_text(call_config_text())
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
        for minute, pages in STAGES:
            now = clock_file.set(minute)
            expected.update(pages)
            if minute == 5:
                await bot.crashed(crash_at)
                assert len(twilio.calls) == placed_when_it_died, "when it died"
                bot = await start()
            await until_settled(db, now, bot)
            assert seen(slack, twilio) == expected, f"at {minute}m"
    finally:
        await bot.stop()

    [call] = twilio.calls
    assert call.url.startswith(f"{PUBLIC_URL}/twilio/voice?page=")
    [(page_id, status, sid, attempts)] = rows(db, "SELECT id, status, twilio_sid, send_attempts FROM pages "
                                                  "WHERE via = 'call'")
    assert (status, sid, attempts) == ("sent", call.sid, 2)
    assert call.url == f"{PUBLIC_URL}/twilio/voice?page={page_id}"


async def test_a_retried_call_finds_its_own_call_not_another_pages(caller: Harness, twilio: TwilioStandIn,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    """Two alerts call Alice at the same minute; the second page's record is lost (as if the bot died
    after Twilio took it). Its retry finds its own call among both, places none, and never takes the
    first page's call for its own; a page whose call never went out is placed."""
    caplog.set_level(logging.DEBUG, logger="bot")
    await fire(caller)
    await fire(caller, am_alert("DiskFull", fingerprint="fp-disk", summary="disk 97% full"), group_key="disk")
    caller.clock.advance(timedelta(minutes=5))
    await caller.drain()
    first, second = sorted(twilio.calls, key=lambda c: c.url)
    async with caller.bot.services.sessions() as s:
        pages = list(await s.scalars(select(PageRecord).where(PageRecord.via == Via.CALL).order_by(PageRecord.id)))
    assert [p.twilio_sid for p in pages] == [first.sid, second.sid]
    notifier = CallNotifier(caller.bot.services.settings, caller.bot.paging.sms, caller.bot.services.sessions)
    lost = pages[1]
    async with transaction(caller.bot.services.sessions) as s:
        await s.execute(update(PageRecord).where(PageRecord.id == lost.id).values(twilio_sid=None))
    lost.twilio_sid = None
    async with caller.bot.services.sessions() as s:
        alert = await load_current(s, lost.group_id)
    delivery = PageDelivery(page=lost, alert=alert, phone=PHONES[ALICE], retried=True)
    assert (await notifier.send(delivery)).ref == second.sid
    assert len(twilio.calls) == 2
    async with transaction(caller.bot.services.sessions) as s:  # recorded, as the page sender does next
        await s.execute(update(PageRecord).where(PageRecord.id == lost.id).values(twilio_sid=second.sid))
    # A page of that minute whose call Twilio never got: nothing of Alice's calls is its own, so it calls.
    never_placed = PageRecord(id=10_000, group_id=lost.group_id, person=ALICE, via=Via.CALL,
                              created_at=lost.created_at, send_attempts=1)
    placed = await notifier.send(PageDelivery(page=never_placed, alert=alert, phone=PHONES[ALICE], retried=True))
    assert len(twilio.calls) == 3 and placed.ref == twilio.calls[-1].sid
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("bot."))
    assert "was placed before an interruption; not calling again" in ours
    assert not any(number in ours for number in PHONES.values())  # page ids and Twilio's codes only
