"""Declaring an incident, over real HTTP: slash command → modal → channel, invites, pinned header,
playbook checklist, linked alert, bookmarks and the announcement; and from an alert or a message."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.incidents.models import IncidentAlert
from bot.outbox import OutboxMessage
from bot.slack.ids import AlertAction, Callback, IncidentAction, IncidentField
from tests.incidents.flow import CHANNEL, declare, ephemeral, open_modal, set_up, stored, submit_declare
from tests.support.factories import ALICE, BOB, CAROL, am_alert, am_notification
from tests.support.harness import Harness
from tests.support.visible import buttons, visible_text


async def test_declare_sets_up_the_channel_and_announces_it(harness: Harness) -> None:
    h = harness
    channel = await declare(h, "Checkout failing", user=BOB, severity="SEV1", commander=CAROL, team="platform",
                            summary="Customers get a 502 on the pay button.", service="checkout")
    assert channel.name == CHANNEL
    # The reporter, the commander, and the platform team's on-call (Alice this week) are in.
    assert {BOB, CAROL, ALICE} <= set(h.slack.members(CHANNEL))

    [header] = h.slack.pins(CHANNEL)
    text = visible_text(header)
    assert text.startswith("🔴 SEV1 · Checkout failing")
    assert "*Severity*\n🔴 SEV1 — Platform down, payments failing, data loss" in text
    assert "*Status*\n🔍 Investigating" in text and "*Commander*\n<@U0CAROL01>" in text
    assert "*Started*\n<!date^1795525200^" in text and "2026-11-24 14:00 CET" in text
    assert "Customers get a 502 on the pay button." in text
    assert "playbook: Payment processing failures" in text
    assert buttons(header) == ["Post update", "Change severity", "Assign role", "Resolve"]

    # "Checkout" in the title matches the payments playbook: posted as a checklist, one box a step.
    checklist = [m for m in h.slack.messages(CHANNEL) if "📋 *Payment processing failures*" in visible_text(m)]
    assert [visible_text(m).split("\n", 1)[0] for m in checklist] == [
        "📋 *Payment processing failures* — Investigate", "📋 *Payment processing failures* — Mitigate",
        "📋 *Payment processing failures* — Fix"]
    assert f"{IncidentAction.CHECKLIST}:investigate-1" in checklist[0].action_ids
    # No alert is linked, so the bookmarks are the playbook's links, in its order.
    assert [(b["type"], b["title"], b["link"]) for b in h.slack.bookmarks(CHANNEL)] == [
        ("link", "📋 Stripe status", "https://status.stripe.com/"),
        ("link", "📋 Stripe: decline codes", "https://docs.stripe.com/declines/codes"),
        ("link", "📋 Stripe: idempotent requests", "https://docs.stripe.com/api/idempotent_requests"),
    ]

    [announcement] = h.slack.messages("incidents")
    assert "🔴 SEV1 incident declared: Checkout failing" in visible_text(announcement)
    assert f"<#{channel.id}>" in visible_text(announcement) and "Commander: <@U0CAROL01>" in visible_text(announcement)
    [incident] = await stored(h)
    assert (incident.severity, incident.commander, incident.reporter, incident.team) == ("SEV1", CAROL, BOB,
                                                                                          "platform")
    assert incident.header_ts == header.ts and incident.announcement_ts == announcement.ts


async def test_a_taken_name_gets_a_suffix_and_a_failed_invite_does_not_stop_the_rest(harness: Harness) -> None:
    h = harness
    h.slack.add_channel(CHANNEL)  # someone made it by hand
    h.slack.fail_next("conversations.invite", error="user_is_restricted")
    channel = await declare(h, "Checkout failing", user=BOB, commander=CAROL, team="platform")
    assert channel.name == f"{CHANNEL}-2"
    assert {CAROL, ALICE} <= set(channel.members) and BOB not in channel.members
    told = await ephemeral(h, BOB, "is declared")
    assert "could not invite <@U0BOB0001> (user_is_restricted)" in told.text
    [header] = h.slack.pins(channel.id)
    assert visible_text(header).startswith("🔴 SEV1 · Checkout failing")
    [announcement] = h.slack.messages("incidents")
    assert f"<#{channel.id}>" in visible_text(announcement)


async def test_declaring_from_an_alert_prefills_the_modal_and_links_the_alert(harness: Harness) -> None:
    h = harness
    status, _ = await h.alertmanager(am_notification(am_alert("HighErrorRate")))
    assert status == 202
    await h.drain()
    [alert_message] = h.slack.messages("platform-alerts")
    await h.driver.click(alert_message, AlertAction.DECLARE_INCIDENT, user_id=ALICE)
    view = await open_modal(h, ALICE, Callback.DECLARE_MODAL)
    inputs = {b["block_id"]: b["element"] for b in view.blocks if b["type"] == "input"}
    assert inputs[IncidentField.TITLE]["initial_value"] == "HighErrorRate"
    assert inputs[IncidentField.SEVERITY]["initial_option"]["value"] == "SEV1"  # a critical alert
    assert inputs[IncidentField.SERVICE]["initial_value"] == "api"
    assert inputs[IncidentField.TEAM]["initial_option"]["value"] == "platform"
    assert inputs[IncidentField.COMMANDER]["initial_user"] == ALICE
    await submit_declare(h, view, user=ALICE, severity="SEV2")
    channel = await set_up(h, ALICE)
    assert channel.name == "inc-2026-11-24-higherrorrate"
    linked = await h.slack.wait_for_message(channel.id, contains="Linked alerts")
    assert "HighErrorRate" in linked.text and "critical, firing" in linked.text
    thread = h.slack.thread("platform-alerts", alert_message.ts)
    assert any(f"Incident #1 declared for this alert: <#{channel.id}>" in r.text for r in thread)
    # the alert's own links first, then its playbook's (six at most)
    assert [(b["title"], b["link"]) for b in h.slack.bookmarks(channel.id)] == [
        ("📖 Runbook", "https://runbooks.example.com/high-error-rate"),
        ("🔎 Source", "http://prometheus.example.com/graph?g0.expr=rate"),
        ("📋 Google SRE workbook: alerting on SLOs", "https://sre.google/workbook/alerting-on-slos/"),
        ("📋 Google SRE book: handling overload", "https://sre.google/sre-book/handling-overload/"),
        ("📋 Google SRE book: addressing cascading failures",
         "https://sre.google/sre-book/addressing-cascading-failures/"),
    ]
    async with h.bot.services.sessions() as s:
        assert len(list(await s.scalars(select(IncidentAlert)))) == 1
    # The error-rate playbook matched the alert's name.
    assert any("📋 *High error rate* — Investigate" in visible_text(m) for m in h.slack.messages(channel.id))


async def test_declaring_from_a_message_shortcut(harness: Harness) -> None:
    h = harness
    message, _ = await h.driver.say("platform-alerts", "Search returns nothing for everyone since 13:55",
                                    user_id=CAROL)
    await h.driver.shortcut(Callback.DECLARE_FROM_MESSAGE, message, user_id=CAROL)
    view = await open_modal(h, CAROL, Callback.DECLARE_MODAL)
    title = next(b for b in view.blocks if b.get("block_id") == IncidentField.TITLE)
    assert title["element"]["initial_value"] == "Search returns nothing for everyone since 13:55"
    await submit_declare(h, view, user=CAROL, severity="SEV2", title="Search is empty")
    channel = await set_up(h, CAROL)
    source = await h.slack.wait_for_message(channel.id, contains="Declared from")
    assert "sandbox.slack.com/archives" in source.text and "<@U0CAROL01>" in source.text
    [incident] = await stored(h)
    assert (incident.title, incident.severity, incident.commander) == ("Search is empty", "SEV2", CAROL)


async def test_declaring_from_a_long_message_in_another_script(harness: Harness) -> None:
    """The form carries the message in private_metadata (3,000 characters at most), where JSON writes
    each Japanese character as six: a 1,000-character cut of the text was still too long for Slack."""
    h = harness
    text = "検索結果が全員に対して空です。" * 200  # 3,000 characters
    message, _ = await h.driver.say("platform-alerts", text, user_id=CAROL)
    await h.driver.shortcut(Callback.DECLARE_FROM_MESSAGE, message, user_id=CAROL)
    view = await open_modal(h, CAROL, Callback.DECLARE_MODAL)
    title = next(b for b in view.blocks if b.get("block_id") == IncidentField.TITLE)
    assert title["element"]["initial_value"] == text[:149] + "…"
    await submit_declare(h, view, user=CAROL, severity="SEV2", title="Search is empty")
    channel = await set_up(h, CAROL)
    source = await h.slack.wait_for_message(channel.id, contains="Declared from")
    assert f"/archives/{message.channel}/p{message.ts.replace('.', '')}|a message> from <@U0CAROL01>" in source.text


async def test_the_modal_refuses_an_empty_title_and_nothing_is_declared(harness: Harness) -> None:
    h = harness
    await h.driver.slash("/incident", "declare", user_id=BOB, channel_id=h.slack.channel_id("platform-alerts"))
    view = await open_modal(h, BOB, Callback.DECLARE_MODAL)
    response = await h.driver.submit_view(view, {IncidentField.TITLE: "   ", IncidentField.SEVERITY: "SEV2"},
                                          user_id=BOB)
    body = response.json()
    assert body["response_action"] == "errors"
    assert "Give the incident a title" in body["errors"][IncidentField.TITLE]
    assert view.is_open  # still in front of them, to fix
    await h.drain()
    assert await stored(h) == [] and not any(c.name.startswith("inc-") for c in h.slack.channels)


async def test_when_slack_refuses_the_channel_the_declarer_is_told_and_nothing_waits_for_it(harness: Harness) -> None:
    h = harness
    h.slack.fail_next("conversations.create", error="restricted_action")
    await h.driver.slash("/incident", "declare Checkout failing", user_id=BOB,
                         channel_id=h.slack.channel_id("platform-alerts"))
    await submit_declare(h, await open_modal(h, BOB, Callback.DECLARE_MODAL), user=BOB)
    told = await ephemeral(h, BOB, "would not create its channel")
    assert "Incident #1 is recorded, but Slack would not create its channel `inc-2026-11-24-checkout-failing` " \
           "(restricted_action)" in told.text
    h.clock.advance(timedelta(hours=1))  # the status nudge comes due, with no channel to nudge in
    await h.drain()
    async with h.bot.services.sessions() as s:
        pending = list(await s.scalars(select(OutboxMessage).where(OutboxMessage.sent_at.is_(None),
                                                                   OutboxMessage.failed_at.is_(None))))
    assert pending == [] and h.slack.messages("incidents") == []


async def test_a_form_slack_will_not_open_is_explained(harness: Harness) -> None:
    h = harness
    h.slack.fail_next("views.open", error="expired_trigger_id")
    await h.driver.slash("/incident", "declare Checkout failing", user_id=BOB,
                         channel_id=h.slack.channel_id("platform-alerts"))
    told = await ephemeral(h, BOB, "would not open the form")
    assert told.text == "⚠️ Slack would not open the form (expired_trigger_id); please try again."
    assert await stored(h) == []
