"""Email on PostgreSQL: replicas agree on one link key, and a page by email acts through its link."""

from __future__ import annotations

import asyncio

from bot.alerts.email_links import load_key
from bot.clock import ManualClock
from bot.db import create_engine, session_factory, transaction
from bot.sandbox.slack import SlackStandIn
from bot.sandbox.smtp import SmtpStandIn
from tests.email.conftest import start_mailer
from tests.email.mail import ALICE_EMAIL, confirm_link, links
from tests.escalation.paging import fire
from tests.support.visible import visible_text


async def test_two_replicas_starting_together_share_one_link_key(pg_url: str, clock: ManualClock) -> None:
    engines = [create_engine(pg_url) for _ in range(2)]
    try:
        async def start(i: int) -> bytes:
            async with transaction(session_factory(engines[i])) as s:
                return await load_key(s, clock.now())

        first, second = await asyncio.gather(start(0), start(1))
        assert first == second and len(first) == 32
        assert await start(0) == first  # and it stays
    finally:
        for engine in engines:
            await engine.dispose()


async def test_a_page_by_email_is_acknowledged_by_its_link_on_postgres(
        pg_url: str, slack: SlackStandIn, clock: ManualClock, smtp: SmtpStandIn) -> None:
    async with start_mailer(slack, clock, pg_url, smtp) as h:
        await fire(h)
        mail = await smtp.wait_for_email(ALICE_EMAIL)
        status, _ = await confirm_link(h, links(mail)["Acknowledge"])
        assert status == 200
        await h.drain()
        assert "👀 *Acknowledged* by Alice (email) after 0s" in visible_text(h.slack.messages("platform-alerts")[0])
