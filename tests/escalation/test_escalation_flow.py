"""An unacknowledged critical alert walks up the team's policy — DM, SMS, backup, @here, repeat —
with the timing the config says, over real HTTP against the Slack and Twilio stand-ins."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.alerts.models import AlertEvent
from bot.sandbox.twilio import TwilioStandIn
from bot.slack.ids import AlertAction, OverflowChoice
from tests.escalation.paging import code_of, fire, new_since, pages_to, sent, thread_texts
from tests.support.factories import ALICE, BOB, make_config
from tests.support.harness import Harness, start_harness
from tests.support.visible import visible_text


async def walk(h: Harness, twilio: TwilioStandIn | None, minutes: int) -> list[tuple[int, str]]:
    """Advance the clock a minute at a time, running what is due; what was sent at which minute."""
    log: list[tuple[int, str]] = [(0, what) for what in sorted(sent(h, twilio).elements())]
    for minute in range(1, minutes + 1):
        before = sent(h, twilio)
        h.clock.advance(timedelta(minutes=1))
        await h.drain()
        log += [(minute, what) for what in new_since(before, sent(h, twilio))]
    return log


async def test_unacknowledged_critical_alert_walks_the_whole_policy_twice(pager: Harness,
                                                                          twilio: TwilioStandIn) -> None:
    msg = await fire(pager)
    assert await walk(pager, twilio, 70) == [
        (0, "DM Alice"),
        (5, "SMS Alice"),
        (10, "DM Bob"), (10, "SMS Bob"),
        (20, "@here"),
        # repeat: 1 — the policy runs again, one step-gap (10m) after its last step
        (30, "DM Alice"),
        (35, "SMS Alice"),
        (40, "DM Bob"), (40, "SMS Bob"),
        (50, "@here"),
    ]
    [first, again] = pages_to(twilio, ALICE)
    assert first.body == again.body
    code = code_of(first)
    assert first.body == (f"CRITICAL HighErrorRate (api): error rate 7.2% > 5%. Reply {code} A to ack, "
                          f"{code} E to escalate, {code} R to resolve")
    assert (first.segments, first.encoding) == (1, "GSM-7")
    dm = pager.slack.dms(ALICE)[0]
    assert visible_text(dm).startswith("📟 *You are being paged* for *platform* (step 1).\n🔴 HighErrorRate")
    assert "Acknowledge" in str(dm.blocks)
    here = [m for m in pager.slack.messages("platform-alerts") if "<!here>" in m.text][0]
    assert "Nobody has acknowledged 🔴 *HighErrorRate* (api) after 20m 00s" in here.text
    assert thread_texts(pager, msg) == [
        "📟 Paging <@U0ALICE01> (step 1)",
        "📱 Paging Alice by SMS (step 2)",
        "📱 Paging Bob by SMS (step 3)", "📟 Paging <@U0BOB0001> (step 3)",
        "📣 Calling the channel with @here (step 4)",
        "📟 Paging <@U0ALICE01> (step 1, round 2)",
        "📱 Paging Alice by SMS (step 2, round 2)",
        "📱 Paging Bob by SMS (step 3, round 2)", "📟 Paging <@U0BOB0001> (step 3, round 2)",
        "📣 Calling the channel with @here (step 4, round 2)",
    ]
    async with pager.bot.services.sessions() as s:
        paged = list(await s.scalars(select(AlertEvent).where(AlertEvent.kind == "paged").order_by(AlertEvent.id)))
    assert [(e.actor, e.via, e.detail["step"], e.detail["round"]) for e in paged[:5]] == [
        (ALICE, "slack", 1, 1), (ALICE, "sms", 2, 1), (BOB, "sms", 3, 1), (BOB, "slack", 3, 1), (None, "channel", 4, 1)]
    assert all(isinstance(e.detail["page_id"], int) for e in paged)


async def test_acknowledge_button_stops_the_policy(pager: Harness, twilio: TwilioStandIn) -> None:
    msg = await fire(pager)
    pager.clock.advance(timedelta(minutes=6))
    await pager.drain()
    await pager.driver.click(msg, AlertAction.ACKNOWLEDGE, user_id=ALICE)
    await pager.drain()
    assert await walk(pager, twilio, 60) == [(0, "DM Alice"), (0, "SMS Alice")]
    assert "👀 *Acknowledged* by <@U0ALICE01> after 6m 00s" in visible_text(pager.slack.messages("platform-alerts")[0])


async def test_resolve_from_the_source_stops_the_policy(pager: Harness, twilio: TwilioStandIn) -> None:
    from tests.support.factories import am_alert

    await fire(pager)
    pager.clock.advance(timedelta(minutes=3))
    await fire(pager, am_alert(status="resolved"))
    assert await walk(pager, twilio, 30) == [(0, "DM Alice")]


async def test_snooze_pauses_the_policy_and_its_end_restarts_it(pager: Harness, twilio: TwilioStandIn) -> None:
    msg = await fire(pager)
    pager.clock.advance(timedelta(minutes=1))
    gid = msg.metadata["event_payload"]["group_id"] if msg.metadata else 0
    await pager.driver.click(msg, AlertAction.MORE, user_id=ALICE,
                             selected_option_value=f"{OverflowChoice.SNOOZE_30M}:{gid}")
    await pager.drain()
    log = await walk(pager, twilio, 40)
    # Snoozed at 1m for 30m: nothing until 31m, when it comes back and the policy starts over from
    # step 1, timed from the snooze's end (walk minute m is 1 + m minutes after the alert fired).
    assert log == [(0, "DM Alice"), (30, "DM Alice"), (35, "SMS Alice"), (40, "DM Bob"), (40, "SMS Bob")]
    text = visible_text(pager.slack.messages("platform-alerts")[0])
    assert "🚨 *Firing*" in text
    assert "🚨 The snooze ended and the alert is still firing." in thread_texts(pager, msg)


async def test_medium_alerts_get_the_channel_message_only(pager: Harness, twilio: TwilioStandIn) -> None:
    from tests.support.factories import am_alert

    await fire(pager, am_alert(labels={"severity": "warning"}))
    assert await walk(pager, twilio, 30) == []
    assert len(pager.slack.messages("platform-alerts")) == 1


async def test_an_alert_no_team_owns_says_so_and_pages_nobody(pager: Harness, twilio: TwilioStandIn) -> None:
    from tests.support.factories import TOKENS

    status, _ = await pager.post("/alerts/generic", {"title": "Disk full on build-7", "severity": "critical"},
                                 token=TOKENS["GENERIC_TOKEN"])
    assert status == 202
    await pager.drain()
    [msg] = pager.slack.messages("alerts")
    replies = [r.text for r in pager.slack.thread("alerts", msg.ts)[1:]]
    assert replies == ["ℹ️ No team owns this alert, so nobody is paged. Add a route for it in the config to page a team."]
    assert await walk(pager, twilio, 30) == []


async def test_without_twilio_credentials_sms_steps_are_skipped_with_a_note(harness: Harness) -> None:
    msg = await fire(harness)
    assert await walk(harness, None, 12) == [(0, "DM Alice"), (10, "DM Bob")]
    notes = [t for t in thread_texts(harness, msg) if t.startswith("⚠️")]
    assert notes == [
        "⚠️ Step 2: could not page sms:primary: SMS is not set up (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and "
        "TWILIO_FROM_NUMBER are not all set).",
        "⚠️ Step 3: could not page sms:backup: SMS is not set up (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and "
        "TWILIO_FROM_NUMBER are not all set).",
    ]


async def test_the_policy_is_snapshotted_when_the_alert_fires(slack, clock, db_url, twilio) -> None:  # type: ignore[no-untyped-def]
    from tests.escalation.conftest import twilio_settings

    settings = twilio_settings(twilio)
    async with start_harness(slack=slack, clock=clock, db_url=db_url, settings=settings) as h:
        await fire(h)
    # The config changes (a restart with a new policy): the running escalation keeps its snapshot.
    fast = make_config().model_copy(deep=True)
    team = fast.teams[0].model_copy(update={"escalation": fast.teams[0].escalation[:1], "repeat": 0})
    fast = fast.model_copy(update={"teams": [team, *fast.teams[1:]]})
    async with start_harness(slack=slack, clock=clock, db_url=db_url, settings=settings, config=fast) as h:
        assert await walk(h, twilio, 11) == [(0, "DM Alice"), (5, "SMS Alice"), (10, "DM Bob"), (10, "SMS Bob")]
    assert BOB
