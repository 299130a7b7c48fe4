"""The voice webhooks from Twilio's side: forged or unsigned requests are refused and change nothing;
a call about a page the bot does not know is answered politely, never with an error; the same key
press delivered twice acts once."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.alerts.models import AlertEvent, AlertGroup
from bot.escalation.models import PageRecord
from bot.sandbox.twilio import TwilioStandIn
from bot.sandbox.twilio_calls import parse_voice_twiml
from tests.escalation.calling import call_alice, call_page, signed_post
from tests.escalation.paging import BOT_NUMBER, PHONES, PUBLIC_URL
from tests.support.factories import ALICE
from tests.support.harness import Harness

UNKNOWN = "This is Watchstander. This call is about a page that no longer exists, so there is nothing to do. Goodbye."


async def state(h: Harness) -> tuple[str | None, list[str], list[tuple[str, str | None]]]:
    async with h.bot.services.sessions() as s:
        status = await s.scalar(select(AlertGroup.status))
        kinds = list(await s.scalars(select(AlertEvent.kind).order_by(AlertEvent.id)))
        pages = [(p.status, p.delivery_status) for p in await s.scalars(select(PageRecord).order_by(PageRecord.id))]
    return status, kinds, pages


def call_params(twilio: TwilioStandIn, sid: str, **extra: str) -> dict[str, str]:
    return {"AccountSid": twilio.account_sid, "CallSid": sid, "From": BOT_NUMBER, "To": PHONES[ALICE],
            "CallStatus": "in-progress", **extra}


@pytest.mark.parametrize("headers", [{}, {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"}], ids=["unsigned", "forged"])
@pytest.mark.parametrize("path", ["/twilio/voice?page={id}", "/twilio/voice?page={id}&step=gather",
                                  "/twilio/voice/status?page={id}"])
async def test_unsigned_or_forged_voice_requests_are_refused_with_no_change(
        caller: Harness, twilio: TwilioStandIn, headers: dict[str, str], path: str) -> None:
    call = await call_alice(caller, twilio)
    page = await call_page(caller)
    before = await state(caller)
    params = call_params(twilio, call.sid, Digits="3", AnsweredBy="machine_start", CallStatus="no-answer")
    async with caller.http.post(caller.url + path.format(id=page.id), data=params, headers=headers) as resp:
        assert resp.status == 403
        assert "X-Twilio-Signature" in (await resp.json())["errors"][0]
    await caller.drain()
    assert await state(caller) == before


async def test_a_signature_for_another_page_is_refused(caller: Harness, twilio: TwilioStandIn) -> None:
    """The page id is in the signed URL: a signature Twilio made for one page does not act on another."""
    call = await call_alice(caller, twilio)
    page = await call_page(caller)
    before = await state(caller)
    status, text = await signed_post(caller, twilio, f"/twilio/voice?page={page.id}&step=gather",
                                     call_params(twilio, call.sid, Digits="3"),
                                     signed_path_qs=f"/twilio/voice?page={page.id + 1}&step=gather")
    assert status == 403 and "does not match" in text
    assert await state(caller) == before


@pytest.mark.parametrize("page", ["999", "abc", "", "1" * 30])
@pytest.mark.parametrize("step", ["", "&step=gather"])
async def test_a_call_about_an_unknown_page_is_answered_politely(caller: Harness, twilio: TwilioStandIn,
                                                                 page: str, step: str) -> None:
    await call_alice(caller, twilio)
    before = await state(caller)
    status, text = await signed_post(caller, twilio, f"/twilio/voice?page={page}{step}",
                                     call_params(twilio, "CA" + "0" * 32, Digits="1"))
    assert status == 200
    said, gathers, _ = parse_voice_twiml(text, PUBLIC_URL)
    assert (said, gathers) == ([UNKNOWN], [])
    assert await state(caller) == before


async def test_a_voice_request_about_a_page_that_is_no_call_is_answered_politely(caller: Harness,
                                                                                 twilio: TwilioStandIn) -> None:
    await call_alice(caller, twilio)
    async with caller.bot.services.sessions() as s:
        dm = await s.scalar(select(func.min(PageRecord.id)))  # step 1's Slack DM
    status, text = await signed_post(caller, twilio, f"/twilio/voice?page={dm}&step=gather",
                                     call_params(twilio, "CA" + "0" * 32, Digits="3"))
    assert status == 200 and parse_voice_twiml(text, PUBLIC_URL)[0] == [UNKNOWN]
    async with caller.bot.services.sessions() as s:
        assert await s.scalar(select(AlertGroup.status)) == "firing"


async def test_the_same_key_press_delivered_twice_acts_once(caller: Harness, twilio: TwilioStandIn) -> None:
    call = await call_alice(caller, twilio)
    page = await call_page(caller)
    await twilio.answer(call)
    path = f"/twilio/voice?page={page.id}&step=gather"
    first = await signed_post(caller, twilio, path, call_params(twilio, call.sid, Digits="2"))
    again = await signed_post(caller, twilio, path, call_params(twilio, call.sid, Digits="2"))
    assert parse_voice_twiml(first[1], PUBLIC_URL)[0] == ["Escalated: step 3 is paging Bob. Goodbye."]
    assert parse_voice_twiml(again[1], PUBLIC_URL)[0] == ["That was done already. Goodbye."]
    async with caller.bot.services.sessions() as s:
        escalated = await s.scalar(select(func.count()).select_from(AlertEvent).where(
            AlertEvent.kind == "escalated", AlertEvent.actor == ALICE))
    assert escalated == 1


async def test_a_status_callback_without_its_fields_is_a_400(caller: Harness, twilio: TwilioStandIn) -> None:
    await call_alice(caller, twilio)
    page = await call_page(caller)
    status, text = await signed_post(caller, twilio, f"/twilio/voice/status?page={page.id}",
                                     {"AccountSid": twilio.account_sid})
    assert status == 400 and "CallSid and CallStatus are required" in text
