"""Acknowledging from the phone: every accepted reply form stops the paging and edits the Slack message;
unclear replies and strangers change nothing and get a helpful answer."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.alerts.models import AlertEvent, AlertGroup
from bot.escalation.models import PageRecord
from bot.sandbox.twilio import TwilioStandIn
from tests.escalation.paging import PHONES, code_of, fire, pages_to, reply, sent, thread_texts
from tests.support.factories import ALICE, BOB, am_alert
from tests.support.harness import Harness
from tests.support.visible import visible_text


async def sms_page(h: Harness, twilio: TwilioStandIn) -> int:
    """Fire the alert and let it reach step 2 (the SMS to Alice at 5m); returns her code."""
    await fire(h)
    h.clock.advance(timedelta(minutes=5))
    await h.drain()
    [page] = pages_to(twilio, ALICE)
    return code_of(page)


async def events(h: Harness, kind: str) -> list[AlertEvent]:
    async with h.bot.services.sessions() as s:
        return list(await s.scalars(select(AlertEvent).where(AlertEvent.kind == kind).order_by(AlertEvent.id)))


@pytest.mark.parametrize("form", ["{c} A", "a {c}", "ack {c}", "{c} ack", "ACK ALL", "{c}a", "  {c} ,  Ack!  ",
                                  "Acknowledge {c}.", "a"])
async def test_each_accepted_reply_acknowledges_and_stops_the_policy(pager: Harness, twilio: TwilioStandIn,
                                                                     form: str) -> None:
    code = await sms_page(pager, twilio)
    pager.clock.advance(timedelta(minutes=1, seconds=2))
    answer = await reply(pager, twilio, ALICE, form.format(c=code))
    assert answer.status == 200
    assert answer.message == f"Acknowledged {code} HighErrorRate. Paging has stopped."
    await pager.drain()
    msg = pager.slack.messages("platform-alerts")[0]
    assert "👀 *Acknowledged* by Alice (SMS) after 6m 02s" in visible_text(msg)
    assert "👀 Acknowledged by Alice (SMS) after 6m 02s." in thread_texts(pager, msg)
    before = sent(pager, twilio)
    pager.clock.advance(timedelta(hours=1))
    await pager.drain()
    assert sent(pager, twilio) == before  # Bob is never paged, nor the channel
    [ack] = await events(pager, "acknowledged")
    assert (ack.actor, ack.via) == (ALICE, "sms")
    # The answer reached her phone as an SMS too, in one GSM-7 segment.
    assert twilio.sent_to(PHONES[ALICE])[-1].body == answer.message


async def test_resolve_and_escalate_by_reply(pager: Harness, twilio: TwilioStandIn) -> None:
    code = await sms_page(pager, twilio)
    answer = await reply(pager, twilio, ALICE, f"{code} e")
    await pager.drain()
    assert answer.message == f"Escalated {code} HighErrorRate: step 3 is paging Bob."
    [to_bob] = pages_to(twilio, BOB)  # step 3 ran at once, not at 10m
    assert sent(pager, twilio)["DM Bob"] == 1
    msg = pager.slack.messages("platform-alerts")[0]
    assert "⏫ Alice (SMS) escalated: step 3 runs now." in thread_texts(pager, msg)
    answer = await reply(pager, twilio, BOB, f"r {code_of(to_bob)}")
    await pager.drain()
    assert answer.message == f"Resolved {code_of(to_bob)} HighErrorRate."
    assert "✅ *Resolved* by Bob (SMS)" in visible_text(pager.slack.messages("platform-alerts")[0])
    pager.clock.advance(timedelta(hours=1))
    await pager.drain()
    assert sent(pager, twilio)["@here"] == 0


async def test_a_second_reply_is_told_who_acknowledged_first(pager: Harness, twilio: TwilioStandIn) -> None:
    await sms_page(pager, twilio)
    pager.clock.advance(timedelta(minutes=5))
    await pager.drain()  # Bob gets his SMS at 10m
    [to_bob] = pages_to(twilio, BOB)
    await reply(pager, twilio, ALICE, "ack all")
    answer = await reply(pager, twilio, BOB, f"{code_of(to_bob)} a")
    assert answer.message == f"{code_of(to_bob)} HighErrorRate was already acknowledged by Alice."
    assert len(await events(pager, "acknowledged")) == 1


async def test_codes_are_per_recipient_and_unique_among_their_open_pages(pager: Harness, twilio: TwilioStandIn) -> None:
    await fire(pager)
    await fire(pager, am_alert("DiskFull", fingerprint="fp-disk", summary="disk 97% full"), group_key="disk")
    pager.clock.advance(timedelta(minutes=5))
    await pager.drain()
    first, second = pages_to(twilio, ALICE)
    assert code_of(first) != code_of(second)
    assert {first.body.split(" (")[0], second.body.split(" (")[0]} == {"CRITICAL HighErrorRate", "CRITICAL DiskFull"}
    # "A" alone is ambiguous now: nothing changes, and the answer lists both codes.
    answer = await reply(pager, twilio, ALICE, "A")
    assert answer.message.startswith("Which one? Your open codes: ")
    assert f"{code_of(first)} " in answer.message and f"{code_of(second)} " in answer.message
    assert await events(pager, "acknowledged") == []
    answer = await reply(pager, twilio, ALICE, "ACK ALL")
    assert answer.message.count("Acknowledged") == 2


@pytest.mark.parametrize("body, expected", [
    ("{other} A", "No open page {other}; nothing was changed. Your open codes: {c} HighErrorRate."),
    ("{c}", "What should happen to {c}? Add A to ack, E to escalate or R to resolve. Nothing was changed."),
    ("{c} a r", "That reply asks for more than one thing; send one of A, E or R. Nothing was changed."),
    ("thanks, on it", "Did not understand \"thanks on it\". Nothing was changed."),
    ("help", "Your open codes: {c} HighErrorRate. Reply e.g. {c} A to ack, {c} E to escalate, {c} R to resolve."),
])
async def test_unclear_replies_change_nothing_and_list_the_open_codes(pager: Harness, twilio: TwilioStandIn,
                                                                      body: str, expected: str) -> None:
    code = await sms_page(pager, twilio)
    other = 98 if code == 99 else 99  # a code that is not open, whatever code the page drew
    answer = await reply(pager, twilio, ALICE, body.format(c=code, other=other))
    assert answer.status == 200
    assert answer.message.startswith(expected.format(c=code, other=other))
    assert await events(pager, "acknowledged") == []
    async with pager.bot.services.sessions() as s:
        assert await s.scalar(select(AlertGroup.status)) == "firing"


async def test_a_stranger_is_told_so_and_nothing_changes(pager: Harness, twilio: TwilioStandIn) -> None:
    code = await sms_page(pager, twilio)
    answer = await twilio.reply(pager.url + "/twilio/sms", from_="+15559999999", body=f"{code} A",
                                public_url="https://watch.example.com/twilio/sms")
    assert answer.status == 200
    assert answer.message.startswith("This number is not on the Watchstander on-call list, so nothing was changed.")
    assert await events(pager, "acknowledged") == []


async def test_the_same_sms_delivered_twice_acts_once(pager: Harness, twilio: TwilioStandIn) -> None:
    code = await sms_page(pager, twilio)
    first = await reply(pager, twilio, ALICE, f"{code} e")
    inbound = twilio.inbound[-1]
    params = {"MessageSid": inbound.sid, "SmsSid": inbound.sid, "AccountSid": twilio.account_sid,
              "From": PHONES[ALICE], "To": inbound.to, "Body": f"{code} e"}
    headers = {"X-Twilio-Signature": twilio.signature("https://watch.example.com/twilio/sms", params)}
    async with pager.http.post(pager.url + "/twilio/sms", data=params, headers=headers) as resp:
        assert resp.status == 200
    assert first.message.startswith(f"Escalated {code}")
    assert len(await events(pager, "escalated")) == 2  # step 2 (automatic) and the one Alice asked for
    async with pager.bot.services.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(PageRecord).where(PageRecord.person == BOB)) == 2
