"""Webhook in, actionable Slack message out: what the team sees in its channel, over real HTTP."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.alerts.models import Alert, AlertEvent, Silence
from bot.clock import ManualClock
from bot.sandbox.slack import SlackStandIn
from bot.slack.ids import AlertAction, OverflowChoice
from tests.support.factories import ALICE, BOB, T0, TOKENS, am_alert, am_notification, make_config
from tests.support.harness import Harness, start_harness
from tests.support.visible import buttons, overflow_options, visible_text

PAYLOADS = Path(__file__).parent / "payloads"

# These tests are about the channel message; paging has its own tests (tests/escalation).
NO_PAGING = """
severities:
  critical: {escalate: false}
  high: {escalate: false}
"""


@pytest.fixture
async def harness(slack: SlackStandIn, clock: ManualClock, db_url: str) -> AsyncIterator[Harness]:
    async with start_harness(slack=slack, clock=clock, db_url=db_url, config=make_config(NO_PAGING)) as h:
        yield h


async def fire(h: Harness, *alerts: dict, **kw: str) -> dict:
    status, body = await h.alertmanager(am_notification(*alerts, **kw))
    assert status == 202, body
    await h.drain()
    return body


async def count(h: Harness, model: type) -> int:
    async with h.bot.services.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def test_firing_alert_posts_one_actionable_message(harness: Harness) -> None:
    body = await fire(harness, am_alert())
    assert body["status"] == "accepted" and body["alerts"] == 1
    [msg] = harness.slack.messages("platform-alerts")
    text = visible_text(msg)
    assert text.startswith("🔴 HighErrorRate")
    assert "🚨 *Firing* — not acknowledged yet" in text
    assert "*Severity*\n🔴 critical" in text and "*Service*\napi" in text and "*Team*\nplatform" in text
    assert "error rate 7.2% &gt; 5%" in text  # the summary annotation, escaped for Slack
    assert "`instance=api-1:9090`" in text
    assert buttons(msg) == ["📖 Runbook", "🔎 Source", "📋 Playbook: High error rate", "Acknowledge", "Escalate",
                            "Resolve", "Declare incident"]
    assert overflow_options(msg) == ["💤 Snooze 30m", "💤 Snooze 1h", "💤 Snooze 4h", "🔕 Silence similar 1h"]
    assert msg.text == "🔴 CRITICAL HighErrorRate (api): Firing"
    assert msg.metadata and msg.metadata["event_type"] == "watchstander_alert"


async def test_ha_duplicates_and_repeats_never_post_a_second_message(harness: Harness) -> None:
    await fire(harness, am_alert())
    await fire(harness, am_alert())  # the second Alertmanager replica, seconds later
    [msg] = harness.slack.messages("platform-alerts")
    assert not msg.edits
    harness.clock.advance(timedelta(hours=4))  # Alertmanager's repeat_interval
    await fire(harness, am_alert(summary="error rate 9.1% > 5%"))
    [msg] = harness.slack.messages("platform-alerts")
    text = visible_text(msg)
    assert "error rate 9.1% &gt; 5%" in text and "*Seen*\n2 times" in text
    assert await count(harness, Alert) == 1


async def test_one_notification_is_one_message_listing_the_group(harness: Harness) -> None:
    alerts = [am_alert(fingerprint=f"fp-{i}", labels={"instance": f"api-{i}:9090"}) for i in range(12)]
    await fire(harness, *alerts)
    [msg] = harness.slack.messages("platform-alerts")
    text = visible_text(msg)
    assert text.startswith("🔴 HighErrorRate (12 of 12 firing)")
    assert "instance=api-0:9090" in text and "instance=api-9:9090" in text
    assert "instance=api-10:9090" not in text and "+2 more" in text
    resolved = [am_alert(fingerprint="fp-0", status="resolved", labels={"instance": "api-0:9090"})]
    await fire(harness, *resolved)
    [msg] = harness.slack.messages("platform-alerts")
    assert visible_text(msg).startswith("🔴 HighErrorRate (11 of 12 firing)")


async def test_grafanas_documented_two_alert_notification_names_both_alerts(harness: Harness) -> None:
    # Grafana's own webhook example: "High memory usage" and "High CPU usage" in one notification.
    body = json.loads((PAYLOADS / "grafana_documented.json").read_text())
    status, answer = await harness.post("/alerts/grafana", body, token=TOKENS["GRAFANA_TOKEN"])
    assert status == 202, answer
    await harness.drain()
    [msg] = harness.slack.messages("alerts")
    text = visible_text(msg)
    assert text.startswith("🟠 High memory usage (2 of 2 firing)")
    members = text.split("\n")
    assert "🟠 team=blue, zone=us-1 — This alert was triggered for zone us-1" in members
    assert "🟠 *High CPU usage* (team=blue, zone=eu-1) — This alert was triggered for zone eu-1" in members


async def test_a_group_not_grouped_by_alertname_names_each_alert(harness: Harness) -> None:
    # Alertmanager with group_by: [job]: two different alerts of one job arrive together.
    errors = am_alert("HighErrorRate", fingerprint="fp-err", labels={"job": "api"})
    latency = am_alert("HighLatency", fingerprint="fp-lat", labels={"job": "api"}, summary="p99 1.8s > 1s")
    await fire(harness, errors, latency, group_key='{}:{job="api"}')
    [msg] = harness.slack.messages("platform-alerts")
    members = visible_text(msg).split("\n")
    assert "🔴 instance=api-1:9090, job=api, service=api — error rate 7.2% &gt; 5%" in members
    assert "🔴 *HighLatency* (instance=api-1:9090, job=api, service=api) — p99 1.8s &gt; 1s" in members


async def test_acknowledge_edits_in_place_and_replies_in_thread(harness: Harness) -> None:
    await fire(harness, am_alert())
    [msg] = harness.slack.messages("platform-alerts")
    gid = msg.metadata["event_payload"]["group_id"]
    alices_view = copy.deepcopy(msg)  # her Slack still shows the Acknowledge button
    harness.clock.advance(timedelta(minutes=1, seconds=12))
    resp = await harness.driver.click(msg, AlertAction.ACKNOWLEDGE, user_id=BOB)
    assert resp.status == 200
    await harness.drain()
    [msg] = harness.slack.messages("platform-alerts")
    assert "👀 *Acknowledged* by <@U0BOB0001> after 1m 12s" in visible_text(msg)
    assert "Unacknowledge" in buttons(msg) and "Acknowledge" not in buttons(msg)
    assert [r.text for r in harness.slack.thread("platform-alerts", msg.ts)][1:] == [
        "👀 Acknowledged by <@U0BOB0001> after 1m 12s."
    ]
    # Alice clicks too, a moment later: one acknowledgement, and she is told who has it.
    harness.clock.advance(timedelta(seconds=5))
    await harness.driver.click(alices_view, AlertAction.ACKNOWLEDGE, user_id=ALICE)
    told = await harness.slack.wait_for(lambda: harness.slack.ephemerals(ALICE))
    await harness.drain()
    assert [e.text for e in told] == [f"Alert #{gid} is already acknowledged by <@U0BOB0001>."]
    assert not harness.slack.ephemerals(BOB)
    [msg] = harness.slack.messages("platform-alerts")
    assert "👀 *Acknowledged* by <@U0BOB0001> after 1m 12s" in visible_text(msg)
    assert [r.text for r in harness.slack.thread("platform-alerts", msg.ts)][1:] == [
        "👀 Acknowledged by <@U0BOB0001> after 1m 12s."
    ]


async def test_unacknowledge_puts_the_alert_back_to_firing(harness: Harness) -> None:
    await fire(harness, am_alert())
    [msg] = harness.slack.messages("platform-alerts")
    await harness.driver.click(msg, AlertAction.ACKNOWLEDGE, user_id=BOB)
    await harness.drain()
    # A button naming an alert that does not exist (say, from another install) changes nothing.
    await harness.driver.click(msg, AlertAction.UNACKNOWLEDGE, user_id=ALICE, value="999999")
    told = await harness.slack.wait_for(lambda: harness.slack.ephemerals(ALICE))
    assert [e.text for e in told] == ["alert #999999 is not stored: it may be from another install, or resolved and since pruned."]
    assert "👀 *Acknowledged* by <@U0BOB0001>" in visible_text(harness.slack.messages("platform-alerts")[0])
    await harness.driver.click(harness.slack.messages("platform-alerts")[0], AlertAction.UNACKNOWLEDGE,
                               user_id=ALICE)
    await harness.drain()
    [msg] = harness.slack.messages("platform-alerts")
    assert "🚨 *Firing* — not acknowledged yet" in visible_text(msg)
    assert "Acknowledge" in buttons(msg) and "Unacknowledge" not in buttons(msg)
    assert [r.text for r in harness.slack.thread("platform-alerts", msg.ts)][-1] == (
        "↩️ <@U0ALICE01> took the acknowledgement back; the alert is firing again."
    )


async def test_two_people_clicking_acknowledge_at_once_yield_one_acknowledgement(harness: Harness) -> None:
    import asyncio

    await fire(harness, am_alert())
    [msg] = harness.slack.messages("platform-alerts")
    await asyncio.gather(*(harness.driver.click(msg, AlertAction.ACKNOWLEDGE, user_id=u)
                           for u in (ALICE, BOB, ALICE, BOB)))
    await harness.slack.wait_for(lambda: len(harness.slack.ephemerals()) == 3)
    await harness.drain()
    async with harness.bot.services.sessions() as s:
        acks = list(await s.scalars(select(AlertEvent).where(AlertEvent.kind == "acknowledged")))
    assert len(acks) == 1
    winner = acks[0].actor
    assert all(f"is already acknowledged by <@{winner}>" in e.text for e in harness.slack.ephemerals())
    thread = harness.slack.thread("platform-alerts", msg.ts)
    assert sum("Acknowledged by" in r.text for r in thread) == 1


async def test_alertmanager_resolve_edits_the_message_and_a_new_trigger_opens_a_new_one(harness: Harness) -> None:
    await fire(harness, am_alert())
    harness.clock.advance(timedelta(minutes=14))
    await fire(harness, am_alert(status="resolved"))
    [msg] = harness.slack.messages("platform-alerts")
    text = visible_text(msg)
    assert "✅ *Resolved* by Alertmanager after 14m 00s" in text
    assert "Acknowledge" not in buttons(msg)  # nothing left to do on it
    await fire(harness, am_alert(status="resolved"))  # the HA twin's resolve changes nothing
    assert len(harness.slack.messages("platform-alerts")) == 1
    harness.clock.advance(timedelta(minutes=30))
    await fire(harness, am_alert(starts_at="2026-11-24T13:40:00Z"))
    assert len(harness.slack.messages("platform-alerts")) == 2


async def test_resolve_button(harness: Harness) -> None:
    await fire(harness, am_alert())
    [msg] = harness.slack.messages("platform-alerts")
    harness.clock.advance(timedelta(minutes=3))
    await harness.driver.click(msg, AlertAction.RESOLVE, user_id=ALICE)
    await harness.drain()
    [msg] = harness.slack.messages("platform-alerts")
    assert "✅ *Resolved* by <@U0ALICE01> after 3m 00s" in visible_text(msg)
    assert [r.text for r in harness.slack.thread("platform-alerts", msg.ts)][1:] == [
        "✅ Resolved by <@U0ALICE01> after 3m 00s."
    ]
    # The links stay on the resolved message. Slack still sends a click on a link button and shows
    # the clicker an error unless the bot answers it; answering changes nothing.
    assert buttons(msg) == ["📖 Runbook", "🔎 Source", "📋 Playbook: High error rate"]
    before = len(harness.slack.calls)
    resp = await harness.driver.click(msg, AlertAction.LINK + ":0", user_id=BOB)
    await harness.drain()
    assert resp.status == 200 and resp.elapsed < 3
    assert harness.slack.calls[before:] == [] and not harness.slack.ephemerals(BOB)


async def test_snooze_from_the_overflow_menu(harness: Harness) -> None:
    await fire(harness, am_alert())
    [msg] = harness.slack.messages("platform-alerts")
    await harness.driver.click(msg, AlertAction.MORE, user_id=ALICE,
                               selected_option_value=f"{OverflowChoice.SNOOZE_1H}:{msg.metadata['event_payload']['group_id']}")
    await harness.drain()
    [msg] = harness.slack.messages("platform-alerts")
    # until an hour after the click by the bot's clock, shown in each reader's own zone
    until = int((T0 + timedelta(hours=1)).timestamp())
    assert f"💤 *Snoozed* until <!date^{until}^{{date_short_pretty}} {{time}}|2026-11-24 15:00 CET>" in (
        visible_text(msg)
    )
    assert [r.text for r in harness.slack.thread("platform-alerts", msg.ts)][1:] == [
        f"💤 Snoozed by <@U0ALICE01> for 60m, until <!date^{until}^{{time}}|2026-11-24 15:00 CET>."
    ]


async def test_silence_similar_keeps_later_alerts_quiet_but_recorded(harness: Harness) -> None:
    await fire(harness, am_alert())
    [msg] = harness.slack.messages("platform-alerts")
    gid = msg.metadata["event_payload"]["group_id"]
    await harness.driver.click(msg, AlertAction.MORE, user_id=ALICE,
                               selected_option_value=f"{OverflowChoice.SILENCE_1H}:{gid}")
    await harness.drain()
    assert "🔕 *Silenced* until" in visible_text(harness.slack.messages("platform-alerts")[0])
    async with harness.bot.services.sessions() as s:
        silence = await s.scalar(select(Silence))
    assert silence is not None and silence.matchers == {"alertname": "HighErrorRate", "service": "api"}
    await fire(harness, am_alert(fingerprint="fp-2", labels={"instance": "api-2:9090"}), group_key="other")
    assert len(harness.slack.messages("platform-alerts")) == 1
    assert await count(harness, Alert) == 2  # stored all the same
    harness.clock.advance(timedelta(hours=1, minutes=1))
    await fire(harness, am_alert(fingerprint="fp-3", labels={"instance": "api-3:9090"}), group_key="third")
    assert len(harness.slack.messages("platform-alerts")) == 2  # the silence is over


async def test_reacting_with_eyes_acknowledges_and_slack_retries_act_once(harness: Harness) -> None:
    await fire(harness, am_alert())
    [msg] = harness.slack.messages("platform-alerts")
    event = {"type": "reaction_added", "user": BOB, "reaction": "eyes", "item_user": msg.user,
             "item": {"type": "message", "channel": msg.channel, "ts": msg.ts}}
    first = await harness.driver.event(event, event_id="Ev0RETRY01")
    again = await harness.driver.event(event, event_id="Ev0RETRY01", retry_num=1)
    assert first.status == 200 and again.status == 200
    await harness.drain()
    async with harness.bot.services.sessions() as s:
        kinds = list(await s.scalars(select(AlertEvent.kind).order_by(AlertEvent.id)))
    assert kinds == ["received", "acknowledged"]
    assert "Acknowledged* by <@U0BOB0001>" in visible_text(harness.slack.messages("platform-alerts")[0])


async def test_routing_by_labels_and_the_default_channel(harness: Harness) -> None:
    await fire(harness, am_alert("PaymentGatewayErrors", fingerprint="pay", labels={"service": "checkout"}),
               group_key="pay")
    assert len(harness.slack.messages("payments-alerts")) == 1
    status, _ = await harness.post("/alerts/generic", {"title": "Nightly backup failed", "severity": "warning"},
                                   token=TOKENS["GENERIC_TOKEN"])
    assert status == 202
    await harness.drain()
    [msg] = harness.slack.messages("alerts")
    assert visible_text(msg).startswith("🟡 Nightly backup failed")


async def test_pagerduty_events_api_trigger_acknowledge_resolve(harness: Harness) -> None:
    event = {"routing_key": TOKENS["PD_ROUTING_KEY"], "event_action": "trigger",
             "payload": {"summary": "Disk almost full on db-1", "source": "db-1", "severity": "error",
                         "component": "postgres", "custom_details": {"service": "api", "free": "3%"}}}
    status, body = await harness.post("/v2/enqueue", event)
    assert status == 202
    assert body["status"] == "success" and body["message"] == "Event processed" and len(body["dedup_key"]) == 32
    await harness.drain()
    [msg] = harness.slack.messages("platform-alerts")  # routed by custom_details service=api
    assert visible_text(msg).startswith("🟠 Disk almost full on db-1")
    key = body["dedup_key"]
    for action, mark in (("acknowledge", "Acknowledged* by PagerDuty event"), ("resolve", "Resolved* by PagerDuty event")):
        status, body = await harness.post("/v2/enqueue", {"routing_key": TOKENS["PD_ROUTING_KEY"],
                                                          "event_action": action, "dedup_key": key})
        assert status == 202 and body["dedup_key"] == key
        await harness.drain()
        assert mark in visible_text(harness.slack.messages("platform-alerts")[0])
    assert len(harness.slack.messages("platform-alerts")) == 1


async def test_the_matching_playbook_opens_from_the_alert(harness: Harness) -> None:
    await fire(harness, am_alert("HighErrorRate", labels={"severity": "warning"}))
    [msg] = harness.slack.messages("platform-alerts")
    assert "📋 Playbook: High error rate" in buttons(msg)
    await harness.driver.click(msg, AlertAction.PLAYBOOK, user_id=ALICE)
    await harness.drain()
    [view] = harness.slack.open_views(ALICE)
    text = "\n".join(str(b.get("text", {}).get("text", "")) for b in view.blocks)
    assert "High error rate" in text and "*🔎 Investigate*\n1. " in text and "*🩹 Mitigate*" in text


async def test_a_playbook_slack_will_not_open_is_explained(harness: Harness) -> None:
    await fire(harness, am_alert("HighErrorRate", labels={"severity": "warning"}))
    [msg] = harness.slack.messages("platform-alerts")
    harness.slack.fail_next("views.open", error="expired_trigger_id")  # the click reached us after Slack's 3 s
    await harness.driver.click(msg, AlertAction.PLAYBOOK, user_id=ALICE)
    await harness.drain()
    assert harness.slack.open_views(ALICE) == []
    assert [e.text for e in harness.slack.ephemerals(ALICE)] == [
        "⚠️ Slack would not open the playbook (expired_trigger_id); please try again."]
