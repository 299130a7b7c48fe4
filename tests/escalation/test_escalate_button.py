"""The Escalate button: its dialog runs the next step now, or pages a person or another team instead."""

from __future__ import annotations

from datetime import timedelta

from bot.sandbox.slack import SandboxMessage
from bot.sandbox.slack_views import SandboxView
from bot.sandbox.twilio import TwilioStandIn
from bot.slack.ids import AlertAction, EscalateField
from tests.escalation.paging import fire, new_since, pages_to, sent, thread_texts
from tests.support.factories import ALICE, BOB, CAROL, DAVE, am_alert
from tests.support.harness import Harness


async def open_dialog(h: Harness, msg: SandboxMessage, user: str) -> SandboxView:
    resp = await h.driver.click(msg, AlertAction.ESCALATE, user_id=user)
    assert resp.status == 200
    [view] = await h.slack.wait_for(lambda: h.slack.open_views(user))  # the listener acks, then opens it
    return view


async def test_submitting_the_dialog_runs_the_next_step_now(pager: Harness, twilio: TwilioStandIn) -> None:
    msg = await fire(pager)
    pager.clock.advance(timedelta(minutes=1))
    view = await open_dialog(pager, msg, CAROL)
    assert view.title == "Escalate"
    assert "Submit to run the next step now: step 2, SMS to the primary." in str(view.blocks)
    before = sent(pager, twilio)
    resp = await pager.driver.submit_view(view, user_id=CAROL)
    assert resp.status == 200 and pager.slack.open_views(CAROL) == []
    await pager.drain()
    assert new_since(before, sent(pager, twilio)) == ["SMS Alice"]
    assert "⏫ <@U0CAROL01> escalated: step 2 runs now." in thread_texts(pager, msg)
    # Later steps keep their times: step 3 at 10m, not 5m after the click.
    before = sent(pager, twilio)
    pager.clock.advance(timedelta(minutes=8))
    await pager.drain()
    assert new_since(before, sent(pager, twilio)) == []
    pager.clock.advance(timedelta(minutes=1))
    await pager.drain()
    assert new_since(before, sent(pager, twilio)) == ["DM Bob", "SMS Bob"]


async def test_picking_a_person_pages_them_by_slack_and_sms(pager: Harness, twilio: TwilioStandIn) -> None:
    msg = await fire(pager)
    view = await open_dialog(pager, msg, ALICE)
    before = sent(pager, twilio)
    await pager.driver.submit_view(view, {EscalateField.PERSON: CAROL}, user_id=ALICE)
    await pager.drain()
    assert new_since(before, sent(pager, twilio)) == ["DM Carol", "SMS Carol"]
    assert "⏫ <@U0ALICE01> asked for <@U0CAROL01>." in thread_texts(pager, msg)
    dm = pager.slack.dms(CAROL)[0]
    assert dm.text.startswith("📟 Paged: 🔴 CRITICAL HighErrorRate (api)")
    assert "<@U0ALICE01> asked for you" in str(dm.blocks)
    # The policy itself carries on as before.
    pager.clock.advance(timedelta(minutes=5))
    await pager.drain()
    assert len(pages_to(twilio, ALICE)) == 1


async def test_picking_a_team_hands_the_alert_to_its_policy(pager: Harness, twilio: TwilioStandIn) -> None:
    msg = await fire(pager)
    view = await open_dialog(pager, msg, ALICE)
    await pager.driver.submit_view(view, {EscalateField.TEAM: "payments"}, user_id=ALICE)
    await pager.drain()
    replies = thread_texts(pager, msg)
    assert "⏫ <@U0ALICE01> handed this to team *payments*; its escalation policy starts now." in replies
    # payments has no schedule: its first step pages nobody, and says so rather than staying silent.
    assert "⚠️ Step 1: could not page slack:primary: nobody is on call as primary for payments." in replies
    before = sent(pager, twilio)
    pager.clock.advance(timedelta(minutes=20))
    await pager.drain()
    assert new_since(before, sent(pager, twilio)) == ["@here"]  # payments' default policy, not platform's


async def test_a_person_and_a_team_at_once_is_refused_in_the_dialog(pager: Harness, twilio: TwilioStandIn) -> None:
    msg = await fire(pager)
    view = await open_dialog(pager, msg, ALICE)
    before = sent(pager, twilio)
    resp = await pager.driver.submit_view(view, {EscalateField.PERSON: DAVE, EscalateField.TEAM: "payments"},
                                          user_id=ALICE)
    assert resp.json() == {"response_action": "errors",
                           "errors": {EscalateField.TEAM: "Pick a person or a team, not both."}}
    assert len(pager.slack.open_views(ALICE)) == 1
    await pager.drain()
    assert sent(pager, twilio) == before


async def test_an_alert_without_policy_asks_for_a_person_or_team(pager: Harness, twilio: TwilioStandIn) -> None:
    await fire(pager, am_alert(labels={"severity": "warning"}))
    msg = pager.slack.messages("platform-alerts")[0]
    view = await open_dialog(pager, msg, BOB)
    assert "has no escalation policy. Pick a person or a team to page" in str(view.blocks)
    resp = await pager.driver.submit_view(view, user_id=BOB)
    assert resp.json()["errors"][EscalateField.PERSON].startswith("Alert #")
    await pager.driver.submit_view(view, {EscalateField.PERSON: ALICE}, user_id=BOB)
    await pager.drain()
    assert sent(pager, twilio)["DM Alice"] == 1


async def test_escalating_a_resolved_alert_from_an_old_page_dm_says_so(pager: Harness) -> None:
    msg = await fire(pager)
    [dm] = pager.slack.dms(ALICE)  # the page DM keeps its buttons
    await pager.driver.click(msg, AlertAction.RESOLVE, user_id=BOB)
    await pager.drain()
    await pager.driver.click(dm, AlertAction.ESCALATE, user_id=ALICE)
    [note] = await pager.slack.wait_for(lambda: pager.slack.ephemerals(ALICE))
    assert note.text == "Alert #1 is already resolved; there is nobody to escalate to."
    assert pager.slack.open_views(ALICE) == []


async def test_a_dialog_slack_will_not_open_runs_the_next_step_and_says_so(pager: Harness,
                                                                         twilio: TwilioStandIn) -> None:
    msg = await fire(pager)
    pager.clock.advance(timedelta(minutes=1))
    pager.slack.fail_next("views.open", error="expired_trigger_id")  # the click reached us after Slack's 3 s
    before = sent(pager, twilio)
    resp = await pager.driver.click(msg, AlertAction.ESCALATE, user_id=CAROL)
    assert resp.status == 200
    await pager.drain()
    assert pager.slack.open_views(CAROL) == []
    assert [e.text for e in pager.slack.ephemerals(CAROL)] == ["Could not open the Escalate dialog, so step 2 runs now."]
    assert new_since(before, sent(pager, twilio)) == ["SMS Alice"]
