"""A `watchstander serve` process dies while paging by email and is restarted: the email page goes
out once (a crash after claiming, before sending), or — when SMTP had taken it but the bot had not
recorded that — again with the same Message-ID, which mail clients show as one message."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from bot.clock import FAKE_CLOCK_ENV
from bot.sandbox.slack import SlackStandIn
from bot.sandbox.smtp import SmtpStandIn
from tests.email.mail import ALICE_EMAIL, PUBLIC_URL, email_config_text
from tests.support.crash import rows, until_settled
from tests.support.factories import ALICE, T0, TOKENS, am_alert, am_notification
from tests.support.process import BotProcess, start_bot

ONE_STEP = """    escalation:
      - {after: 0m,  notify: [slack:primary, email:primary]}
"""


@pytest.mark.parametrize(("crash_at", "copies"), [
    pytest.param("page_marked@2", 1, id="page_marked: the email page marked, not sent"),
    pytest.param("page_sent@2", 2, id="page_sent: SMTP took it, the bot did not record it"),
])
async def test_a_crash_while_paging_by_email_pages_once(crash_at: str, copies: int, tmp_path: Path,
                                                        slack: SlackStandIn, smtp: SmtpStandIn) -> None:
    db, config = tmp_path / "w.db", tmp_path / "watchstander.yaml"
    config.write_text(email_config_text(escalation=ONE_STEP))
    clock_file = tmp_path / "now"  # Alice is primary at T0; the bot reads its time from here
    clock_file.write_text(T0.isoformat())
    env = {FAKE_CLOCK_ENV: str(clock_file), "PUBLIC_URL": PUBLIC_URL, "SMTP_URL": smtp.url, "EMAIL_FROM": "pager@watch.example.com"}

    async def start(crash: str | None = None) -> BotProcess:
        return await start_bot(db_path=db, config_path=config, slack_api_url=slack.api_url, extra_env=env,
                               crash_at=crash)

    bot = await start(crash_at)
    try:
        async with aiohttp.ClientSession() as http, http.post(
                f"{bot.url}/alerts/alertmanager", json=am_notification(am_alert()),
                headers={"Authorization": f"Bearer {TOKENS['AM_TOKEN']}"}) as resp:
            assert resp.status == 202
        await bot.crashed(crash_at)
        assert len(slack.dms(ALICE)) == 1  # the Slack page went first and is out
        assert len(smtp.sent_to(ALICE_EMAIL)) == copies - 1
        bot = await start()
        await until_settled(db, T0, bot)
    finally:
        await bot.stop()

    mails = smtp.sent_to(ALICE_EMAIL)
    assert len(mails) == copies
    assert {m.message_id for m in mails} == {mails[0].message_id}  # one Message-ID: one message to the reader
    assert len(slack.dms(ALICE)) == 1
    assert rows(db, "SELECT via, status, send_attempts FROM pages ORDER BY id") == [
        ("slack", "sent", 1), ("email", "sent", 2)]
