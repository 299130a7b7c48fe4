"""Helpers for call tests: the platform policy with a phone call at step 2, and Twilio's side of a call."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from sqlalchemy import select

from bot.config import Config, parse_config
from bot.escalation.models import PageRecord, Via
from bot.sandbox.twilio import TwilioStandIn
from bot.sandbox.twilio_calls import SandboxCall
from tests.escalation.paging import PHONES, PUBLIC_URL, fire
from tests.support.factories import ALICE, TOKENS, config_text
from tests.support.harness import Harness

# 0m DM Alice · 5m call Alice · 10m SMS Bob, DM Bob · 20m @here
CALL_STEP = "{after: 5m,  notify: [call:primary]}"
INTRO = "Watchstander. Critical alert: HighErrorRate on api. error rate 7.2% > 5%."
PROMPT = "Press 1 to acknowledge, 2 to escalate, 3 to resolve."


def call_config_text() -> str:
    text = config_text()
    assert "{after: 5m,  notify: [sms:primary]}" in text
    return text.replace("{after: 5m,  notify: [sms:primary]}", CALL_STEP)


def call_config() -> Config:
    return parse_config(call_config_text(), env=TOKENS)


async def call_alice(h: Harness, twilio: TwilioStandIn) -> SandboxCall:
    """Fire the alert and let it reach step 2, the call to Alice at 5m; returns the call."""
    await fire(h)
    h.clock.advance(timedelta(minutes=5))
    await h.drain()
    [call] = twilio.voice.calls_to(PHONES[ALICE])
    return call


async def call_page(h: Harness) -> PageRecord:
    async with h.bot.services.sessions() as s:
        return (await s.scalars(select(PageRecord).where(PageRecord.via == Via.CALL))).one()


async def signed_post(h: Harness, twilio: TwilioStandIn, path_qs: str, params: Mapping[str, str],
                      *, signed_path_qs: str | None = None) -> tuple[int, str]:
    """POST to the bot as Twilio would, signed over PUBLIC_URL + ``signed_path_qs`` (default: the same)."""
    signature = twilio.signature(PUBLIC_URL + (signed_path_qs or path_qs), params)
    async with h.http.post(h.url + path_qs, data=dict(params), headers={"X-Twilio-Signature": signature}) as resp:
        return resp.status, await resp.text()
