"""Paging by phone call: the call Twilio places, what it says, and each key acting like the Slack
buttons; calls that reach nobody are recorded in the thread and the policy goes on.

The platform policy here: 0m DM Alice · 5m call Alice · 10m SMS Bob, DM Bob · 20m @here.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.alerts.models import AlertEvent, AlertGroup
from bot.config import ConfigError, parse_config
from bot.escalation.policy import describe_target
from bot.sandbox.slack import SlackStandIn
from bot.sandbox.twilio import TwilioStandIn
from bot.slack.ids import AlertAction
from tests.escalation.calling import INTRO, PROMPT, call_alice, call_config, call_config_text, call_page
from tests.escalation.conftest import twilio_settings
from tests.escalation.paging import BOT_NUMBER, PHONES, PUBLIC_URL, fire, sent, thread_texts
from tests.support.factories import ALICE, BOB, TOKENS, config_text
from tests.support.harness import Harness, start_harness
from tests.support.process import start_bot
from tests.support.visible import visible_text


async def events(h: Harness, kind: str) -> list[AlertEvent]:
    async with h.bot.services.sessions() as s:
        return list(await s.scalars(select(AlertEvent).where(AlertEvent.kind == kind).order_by(AlertEvent.id)))


async def test_a_call_step_places_one_call_that_reads_the_alert_and_offers_three_keys(
        caller: Harness, twilio: TwilioStandIn) -> None:
    call = await call_alice(caller, twilio)
    page = await call_page(caller)
    assert (call.from_, call.status, call.machine_detection) == (BOT_NUMBER, "queued", "Enable")
    assert call.url == f"{PUBLIC_URL}/twilio/voice?page={page.id}"
    assert call.status_callback == f"{PUBLIC_URL}/twilio/voice/status?page={page.id}"
    assert call.events == {"answered", "completed"}
    assert (page.status, page.twilio_sid, page.send_attempts) == ("sent", call.sid, 1)
    msg = caller.slack.messages("platform-alerts")[0]
    assert "📞 Calling Alice (step 2)" in thread_texts(caller, msg)
    assert sent(caller, twilio)["SMS Alice"] == 0

    turn = await twilio.answer(call)
    assert turn.status == 200
    assert turn.said == [INTRO, PROMPT, f"{INTRO} {PROMPT}", "Goodbye."]
    assert [(g["numDigits"], g["action"], g["method"]) for g in turn.gathers] == [
        ("1", f"{PUBLIC_URL}/twilio/voice?page={page.id}&step=gather", "POST")] * 2
    assert not turn.hangs_up
    await caller.drain()
    assert len(twilio.calls) == 1  # answering places no second call
    assert (await call_page(caller)).delivery_status == "in-progress"


async def test_pressing_1_acknowledges_and_edits_the_slack_message(caller: Harness, twilio: TwilioStandIn) -> None:
    call = await call_alice(caller, twilio)
    await twilio.answer(call)
    caller.clock.advance(timedelta(seconds=25))
    turn = await twilio.press(call, "1")
    assert turn.said == ["Acknowledged. Goodbye."] and turn.gathers == []
    await caller.drain()
    msg = caller.slack.messages("platform-alerts")[0]
    assert "👀 *Acknowledged* by Alice (phone call) after 5m 25s" in visible_text(msg)
    assert "👀 Acknowledged by Alice (phone call) after 5m 25s." in thread_texts(caller, msg)
    [ack] = await events(caller, "acknowledged")
    assert (ack.actor, ack.via) == (ALICE, "call")
    assert (await call_page(caller)).acked_at is not None
    before = sent(caller, twilio)
    caller.clock.advance(timedelta(hours=1))
    await caller.drain()
    assert sent(caller, twilio) == before and len(twilio.calls) == 1  # nobody else is paged


async def test_pressing_2_escalates_at_once(caller: Harness, twilio: TwilioStandIn) -> None:
    call = await call_alice(caller, twilio)
    await twilio.answer(call)
    turn = await twilio.press(call, "2")
    assert turn.said == ["Escalated: step 3 is paging Bob. Goodbye."]
    await caller.drain()
    assert sent(caller, twilio)["SMS Bob"] == 1 and sent(caller, twilio)["DM Bob"] == 1  # at 5m, not 10m
    msg = caller.slack.messages("platform-alerts")[0]
    assert "⏫ Alice (phone call) escalated: step 3 runs now." in thread_texts(caller, msg)
    [escalated] = [e for e in await events(caller, "escalated") if e.actor == ALICE]
    assert escalated.via == "call"


async def test_pressing_3_resolves(caller: Harness, twilio: TwilioStandIn) -> None:
    call = await call_alice(caller, twilio)
    await twilio.answer(call)
    turn = await twilio.press(call, "3")
    assert turn.said == ["Resolved. Goodbye."]
    await caller.drain()
    assert "✅ *Resolved* by Alice (phone call)" in visible_text(caller.slack.messages("platform-alerts")[0])
    caller.clock.advance(timedelta(hours=1))
    await caller.drain()
    assert sent(caller, twilio)["@here"] == 0


async def test_a_key_for_an_alert_someone_else_acknowledged_says_so(caller: Harness, twilio: TwilioStandIn) -> None:
    call = await call_alice(caller, twilio)
    await twilio.answer(call)
    msg = caller.slack.messages("platform-alerts")[0]
    await caller.driver.click(msg, AlertAction.ACKNOWLEDGE, user_id=BOB)  # Bob acknowledges in Slack meanwhile
    turn = await twilio.press(call, "1")
    assert turn.said == ["This alert was already acknowledged by Bob. Goodbye."]
    [ack] = await events(caller, "acknowledged")
    assert ack.actor == BOB


@pytest.mark.parametrize("action", [AlertAction.ACKNOWLEDGE, AlertAction.RESOLVE])
async def test_a_call_still_ringing_stops_when_the_alert_is_settled_in_slack(
        caller: Harness, twilio: TwilioStandIn, action: AlertAction) -> None:
    call = await call_alice(caller, twilio)
    msg = caller.slack.messages("platform-alerts")[0]
    await caller.driver.click(msg, action, user_id=BOB)
    await caller.drain()
    assert twilio.voice.updates == [(call.sid, "canceled")]
    assert call.status == "canceled" and call.callbacks == ["canceled"]
    page = await call_page(caller)
    assert (page.status, page.delivery_status, page.error) == ("sent", "canceled", None)
    assert "📞 The call to Alice was canceled." not in thread_texts(caller, msg)  # not a failure: we stopped it
    await caller.drain()
    assert len(twilio.voice.updates) == 1  # asked once


async def test_a_call_already_answered_is_not_cut_off_when_someone_acknowledges_in_slack(
        caller: Harness, twilio: TwilioStandIn) -> None:
    call = await call_alice(caller, twilio)
    await twilio.answer(call)
    msg = caller.slack.messages("platform-alerts")[0]
    await caller.driver.click(msg, AlertAction.ACKNOWLEDGE, user_id=BOB)
    await caller.drain()
    assert twilio.voice.updates == [] and call.status == "in-progress"


async def test_a_call_answered_after_the_alert_was_resolved_says_so_and_offers_nothing(
        caller: Harness, twilio: TwilioStandIn) -> None:
    call = await call_alice(caller, twilio)
    msg = caller.slack.messages("platform-alerts")[0]
    await caller.driver.click(msg, AlertAction.RESOLVE, user_id=BOB)
    turn = await twilio.answer(call)
    assert turn.said == [f"{INTRO} This alert was already resolved by Bob. Goodbye."]
    assert turn.gathers == []


async def test_a_key_that_is_no_choice_offers_the_menu_again(caller: Harness, twilio: TwilioStandIn) -> None:
    call = await call_alice(caller, twilio)
    await twilio.answer(call)
    turn = await twilio.press(call, "9")
    assert turn.said == ["Sorry, 9 is not one of the choices.", PROMPT, f"{INTRO} {PROMPT}", "Goodbye."]
    turn = await twilio.press(call, "1")
    assert turn.said == ["Acknowledged. Goodbye."]
    assert await events(caller, "acknowledged") != []


@pytest.mark.parametrize("status, note", [
    ("no-answer", "📞 Alice did not answer the call. The escalation goes on."),
    ("busy", "📞 Alice's line was busy. The escalation goes on."),
    ("failed", "⚠️ The call to Alice failed. The escalation goes on."),
    ("canceled", "📞 The call to Alice was canceled. The escalation goes on."),
])
async def test_a_call_nobody_took_is_noted_once_and_the_policy_goes_on(caller: Harness, twilio: TwilioStandIn,
                                                                       status: str, note: str) -> None:
    call = await call_alice(caller, twilio)
    result = await twilio.outcome(call, status)
    assert result.status == 204
    await twilio.voice.send_status(call, status)  # Twilio may call back twice: noted once
    await caller.drain()
    msg = caller.slack.messages("platform-alerts")[0]
    assert [t for t in thread_texts(caller, msg) if t.startswith(("📞 Alice", "📞 The", "⚠️ The"))] == [note]
    [failed] = await events(caller, "page_failed")
    assert (failed.actor, failed.via, failed.detail["status"]) == (ALICE, "call", status)
    page = await call_page(caller)
    assert (page.status, page.delivery_status) == ("failed", status)
    assert sent(caller, twilio)["SMS Bob"] == 0
    caller.clock.advance(timedelta(minutes=5))
    await caller.drain()
    assert sent(caller, twilio)["SMS Bob"] == 1 and sent(caller, twilio)["DM Bob"] == 1  # step 3 on time


async def test_a_voicemail_gets_a_short_message_and_the_policy_goes_on(caller: Harness, twilio: TwilioStandIn) -> None:
    call = await call_alice(caller, twilio)
    turn = await twilio.answer(call, "machine_start")
    assert turn.said == [f"{INTRO} Please open Slack to acknowledge it. Goodbye."]
    assert turn.hangs_up and turn.gathers == []
    await twilio.outcome(call, "completed")  # after the message: still the voicemail, noted once
    await caller.drain()
    msg = caller.slack.messages("platform-alerts")[0]
    assert "📞 Alice's call went to voicemail. The escalation goes on." in thread_texts(caller, msg)
    assert len(await events(caller, "page_failed")) == 1
    page = await call_page(caller)
    assert (page.status, page.delivery_status) == ("failed", "voicemail")
    caller.clock.advance(timedelta(minutes=5))
    await caller.drain()
    assert sent(caller, twilio)["SMS Bob"] == 1


async def test_a_call_twilio_refuses_is_noted_and_the_policy_goes_on(slack: SlackStandIn, clock, db_url) -> None:  # type: ignore[no-untyped-def]
    async with TwilioStandIn(from_numbers=[BOT_NUMBER], clock=clock) as twilio, \
            start_harness(slack=slack, clock=clock, db_url=db_url, config=call_config(),
                          settings=twilio_settings(twilio)) as h:
        twilio.voice.failing_numbers[PHONES[ALICE]] = 21215
        msg = await fire(h)
        h.clock.advance(timedelta(minutes=5))
        await h.drain()
        assert twilio.calls == []
        assert "⚠️ The call to Alice failed: refused (21215). The escalation goes on." in thread_texts(h, msg)
        h.clock.advance(timedelta(minutes=5))
        await h.drain()
        assert sent(h, twilio)["SMS Bob"] == 1


async def test_without_twilio_a_call_step_is_skipped_visibly(slack: SlackStandIn, clock, db_url) -> None:  # type: ignore[no-untyped-def]
    async with start_harness(slack=slack, clock=clock, db_url=db_url, config=call_config()) as h:
        msg = await fire(h)
        h.clock.advance(timedelta(minutes=5))
        await h.drain()
        assert ("⚠️ Step 2: could not page call:primary: phone calls are not set up (TWILIO_ACCOUNT_SID, "
                "TWILIO_AUTH_TOKEN, TWILIO_FROM_NUMBER and PUBLIC_URL are not all set).") in thread_texts(h, msg)
        async with h.bot.services.sessions() as s:
            assert await s.scalar(select(AlertGroup.status)) == "firing"


def config_problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as err:
        parse_config(text, env=TOKENS)
    return [str(p) for p in err.value.problems]


def test_call_targets_load_and_are_described() -> None:
    text = call_config_text().replace("notify: [slack:channel]", "notify: [call:backup, call:U0CAROL01]")
    team = parse_config(text, env=TOKENS).team("platform")
    assert team is not None
    assert [step.notify for step in team.escalation][1::2] == [["call:primary"], ["call:backup", "call:U0CAROL01"]]
    assert describe_target("call:primary") == "phone call to the primary"


@pytest.mark.parametrize("target, message", [
    ("call:U0DAVE001", "line 29: teams.0.escalation.3.notify: call:U0DAVE001 but Dave has no phone under people"),
    ("call:channel", "line 29: teams.0.escalation.3.notify: unknown target 'call:channel'"),
    ("call:ops@example.com", "line 29: teams.0.escalation.3.notify: unknown target "
                             "'call:ops@example.com'"),
])
def test_a_call_target_that_cannot_ring_is_a_config_error(target: str, message: str) -> None:
    [problem] = config_problems(config_text().replace("notify: [slack:channel]", f"notify: [{target}]"))
    assert problem.startswith(message), problem


@pytest.mark.parametrize(("env", "said"), [
    ({}, "the config pages by phone call (teams.platform.escalation) but TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN "
         "and TWILIO_FROM_NUMBER are not all set; those pages are skipped"),
    ({"TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": "t" * 32, "TWILIO_FROM_NUMBER": BOT_NUMBER},
     "the config pages by phone call (teams.platform.escalation) but PUBLIC_URL is not set: Twilio fetches what "
     "a call says from the bot's public URL; those pages are skipped"),
])
async def test_serve_says_at_start_why_call_pages_would_not_go_out(
        tmp_path: Path, slack: SlackStandIn, env: dict[str, str], said: str) -> None:
    config = tmp_path / "watchstander.yaml"
    config.write_text(call_config_text())
    bot = await start_bot(db_path=tmp_path / "w.db", config_path=config, slack_api_url=slack.api_url,
                          extra_env={"PUBLIC_URL": "", **env})
    try:
        warnings = [json.loads(line)["message"] for line in bot.log if '"level": "warning"' in line]
    finally:
        await bot.stop()
    assert any(w.startswith(said) for w in warnings), warnings
    sms = [w for w in warnings if w.startswith("the config pages by SMS (teams.platform.escalation, teams.payments.escalation) but TWILIO_")]
    assert len(sms) == (0 if env else 1), warnings  # the SMS step at 10m is said too, without Twilio only
