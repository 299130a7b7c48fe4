"""Fixtures for paging: a Twilio stand-in on the test clock, and a bot configured to use it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.clock import ManualClock
from bot.sandbox.slack import SlackStandIn
from bot.sandbox.twilio import TwilioStandIn
from tests.escalation.calling import call_config
from tests.escalation.paging import BOT_NUMBER, PUBLIC_URL
from tests.support.harness import Harness, start_harness


@pytest.fixture
async def twilio(clock: ManualClock) -> AsyncIterator[TwilioStandIn]:
    async with TwilioStandIn(from_numbers=[BOT_NUMBER], clock=clock) as stand_in:
        yield stand_in


def twilio_settings(twilio: TwilioStandIn) -> dict[str, str]:
    return {"public_url": PUBLIC_URL, "twilio_account_sid": twilio.account_sid,
            "twilio_auth_token": twilio.auth_token, "twilio_from_number": BOT_NUMBER,
            "twilio_api_url": twilio.api_url}


@pytest.fixture
async def pager(slack: SlackStandIn, clock: ManualClock, db_url: str, twilio: TwilioStandIn) -> AsyncIterator[Harness]:
    """The bot with SMS set up; the Twilio stand-in is reachable as ``pager.twilio`` via the fixture."""
    async with start_harness(slack=slack, clock=clock, db_url=db_url, settings=twilio_settings(twilio)) as h:
        yield h


@pytest.fixture
async def caller(slack: SlackStandIn, clock: ManualClock, db_url: str, twilio: TwilioStandIn) -> AsyncIterator[Harness]:
    """The bot with Twilio set up and a phone call at step 2 (``tests.escalation.calling``); the
    stand-in reaches the bot's PUBLIC_URL where the bot listens."""
    async with start_harness(slack=slack, clock=clock, db_url=db_url, config=call_config(),
                             settings=twilio_settings(twilio)) as h:
        twilio.voice.reach(PUBLIC_URL, h.url)
        yield h
