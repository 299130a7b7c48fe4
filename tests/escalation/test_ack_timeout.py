"""``severities.<name>.ack_timeout``: an alert acknowledged and not resolved in time fires again, says so
in its thread and pages from step 1 — once, across a restart and across two replicas."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.alerts.models import AlertEvent, AlertGroup
from bot.clock import ManualClock
from bot.config import Config
from bot.sandbox.slack import SandboxMessage, SlackStandIn
from bot.sandbox.twilio import TwilioStandIn
from bot.slack.ids import AlertAction
from tests.escalation.conftest import twilio_settings
from tests.escalation.paging import code_of, fire, pages_to, reply, sent, thread_texts
from tests.escalation.test_escalation_flow import walk
from tests.support.factories import ALICE, T0, make_config
from tests.support.harness import Harness, start_harness
from tests.support.visible import visible_text

TIMEOUT_CONFIG = "severities:\n  critical: {escalate: true, ack_within: 5m, ack_timeout: 30m}\n"
NOTE = "⏰ Acknowledged 30m ago by <@U0ALICE01> and not resolved: firing again, paging from step 1."


def timeout_config() -> Config:
    return make_config(TIMEOUT_CONFIG)


@asynccontextmanager
async def bot(slack: SlackStandIn, clock: ManualClock, db_url: str, twilio: TwilioStandIn,
              background: bool = True) -> AsyncIterator[Harness]:
    async with start_harness(slack=slack, clock=clock, db_url=db_url, config=timeout_config(),
                             settings=twilio_settings(twilio), background=background) as h:
        yield h


@pytest.fixture
async def h(slack: SlackStandIn, clock: ManualClock, db_url: str, twilio: TwilioStandIn) -> AsyncIterator[Harness]:
    async with bot(slack, clock, db_url, twilio) as harness:
        yield harness


async def at_minute(h: Harness, minute: float) -> None:
    """Set the clock to ``minute`` minutes after the alert fired (T0) and run what is due."""
    h.clock.set(T0 + timedelta(minutes=minute))
    await h.drain()


def alert_text(h: Harness) -> str:
    return visible_text(h.slack.messages("platform-alerts")[0])


async def click(h: Harness, msg: SandboxMessage, action: AlertAction) -> None:
    await h.driver.click(msg, action, user_id=ALICE)
    await h.drain()


async def timed_out_events(h: Harness) -> list[AlertEvent]:
    async with h.bot.services.sessions() as s:
        return list(await s.scalars(select(AlertEvent).where(AlertEvent.kind == "ack_timed_out")))


async def test_an_acknowledged_alert_not_resolved_in_time_fires_again_from_step_1(
        h: Harness, twilio: TwilioStandIn) -> None:
    msg = await fire(h)
    await at_minute(h, 6)  # step 1 (DM) at 0m and step 2 (SMS) at 5m have run
    await click(h, msg, AlertAction.ACKNOWLEDGE)
    # 14:36 in Berlin, the team's zone, 30m after the acknowledgement at 13:06 UTC
    assert ("👀 *Acknowledged* by <@U0ALICE01> after 6m 00s · back to firing at "
            f"<!date^{int((T0 + timedelta(minutes=36)).timestamp())}^{{time}}|2026-11-24 14:36 CET> unless resolved"
            ) in alert_text(h)
    log = await walk(h, twilio, 40)  # walk minute m is 6 + m minutes after the alert fired
    assert log == [(0, "DM Alice"), (0, "SMS Alice"),
                   (30, "DM Alice"), (35, "SMS Alice"), (40, "DM Bob"), (40, "SMS Bob")]
    assert "🚨 *Firing* — not acknowledged yet" in alert_text(h)
    assert "Acknowledge" in alert_text(h) and "Unacknowledge" not in alert_text(h)
    texts = thread_texts(h, msg)
    assert texts[texts.index(NOTE):] == [
        NOTE,
        "📟 Paging <@U0ALICE01> (step 1)",
        "📱 Paging Alice by SMS (step 2)",
        "📱 Paging Bob by SMS (step 3)", "📟 Paging <@U0BOB0001> (step 3)",
    ]
    first_dm, again_dm = h.slack.dms(ALICE)
    assert visible_text(again_dm) == visible_text(first_dm)
    assert visible_text(again_dm).startswith("📟 *You are being paged* for *platform* (step 1).\n🔴 HighErrorRate")
    first_sms, again_sms = pages_to(twilio, ALICE)
    code = code_of(again_sms)
    assert again_sms.body == (f"CRITICAL HighErrorRate (api): error rate 7.2% > 5%. Reply {code} A to ack, "
                              f"{code} E to escalate, {code} R to resolve")
    [event] = await timed_out_events(h)
    assert (event.actor, event.detail["by"], event.detail["seconds"], event.detail["restarted"]) == (
        None, ALICE, 1800, True)
    async with h.bot.services.sessions() as s:
        group = await s.scalar(select(AlertGroup))
        assert group is not None
        assert (group.status, group.acknowledged_at, group.acknowledged_by, group.ack_timeout_at) == (
            "firing", None, None, None)
    assert first_sms.body != ""


async def test_acknowledging_again_restarts_the_timer(h: Harness, twilio: TwilioStandIn) -> None:
    msg = await fire(h)
    await at_minute(h, 1)
    await click(h, msg, AlertAction.ACKNOWLEDGE)
    await at_minute(h, 31)  # ran out: firing, step 1 again
    assert sent(h, twilio)["DM Alice"] == 2
    await at_minute(h, 33)
    await click(h, msg, AlertAction.ACKNOWLEDGE)  # a fresh 30m from now
    assert f"<!date^{int((T0 + timedelta(minutes=63)).timestamp())}^{{time}}|" in alert_text(h)
    await at_minute(h, 62)
    assert sent(h, twilio)["DM Alice"] == 2 and "👀 *Acknowledged*" in alert_text(h)
    await at_minute(h, 63)
    assert sent(h, twilio)["DM Alice"] == 3
    assert thread_texts(h, msg).count(NOTE) == 2


async def test_acknowledged_again_by_sms_the_timer_restarts_too(h: Harness, twilio: TwilioStandIn) -> None:
    msg = await fire(h)
    await at_minute(h, 5)
    [page] = pages_to(twilio, ALICE)
    answer = await reply(h, twilio, ALICE, f"{code_of(page)} A")
    assert answer.message.startswith("Acknowledged")
    await h.drain()
    assert "· back to firing at" in alert_text(h)
    await at_minute(h, 35)
    assert "⏰ Acknowledged 30m ago by Alice (SMS) and not resolved: firing again, paging from step 1." in \
        thread_texts(h, msg)


@pytest.mark.parametrize("action", [AlertAction.RESOLVE, AlertAction.UNACKNOWLEDGE])
async def test_resolving_or_taking_the_acknowledgement_back_cancels_it(
        h: Harness, twilio: TwilioStandIn, action: AlertAction) -> None:
    msg = await fire(h)
    await at_minute(h, 1)
    await click(h, msg, AlertAction.ACKNOWLEDGE)
    await at_minute(h, 10)
    await click(h, msg, action)
    assert "back to firing at" not in alert_text(h)
    before = sent(h, twilio)
    await at_minute(h, 45)
    assert sent(h, twilio) == before
    assert await timed_out_events(h) == []
    assert not any(t.startswith("⏰") for t in thread_texts(h, msg))


async def test_a_severity_without_ack_timeout_stays_acknowledged(
        slack: SlackStandIn, clock: ManualClock, db_url: str, twilio: TwilioStandIn) -> None:
    async with start_harness(slack=slack, clock=clock, db_url=db_url, settings=twilio_settings(twilio)) as h:
        msg = await fire(h)
        await click(h, msg, AlertAction.ACKNOWLEDGE)
        assert "👀 *Acknowledged* by <@U0ALICE01> after 0s" in alert_text(h)
        assert "back to firing" not in alert_text(h)
        await at_minute(h, 24 * 60)
        assert "👀 *Acknowledged*" in alert_text(h) and await timed_out_events(h) == []


async def test_a_restart_in_between_fires_it_once(slack: SlackStandIn, clock: ManualClock, db_url: str,
                                                  twilio: TwilioStandIn) -> None:
    async with bot(slack, clock, db_url, twilio) as first:
        msg = await fire(first)
        await at_minute(first, 2)
        await click(first, msg, AlertAction.ACKNOWLEDGE)
    clock.set(T0 + timedelta(minutes=40))  # the deadline (32m) passes while the bot is down
    async with bot(slack, clock, db_url, twilio) as second:
        await second.drain()
        await second.drain()
        assert sent(second, twilio)["DM Alice"] == 2
        assert thread_texts(second, msg).count(
            "⏰ Acknowledged 30m ago by <@U0ALICE01> and not resolved: firing again, paging from step 1.") == 1
        assert len(await timed_out_events(second)) == 1
        assert "🚨 *Firing*" in alert_text(second)


@pytest.mark.postgres
async def test_two_replicas_on_postgres_fire_it_once(slack: SlackStandIn, clock: ManualClock, pg_url: str,
                                                     twilio: TwilioStandIn) -> None:
    async with bot(slack, clock, pg_url, twilio, background=False) as a, \
            bot(slack, clock, pg_url, twilio, background=False) as b:
        msg = await fire(a)
        await a.driver.click(msg, AlertAction.ACKNOWLEDGE, user_id=ALICE)
        await asyncio.gather(a.drain(), b.drain())
        clock.set(T0 + timedelta(minutes=30, seconds=1))
        for _ in range(3):
            await asyncio.gather(a.drain(), b.drain())
        assert sent(a, twilio)["DM Alice"] == 2
        assert thread_texts(a, msg).count(
            "⏰ Acknowledged 30m ago by <@U0ALICE01> and not resolved: firing again, paging from step 1.") == 1
        assert len(await timed_out_events(a)) == 1


async def test_acknowledging_an_acknowledged_alert_again_renews_the_timer(h: Harness, twilio: TwilioStandIn) -> None:
    """Replying A again while acknowledged says "still on it": the 30 minutes start again from then."""
    msg = await fire(h)
    await at_minute(h, 5)
    [page] = pages_to(twilio, ALICE)
    assert (await reply(h, twilio, ALICE, f"{code_of(page)} A")).message.startswith("Acknowledged")
    await at_minute(h, 20)
    again = await reply(h, twilio, ALICE, f"{code_of(page)} A")
    assert again.message == (f"{code_of(page)} HighErrorRate was already acknowledged by Alice. "
                             "Its acknowledgement timeout starts again now.")
    await h.drain()
    assert f"<!date^{int((T0 + timedelta(minutes=50)).timestamp())}^{{time}}|" in alert_text(h)
    await at_minute(h, 49)
    assert "👀 *Acknowledged*" in alert_text(h) and await timed_out_events(h) == []
    await at_minute(h, 50)
    assert "⏰ Acknowledged 45m ago by Alice (SMS) and not resolved: firing again, paging from step 1." in \
        thread_texts(h, msg)
