"""Helpers for paging tests: fire an alert, read what was sent, play a phone replying to a page."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from bot.sandbox.slack import SandboxMessage
from bot.sandbox.twilio import SandboxSms, TwilioStandIn, WebhookResult
from tests.support.factories import ALICE, BOB, CAROL, DAVE, am_alert, am_notification
from tests.support.harness import Harness

PUBLIC_URL = "https://watch.example.com"  # what Twilio is configured with; requests are signed over it
BOT_NUMBER = "+15005550006"
PHONES = {ALICE: "+15550000001", BOB: "+15550000002", CAROL: "+15550000003"}
NAMES = {ALICE: "Alice", BOB: "Bob", CAROL: "Carol", DAVE: "Dave"}


async def post_alert(h: Harness, *alerts: dict[str, Any], **kw: str) -> None:
    """Post an Alertmanager notification (a critical HighErrorRate on api by default), run what is due."""
    status, body = await h.alertmanager(am_notification(*(alerts or (am_alert(),)), **kw))
    assert status == 202, body
    await h.drain()


async def fire(h: Harness, *alerts: dict[str, Any], **kw: str) -> SandboxMessage:
    """:func:`post_alert`, and return the alert's message in the team channel."""
    await post_alert(h, *alerts, **kw)
    return h.slack.messages("platform-alerts")[-1]


def sent(h: Harness, twilio: TwilioStandIn | None = None) -> Counter[str]:
    """Everything paged so far: "DM Alice", "SMS Bob", "@here" — with how often."""
    seen: Counter[str] = Counter()
    for person, name in NAMES.items():
        seen[f"DM {name}"] = len(h.slack.dms(person))
    seen["@here"] = sum("<!here>" in (m.text or "") for m in h.slack.messages("platform-alerts"))
    if twilio is not None:
        for person, phone in PHONES.items():
            seen[f"SMS {NAMES[person]}"] = sum(m.direction == "outbound-api" for m in twilio.sent_to(phone))
    return +seen


def new_since(before: Counter[str], after: Counter[str]) -> list[str]:
    return sorted((after - before).elements())


def code_of(sms: SandboxSms) -> int:
    m = re.search(r"Reply (\d+) A to ack", sms.body)
    assert m, sms.body
    return int(m.group(1))


def pages_to(twilio: TwilioStandIn, person: str) -> list[SandboxSms]:
    return [m for m in twilio.sent_to(PHONES[person]) if m.direction == "outbound-api"]


async def reply(h: Harness, twilio: TwilioStandIn, person: str, body: str) -> WebhookResult:
    """The person texts ``body`` back from their phone; Twilio signs it over PUBLIC_URL."""
    return await twilio.reply(h.url + "/twilio/sms", from_=PHONES[person], body=body,
                              public_url=PUBLIC_URL + "/twilio/sms")


async def deliver(h: Harness, twilio: TwilioStandIn, sms: SandboxSms, status: str,
                  error_code: int | None = None) -> WebhookResult:
    """Twilio reports the page's delivery status to the bot (to the StatusCallback the bot gave)."""
    assert sms.status_callback and sms.status_callback.startswith(PUBLIC_URL), sms.status_callback
    return await twilio.deliver(sms.sid, status, error_code,
                                connect_url=sms.status_callback.replace(PUBLIC_URL, h.url, 1))


def thread_texts(h: Harness, message: SandboxMessage) -> list[str]:
    return [r.text or "" for r in h.slack.thread("platform-alerts", message.ts)[1:]]
