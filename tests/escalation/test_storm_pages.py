"""A critical alert that arrives in an alert storm is folded into the storm message, and pages exactly
like any other: DM, SMS and the ``@here`` call for help (which links to the storm message), with its
paging notes in the storm message's thread. Nothing waits in the outbox."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.alerts.models import AlertGroup
from bot.clock import ManualClock
from bot.outbox import OutboxMessage
from bot.sandbox.slack import SlackStandIn
from bot.sandbox.twilio import TwilioStandIn
from tests.escalation.conftest import twilio_settings
from tests.escalation.paging import code_of, pages_to
from tests.support.factories import ALICE, BOB, am_alert, am_notification
from tests.support.harness import Harness, start_harness
from tests.support.visible import visible_text


@pytest.fixture
async def quiet_pager(slack: SlackStandIn, clock: ManualClock, db_url: str,
                      twilio: TwilioStandIn) -> AsyncIterator[Harness]:
    """Nothing is sent until the test drains, so the whole burst is waiting in one pass."""
    async with start_harness(slack=slack, clock=clock, db_url=db_url, settings=twilio_settings(twilio),
                             background=False) as h:
        yield h


async def test_a_critical_alert_folded_into_a_storm_pages_like_any_other(quiet_pager: Harness,
                                                                         twilio: TwilioStandIn) -> None:
    h = quiet_pager
    for i in range(12):
        noise = am_alert(f"DiskFull{i % 3}", fingerprint=f"disk-{i}", labels={"severity": "warning"})
        assert (await h.alertmanager(am_notification(noise, group_key=f"disk-{i}")))[0] == 202
    assert (await h.alertmanager(am_notification(am_alert()))) [0] == 202  # critical HighErrorRate on api
    await h.drain()
    [storm] = h.slack.messages("platform-alerts")
    assert visible_text(storm).startswith("⛈️ Alert storm: 13 alerts in #platform-alerts")
    async with h.bot.services.sessions() as s:
        critical = await s.scalar(select(AlertGroup).where(AlertGroup.title == "HighErrorRate"))
        assert critical is not None and critical.storm_id is not None and critical.slack_ts is None

    [dm] = h.slack.dms(ALICE)  # step 1: Slack DM to the primary, with the alert and its buttons
    assert visible_text(dm).startswith("📟 *You are being paged* for *platform* (step 1).\n🔴 HighErrorRate")
    assert "Acknowledge" in str(dm.blocks)

    h.clock.advance(timedelta(minutes=5))  # step 2: SMS to the primary
    await h.drain()
    [sms] = pages_to(twilio, ALICE)
    code = code_of(sms)
    assert sms.body == (f"CRITICAL HighErrorRate (api): error rate 7.2% > 5%. Reply {code} A to ack, "
                        f"{code} E to escalate, {code} R to resolve")

    h.clock.advance(timedelta(minutes=5))  # step 3: SMS and DM to the backup
    await h.drain()
    assert len(pages_to(twilio, BOB)) == 1 and len(h.slack.dms(BOB)) == 1

    h.clock.advance(timedelta(minutes=10))  # step 4: call the channel
    await h.drain()
    [here] = [m for m in h.slack.messages("platform-alerts") if "<!here>" in (m.text or "")]
    assert "Nobody has acknowledged 🔴 *HighErrorRate* (api) after 20m 00s. Can someone take it?" in here.text
    storm_link = f"https://sandbox.slack.com/archives/{storm.channel}/p{storm.ts.replace('.', '')}"
    assert f"<{storm_link}|Open the alert storm>" in here.text

    # The paging notes of a folded alert go into the storm message's thread, naming the alert.
    notes = [r.text for r in h.slack.thread("platform-alerts", storm.ts)[1:]]
    assert notes == [
        "*HighErrorRate*: 📟 Paging <@U0ALICE01> (step 1)",
        "*HighErrorRate*: 📱 Paging Alice by SMS (step 2)",
        "*HighErrorRate*: 📱 Paging Bob by SMS (step 3)", "*HighErrorRate*: 📟 Paging <@U0BOB0001> (step 3)",
        "*HighErrorRate*: 📣 Calling the channel with @here (step 4)",
    ]
    async with h.bot.services.sessions() as s:
        waiting = await s.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_(None)))
    assert waiting == 0
