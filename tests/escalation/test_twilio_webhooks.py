"""Twilio's side: forged or unsigned webhooks are refused and change nothing; failed and undelivered
SMS are recorded in the alert's thread and the policy goes on."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.alerts.models import AlertEvent, AlertGroup
from bot.escalation.models import PageRecord
from bot.outbox import OutboxKind, OutboxMessage
from bot.sandbox.slack import SlackStandIn
from bot.sandbox.twilio import TwilioStandIn
from tests.escalation.conftest import twilio_settings
from tests.escalation.paging import PHONES, PUBLIC_URL, code_of, deliver, fire, pages_to, sent, thread_texts
from tests.support.factories import ALICE, BOB
from tests.support.harness import Harness, start_harness


async def state(h: Harness) -> tuple[str | None, list[str]]:
    async with h.bot.services.sessions() as s:
        status = await s.scalar(select(AlertGroup.status))
        kinds = list(await s.scalars(select(AlertEvent.kind).order_by(AlertEvent.id)))
    return status, kinds


async def at_step_2(h: Harness) -> None:
    await fire(h)
    h.clock.advance(timedelta(minutes=5))
    await h.drain()


@pytest.mark.parametrize("headers", [{}, {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"}], ids=["unsigned", "forged"])
@pytest.mark.parametrize("path", ["/twilio/sms", "/twilio/status"])
async def test_unsigned_or_forged_requests_are_refused_with_no_change(pager: Harness, twilio: TwilioStandIn,
                                                                      headers: dict[str, str], path: str) -> None:
    await at_step_2(pager)
    [page] = pages_to(twilio, ALICE)
    before = await state(pager)
    params = {"From": PHONES[ALICE], "Body": f"{code_of(page)} A", "MessageSid": page.sid,
              "MessageStatus": "undelivered", "ErrorCode": "30003", "AccountSid": twilio.account_sid}
    async with pager.http.post(pager.url + path, data=params, headers=headers) as resp:
        assert resp.status == 403
        body = await resp.json()
    assert "X-Twilio-Signature" in body["errors"][0]
    await pager.drain()
    assert await state(pager) == before


async def test_a_signature_over_another_url_is_refused(pager: Harness, twilio: TwilioStandIn) -> None:
    await at_step_2(pager)
    [page] = pages_to(twilio, ALICE)
    before = await state(pager)
    # Signed for where the bot listens, but Twilio is configured with PUBLIC_URL: not a request from it.
    answer = await twilio.reply(pager.url + "/twilio/sms", from_=PHONES[ALICE], body=f"{code_of(page)} A")
    assert answer.status == 403
    assert "check that PUBLIC_URL is the URL configured in Twilio" in answer.text
    assert await state(pager) == before


async def test_without_twilio_credentials_the_webhooks_refuse_everything(harness: Harness) -> None:
    async with harness.http.post(harness.url + "/twilio/sms", data={"From": "+15550000001", "Body": "ACK ALL"},
                                 headers={"X-Twilio-Signature": "c29tZXRoaW5n"}) as resp:
        assert resp.status == 403
        assert "TWILIO_AUTH_TOKEN is not set" in (await resp.json())["errors"][0]


async def test_an_undelivered_sms_is_recorded_in_the_thread_and_the_policy_goes_on(pager: Harness,
                                                                                   twilio: TwilioStandIn) -> None:
    await at_step_2(pager)
    [page] = pages_to(twilio, ALICE)
    result = await deliver(pager, twilio, page, "undelivered")
    assert result.status == 204
    await deliver(pager, twilio, page, "undelivered")  # Twilio may call back twice: recorded once
    await pager.drain()
    msg = pager.slack.messages("platform-alerts")[0]
    failures = [t for t in thread_texts(pager, msg) if "failed" in t]
    assert failures == ["⚠️ SMS to Alice failed: undelivered (30003). The escalation goes on."]
    async with pager.bot.services.sessions() as s:
        [event] = list(await s.scalars(select(AlertEvent).where(AlertEvent.kind == "page_failed")))
        stored = await s.scalar(select(PageRecord).where(PageRecord.twilio_sid == page.sid))
    assert (event.actor, event.via, event.detail["error"]) == (ALICE, "sms", "30003")
    assert stored is not None and event.detail["page_id"] == stored.id
    assert (stored.status, stored.delivery_status) == ("failed", "undelivered")
    pager.clock.advance(timedelta(minutes=5))
    await pager.drain()
    assert sent(pager, twilio)["SMS Bob"] == 1  # step 3 runs on time all the same


async def test_delivered_status_is_remembered(pager: Harness, twilio: TwilioStandIn) -> None:
    await at_step_2(pager)
    [page] = pages_to(twilio, ALICE)
    await deliver(pager, twilio, page, "sent")
    await deliver(pager, twilio, page, "delivered")
    async with pager.bot.services.sessions() as s:
        stored = await s.scalar(select(PageRecord).where(PageRecord.twilio_sid == page.sid))
    assert stored is not None and (stored.status, stored.delivery_status) == ("sent", "delivered")


async def test_an_sms_twilio_refuses_is_recorded_and_the_policy_goes_on(slack: SlackStandIn, clock, db_url) -> None:  # type: ignore[no-untyped-def]
    async with TwilioStandIn(from_numbers=["+15005550006"], failing_numbers={PHONES[BOB]: 21610},
                             clock=clock) as twilio, \
            start_harness(slack=slack, clock=clock, db_url=db_url, settings=twilio_settings(twilio)) as h:
        msg = await fire(h)
        h.clock.advance(timedelta(minutes=10))
        await h.drain()
        assert "⚠️ SMS to Bob failed: refused (21610). The escalation goes on." in thread_texts(h, msg)
        h.clock.advance(timedelta(minutes=10))
        await h.drain()
        assert sent(h, twilio)["@here"] == 1


async def test_twilio_down_is_retried_and_the_page_sent_once(pager: Harness, twilio: TwilioStandIn) -> None:
    await fire(pager)
    twilio.fail_next(503, times=2)
    pager.clock.advance(timedelta(minutes=5))
    await pager.drain()
    assert pages_to(twilio, ALICE) == []
    for _ in range(3):  # the outbox backs off 2s, then 4s
        pager.clock.advance(timedelta(seconds=5))
        await pager.drain()
    assert len(pages_to(twilio, ALICE)) == 1
    assert PUBLIC_URL in (pages_to(twilio, ALICE)[0].status_callback or "")


async def test_a_long_twilio_outage_is_waited_out_not_given_up_like_a_refusal(pager: Harness,
                                                                             twilio: TwilioStandIn) -> None:
    """Twilio's 5xx is a transient delivery error: the outbox keeps trying past the three attempts
    an error that will repeat gets, and the page goes out once Twilio is back."""
    msg = await fire(pager)
    twilio.fail_next(503, times=5)  # the first send, then each retry's look-up before sending again
    pager.clock.advance(timedelta(minutes=5))
    await pager.drain()
    async with pager.bot.services.sessions() as s:
        row = (await s.scalars(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.PAGE_SMS))).one()
    assert row.last_error == "twilio.messages: twilio_20503" and row.sent_at is None
    for _ in range(6):
        pager.clock.advance(timedelta(minutes=1))  # past each backoff (2 s, 4 s … 32 s)
        await pager.drain()
    assert len(pages_to(twilio, ALICE)) == 1
    async with pager.bot.services.sessions() as s:
        row = await s.get_one(OutboxMessage, row.id)
    assert row.attempts == 6 and row.sent_at is not None and row.failed_at is None
    assert not any("SMS to Alice failed" in t or "gave up" in t for t in thread_texts(pager, msg))
