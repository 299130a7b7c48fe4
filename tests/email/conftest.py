"""Fixtures for email: the SMTP stand-in, and a bot that pages by email through it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from bot.clock import ManualClock
from bot.config import Config
from bot.sandbox.slack import SlackStandIn
from bot.sandbox.smtp import SmtpStandIn
from tests.email.mail import PUBLIC_URL, email_config
from tests.support.harness import Harness, start_harness


def email_settings(smtp: SmtpStandIn) -> dict[str, str]:
    return {"public_url": PUBLIC_URL, "smtp_url": smtp.url, "email_from": "Watchstander <pager@watch.example.com>"}


@asynccontextmanager
async def start_mailer(slack: SlackStandIn, clock: ManualClock, db_url: str, smtp: SmtpStandIn,
                       config: Config | None = None) -> AsyncIterator[Harness]:
    async with start_harness(slack=slack, clock=clock, db_url=db_url, config=config or email_config(),
                             settings=email_settings(smtp), background=False) as h:
        yield h


@pytest.fixture
async def mailer(slack: SlackStandIn, clock: ManualClock, db_url: str, smtp: SmtpStandIn) -> AsyncIterator[Harness]:
    """The bot paging by email (step 1: Slack and email to the primary; step 2 at 5m: the team list)."""
    async with start_mailer(slack, clock, db_url, smtp) as h:
        yield h


@pytest.fixture
async def harness_without_smtp(slack: SlackStandIn, clock: ManualClock, db_url: str) -> AsyncIterator[Harness]:
    """The same config, with neither SMTP_URL nor EMAIL_FROM set."""
    async with start_harness(slack=slack, clock=clock, db_url=db_url, config=email_config(),
                             settings={"public_url": PUBLIC_URL}, background=False) as h:
        yield h
