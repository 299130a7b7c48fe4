"""`/oncall me`: how the bot reaches you, and a test page on each of your channels through the real path."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.clock import ManualClock
from bot.config import parse_config
from bot.escalation.sms_hygiene import opt_out
from bot.sandbox.slack import SlackStandIn
from bot.sandbox.smtp import SmtpStandIn
from bot.sandbox.twilio import TwilioStandIn
from bot.slack.ids import MeAction
from tests.email.conftest import email_settings
from tests.email.mail import ALICE_EMAIL, email_config_text
from tests.escalation.calling import PROMPT
from tests.escalation.conftest import twilio_settings
from tests.escalation.paging import PHONES, PUBLIC_URL, pages_to
from tests.escalation.test_personal_rules import ALICE_RULES, RULES
from tests.support.factories import ALICE, BOB, TOKENS
from tests.support.harness import Harness, start_harness
from tests.support.oncall_helpers import oncall
from tests.support.visible import visible_text


@asynccontextmanager
async def bot(slack: SlackStandIn, clock: ManualClock, db_url: str, twilio: TwilioStandIn, smtp: SmtpStandIn,
              *, paging: bool = True) -> AsyncIterator[Harness]:
    text = email_config_text(escalation=RULES).replace("email: alice@example.com, timezone: Europe/Berlin}",
                                                       ALICE_RULES)
    settings = {**twilio_settings(twilio), **email_settings(smtp)} if paging else {}
    async with start_harness(slack=slack, clock=clock, db_url=db_url, config=parse_config(text, env=TOKENS),
                             settings=settings, background=False) as h:
        twilio.voice.reach(PUBLIC_URL, h.url)
        yield h


async def test_oncall_me_shows_your_rules_quiet_hours_and_shift(
        slack: SlackStandIn, clock: ManualClock, db_url: str, twilio: TwilioStandIn, smtp: SmtpStandIn) -> None:
    async with bot(slack, clock, db_url, twilio, smtp) as h:
        text = await oncall(h, "me", user=ALICE)
    assert text.startswith("*How Watchstander reaches you, Alice* (Europe/Berlin, Tue 24 Nov 14:00 CET)\n"
                           "When a step pages you by your own rules (`person:` targets):\n"
                           "• at once — Slack DM\n"
                           "• after 2m — SMS to …0001\n"
                           f"• after 5m — email to {ALICE_EMAIL}\n"
                           "🌙 Quiet hours 22:00–07:00 (Europe/Berlin): SMS and calls for alerts below critical "
                           "wait until 07:00; critical alerts are never held.\n"), text
    assert "On call now: primary for platform until Mon 30 Nov 09:00 CET" in text
    assert "+15550000001" not in text  # the number is shown by its last digits only
    assert "A test page reaches you on Slack DM, SMS, phone call and email at once" in text
    assert "Test every channel | Test Slack DM | Test SMS | Test phone call | Test email" in text


async def test_a_test_page_reaches_every_channel_and_a_key_press_acknowledges_it_in_your_dm(
        slack: SlackStandIn, clock: ManualClock, db_url: str, twilio: TwilioStandIn, smtp: SmtpStandIn) -> None:
    async with bot(slack, clock, db_url, twilio, smtp) as h:
        await oncall(h, "me", user=ALICE)
        [answer] = slack.ephemerals(ALICE)
        resp = await h.driver.click(answer, MeAction.TEST, user_id=ALICE)
        assert resp.status == 200
        await h.drain()
        said = visible_text(slack.ephemerals(ALICE)[-1])
        assert said.startswith("🧪 Test page #1 sent on Slack DM, SMS, phone call and email"), said
        assert slack.messages("platform-alerts") == []  # nobody else sees my test
        shown, page_dm = slack.dms(ALICE)[0], slack.dms(ALICE)[1]
        assert "[TEST] Test page for Alice" in visible_text(shown)
        assert "Acknowledge" in visible_text(shown)
        assert "[TEST] Test page for Alice" in visible_text(page_dm)
        [sms] = pages_to(twilio, ALICE)
        assert sms.body.startswith("INFO [TEST] Test page for Alice")
        assert [m.rcpt_tos for m in smtp.messages] == [(ALICE_EMAIL,)]
        [call] = twilio.voice.calls_to(PHONES[ALICE])
        turn = await twilio.answer(call)
        assert PROMPT in turn.said
        await twilio.press(call, "1")
        await h.drain()
        shown = slack.dms(ALICE)[0]
        assert "👀 *Acknowledged* by Alice (phone call) after 0s" in visible_text(shown), visible_text(shown)
        assert len(slack.messages("platform-alerts")) == 0 and len(twilio.voice.calls) == 1


async def test_one_channel_by_word_and_what_cannot_be_tested(
        slack: SlackStandIn, clock: ManualClock, db_url: str, twilio: TwilioStandIn, smtp: SmtpStandIn) -> None:
    async with bot(slack, clock, db_url, twilio, smtp) as h:
        said = await oncall(h, "me test sms", user=ALICE)
        await h.drain()
        assert said.startswith("🧪 Test page #1 sent on SMS:"), said
        assert len(pages_to(twilio, ALICE)) == 1 and twilio.voice.calls == [] and smtp.messages == []
        assert len(slack.dms(ALICE)) == 1  # the test alert in the DM, no DM page
        assert await oncall(h, "me test fax", user=ALICE) == (
            "⚠️ No test page sent: there is no channel 'fax': say slack, sms, call or email (`/oncall me` shows how "
            "you are paged; `/oncall me test` (or `test sms`, `test call`…) sends you a test page).")
        async with h.bot.services.sessions.begin() as s:
            await opt_out(s, PHONES[BOB], clock.now())
        text = await oncall(h, "me", user=BOB)
        assert "You replied STOP to the bot's number: SMS pages skip you (and reach you otherwise) until you send START." in text
        assert (await oncall(h, "me", user="U0ADMIN01")).count("You are not in the config's `people:`, so only Slack can reach you") == 1


async def test_channels_the_bot_cannot_send_on_are_said_and_not_offered(
        slack: SlackStandIn, clock: ManualClock, db_url: str, twilio: TwilioStandIn, smtp: SmtpStandIn) -> None:
    async with bot(slack, clock, db_url, twilio, smtp, paging=False) as h:
        text = await oncall(h, "me", user=ALICE)
        assert ("• after 2m — SMS to …0001 ⚠️ _cannot be sent: SMS is not set up (TWILIO_ACCOUNT_SID, "
                "TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER are not all set)_") in text
        assert "A test page reaches you on Slack DM at once" in text and "Test SMS" not in text
        said = await oncall(h, "me test call", user=ALICE)
        assert said.startswith("⚠️ No test page sent: phone calls are not set up"), said
