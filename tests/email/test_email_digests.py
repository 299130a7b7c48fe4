"""The daily digest by email over real SMTP: to exactly its list, once a day, both parts, from the
outbox like every other message."""

from __future__ import annotations

from sqlalchemy import select

from bot.clock import ManualClock
from bot.notify.daily_summary import run_due_digest
from bot.outbox import OutboxMessage
from bot.sandbox.slack import SlackStandIn
from bot.sandbox.smtp import SmtpStandIn
from tests.email.conftest import email_settings
from tests.reports.day import CHECKS, DUE, seed_day
from tests.support.factories import make_config
from tests.support.harness import start_harness


async def test_the_daily_digest_is_emailed_to_its_list_once(slack: SlackStandIn, clock: ManualClock, db_url: str,
                                                           smtp: SmtpStandIn) -> None:
    slack.add_channel("ops")
    config = make_config(CHECKS.replace("email: [eng@example.com]", "email: [eng@example.com, cto@example.com]"))
    async with start_harness(slack=slack, clock=clock, db_url=db_url, config=config,
                             settings=email_settings(smtp), background=False) as h:
        await seed_day(h.bot.services.sessions)
        clock.set(DUE)
        assert await run_due_digest(h.bot.services)
        await h.drain()
        assert not await run_due_digest(h.bot.services)
        await h.drain()
        async with h.bot.services.sessions() as s:
            row = await s.scalar(select(OutboxMessage).where(OutboxMessage.key == "daily:2026-12-03:email"))
        assert row is not None and row.sent_at is not None

    [mail] = smtp.messages
    assert sorted(mail.rcpt_tos) == ["cto@example.com", "eng@example.com"]
    assert mail.header("To") == "eng@example.com, cto@example.com"
    assert mail.subject == ("Watchstander daily digest — Thu 3 Dec: 4 open, 5 yesterday, 1 check down, "
                            "1 certificate expiring")
    assert mail.header("Auto-Submitted") == "auto-generated"
    text, html = mail.text or "", mail.html or ""
    assert "PaymentsDown" in text and "api-health" in text and "shop-tls" in text
    assert "PaymentsDown" in html and "<table" in html
    assert len(slack.messages("ops")) == 1  # and the Slack post, once
