"""Twilio's STOP / START / HELP keywords, and the hourly limit on answers that change nothing: a person who
sent STOP is reached by the step's other targets with a note, and no phone can make the bot text in a loop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.config import parse_config
from bot.db import create_engine, session_factory, transaction
from bot.escalation.sms_hygiene import INFO_REPLIES_PER_HOUR, SmsOptOut, may_inform
from bot.sandbox.slack import SlackStandIn
from bot.sandbox.twilio import TwilioStandIn, WebhookResult
from bot.sandbox.twilio_optout import OPT_IN_REPLY, OPT_OUT_REPLY
from bot.slack.ids import EscalateField
from bot.web.twilio import UNKNOWN_SENDER
from tests.escalation.conftest import twilio_settings
from tests.escalation.paging import (
    BOT_NUMBER,
    PHONES,
    PUBLIC_URL,
    code_of,
    fire,
    pages_to,
    reply,
    sent,
    thread_texts,
)
from tests.escalation.test_escalate_button import open_dialog
from tests.support.factories import ALICE, CAROL, T0, TOKENS, config_text
from tests.support.harness import Harness, start_harness
from tests.support.visible import visible_text

EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response />'
# Step 2 pages the primary by SMS and by Slack, so someone who sent STOP is still reached at step 2.
BOTH_AT_STEP_2 = config_text().replace("- {after: 5m,  notify: [sms:primary]}",
                                       "- {after: 5m,  notify: [sms:primary, slack:primary]}")
STOPPED_NOTE = ("⚠️ Step 2: could not page sms:primary: Alice replied STOP to SMS; reached by Slack only — they "
                "can send START to receive pages again.")


@pytest.fixture
async def h(slack: SlackStandIn, clock: ManualClock, db_url: str, twilio: TwilioStandIn) -> AsyncIterator[Harness]:
    async with start_harness(slack=slack, clock=clock, db_url=db_url, config=parse_config(BOTH_AT_STEP_2, env=TOKENS),
                             settings=twilio_settings(twilio)) as harness:
        yield harness


async def at_minute(h: Harness, minute: float) -> None:
    h.clock.set(T0 + timedelta(minutes=minute))
    await h.drain()


async def text_from(h: Harness, twilio: TwilioStandIn, phone: str, body: str) -> WebhookResult:
    return await twilio.reply(h.url + "/twilio/sms", from_=phone, body=body, to=BOT_NUMBER,
                              public_url=PUBLIC_URL + "/twilio/sms")


async def opted_out(h: Harness) -> list[str]:
    async with h.bot.services.sessions() as s:
        return list(await s.scalars(select(SmsOptOut.phone)))


async def test_stop_skips_the_sms_with_a_note_slack_still_goes_and_start_brings_sms_back(
        h: Harness, twilio: TwilioStandIn) -> None:
    stop = await reply(h, twilio, ALICE, "STOP")
    assert (stop.status, stop.text, stop.messages) == (200, EMPTY, [])  # Twilio confirms it, not the bot
    assert [m.body for m in twilio.sent_to(PHONES[ALICE])] == [OPT_OUT_REPLY]
    assert await opted_out(h) == [PHONES[ALICE]]
    msg = await fire(h)
    await at_minute(h, 5)
    assert sent(h, twilio) == {"DM Alice": 2}  # step 1's DM and step 2's; no SMS
    assert thread_texts(h, msg) == ["📟 Paging <@U0ALICE01> (step 1)", STOPPED_NOTE, "📟 Paging <@U0ALICE01> (step 2)"]
    assert visible_text(h.slack.dms(ALICE)[-1]).startswith("📟 *You are being paged* for *platform* (step 2).")

    start = await reply(h, twilio, ALICE, "start")
    assert (start.status, start.text, start.messages) == (200, EMPTY, [])
    assert await opted_out(h) == []
    assert twilio.sent_to(PHONES[ALICE])[-1].body == OPT_IN_REPLY
    await at_minute(h, 35)  # round 2, step 2: by SMS again
    [page] = pages_to(twilio, ALICE)
    assert page.body.startswith("CRITICAL HighErrorRate (api): error rate 7.2% > 5%. Reply ")
    assert thread_texts(h, msg).count(STOPPED_NOTE) == 1
    assert "📱 Paging Alice by SMS (step 2, round 2)" in thread_texts(h, msg)


@pytest.mark.parametrize("word", ["STOPALL", "unsubscribe", "Cancel", "END", "quit", "  stop  "])
async def test_every_stop_keyword_is_recorded_and_answered_with_an_empty_response(
        h: Harness, twilio: TwilioStandIn, word: str) -> None:
    answer = await reply(h, twilio, ALICE, word)
    assert (answer.status, answer.text) == (200, EMPTY)
    assert await opted_out(h) == [PHONES[ALICE]]
    again = await reply(h, twilio, ALICE, "STOP")  # twice is still once
    assert again.text == EMPTY and await opted_out(h) == [PHONES[ALICE]]
    for start in ("yes", "UNSTOP"):
        answer = await reply(h, twilio, ALICE, start)
        assert answer.text == EMPTY and await opted_out(h) == []
        await reply(h, twilio, ALICE, "stop")


async def test_stop_in_a_sentence_is_not_the_keyword(h: Harness, twilio: TwilioStandIn) -> None:
    answer = await reply(h, twilio, ALICE, "stop paging me")
    assert answer.message.startswith('Did not understand "stop paging me". Nothing was changed.')
    assert await opted_out(h) == []


async def test_help_and_info_answer_the_reply_forms(h: Harness, twilio: TwilioStandIn) -> None:
    none_open = ("You have no open pages. When paged, reply e.g. 41 A to ack, 41 E to escalate, 41 R to resolve. "
                 "STOP ends SMS pages, START resumes them.")
    assert (await reply(h, twilio, ALICE, "HELP")).messages == [none_open]
    await fire(h)
    await at_minute(h, 5)
    code = code_of(pages_to(twilio, ALICE)[0])
    for word in ("help", "INFO", "?"):
        answer = await reply(h, twilio, ALICE, word)
        assert answer.messages == [f"Your open codes: {code} HighErrorRate. Reply e.g. {code} A to ack, {code} E to "
                                   f"escalate, {code} R to resolve. STOP ends SMS pages, START resumes them."]


async def test_a_stranger_spamming_gets_five_answers_an_hour_and_one_log_line(
        h: Harness, twilio: TwilioStandIn, caplog: pytest.LogCaptureFixture) -> None:
    stranger = "+15559999999"
    caplog.set_level(logging.INFO)
    answers = [await text_from(h, twilio, stranger, f"hello {i}") for i in range(20)]
    assert [a.status for a in answers] == [200] * 20
    assert [a.message for a in answers] == [UNKNOWN_SENDER] * 5 + [""] * 15
    assert all(a.text == EMPTY for a in answers[5:])
    held = [r for r in caplog.records if "answering nothing more" in r.getMessage()]
    assert len(held) == 1
    assert not any(stranger in r.getMessage() or "5559999999" in r.getMessage() for r in caplog.records)
    await at_minute(h, 60)  # the next clock hour
    assert (await text_from(h, twilio, stranger, "hello again")).message == UNKNOWN_SENDER


async def test_a_known_phone_looping_is_held_back_but_acting_replies_always_answer(
        h: Harness, twilio: TwilioStandIn) -> None:
    await fire(h)
    await at_minute(h, 5)
    code = code_of(pages_to(twilio, ALICE)[0])
    unclear = [await reply(h, twilio, ALICE, "Thanks!") for _ in range(4)]
    unclear.append(await reply(h, twilio, ALICE, "help"))
    assert all(a.message for a in unclear)
    assert (await reply(h, twilio, ALICE, "thanks")).messages == []  # the sixth informational answer: none
    assert (await reply(h, twilio, ALICE, "99 A")).messages == []  # "no open page 99" is informational too
    acked = await reply(h, twilio, ALICE, f"{code} A")
    assert acked.message == f"Acknowledged {code} HighErrorRate. Paging has stopped."
    resolved = await reply(h, twilio, ALICE, f"{code} R")
    assert resolved.message == f"Resolved {code} HighErrorRate."


async def test_paging_someone_by_name_who_sent_stop_goes_by_slack_with_a_note(
        h: Harness, twilio: TwilioStandIn) -> None:
    await text_from(h, twilio, PHONES[CAROL], "STOP")
    msg = await fire(h)
    view = await open_dialog(h, msg, ALICE)
    before = sent(h, twilio)
    await h.driver.submit_view(view, {EscalateField.PERSON: CAROL}, user_id=ALICE)
    await h.drain()
    assert sent(h, twilio) - before == {"DM Carol": 1}
    assert ("⚠️ Could not page sms:U0CAROL01: Carol replied STOP to SMS; reached by Slack only — they can send "
            "START to receive pages again.") in thread_texts(h, msg)


@pytest.mark.postgres
async def test_the_hourly_count_is_shared_by_concurrent_replicas_on_postgres(pg_url: str) -> None:
    engines = [create_engine(pg_url) for _ in range(4)]
    try:
        async def one(n: int) -> bool:
            async with transaction(session_factory(engines[n % len(engines)])) as s:
                return await may_inform(s, "+15559999999", T0 + timedelta(minutes=n % 50))

        allowed = await asyncio.gather(*(one(n) for n in range(20)))
        async with transaction(session_factory(engines[0])) as s:
            assert await may_inform(s, "+15559999999", T0 + timedelta(hours=1))  # a new hour
    finally:
        for e in engines:
            await e.dispose()
    assert sum(allowed) == INFO_REPLIES_PER_HOUR
