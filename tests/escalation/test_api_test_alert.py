"""``POST /api/test``: a marked test alert through ingest, the channel message, the first DM and the
SMS, with each hop timed, over real HTTP against the Slack and Twilio stand-ins.

The bot's background loops run (the report waits for them); the clock is the test's ManualClock and
never moves: the test alert's compressed escalation makes every step due at once, so the SMS step
that the policy puts at 5m goes out without anyone waiting five minutes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.escalation.models import Escalation
from bot.sandbox.slack import SlackStandIn
from bot.sandbox.twilio import TwilioStandIn
from tests.escalation.conftest import twilio_settings
from tests.escalation.paging import pages_to, sent, thread_texts
from tests.support.factories import ALICE, BOB, make_config
from tests.support.harness import Harness, start_harness
from tests.support.oncall_helpers import oncall
from tests.support.visible import visible_text

API_TOKEN = "api-token-0123456789"


@pytest.fixture
async def bot(slack: SlackStandIn, clock: ManualClock, db_url: str, twilio: TwilioStandIn) -> AsyncIterator[Harness]:
    async with start_harness(slack=slack, clock=clock, db_url=db_url,
                             settings={**twilio_settings(twilio), "api_token": API_TOKEN}) as h:
        yield h


async def run_test(h: Harness, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
    status, answer = await h.post("/api/test", body if body is not None else {}, token=API_TOKEN)
    assert isinstance(answer, dict), answer
    return status, answer


def hops(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {h["hop"]: h for h in answer["hops"]}


async def alert_state(h: Harness, alert_id: int) -> dict[str, Any]:
    async with h.http.get(f"{h.url}/api/alerts?status=all", headers={"Authorization": f"Bearer {API_TOKEN}"}) as r:
        body = await r.json()
    return next(a for a in body["alerts"] if a["id"] == alert_id)


async def test_the_test_alert_goes_through_every_hop_and_resolves_itself(bot: Harness,
                                                                         twilio: TwilioStandIn) -> None:
    status, answer = await run_test(bot)
    assert status == 200, answer
    assert (answer["ok"], answer["team"], answer["severity"], answer["compressed_escalation"]) == (
        True, "platform", "critical", True)
    by_hop = hops(answer)
    assert list(by_hop) == ["stored", "slack_message", "first_page", "sms"]
    assert all(h["ok"] and h["state"] == "done" and isinstance(h["ms"], int) for h in answer["hops"]), answer
    times = [h["ms"] for h in answer["hops"]]
    assert times == sorted(times) and times[-1] <= answer["elapsed_ms"]
    # The channel message says it is a test, and is edited to resolved at the end.
    [message] = bot.slack.messages("platform-alerts")
    assert by_hop["slack_message"]["ts"] == message.ts
    assert by_hop["stored"]["alert_id"] == answer["alert_id"]
    text = visible_text(message)
    assert "[TEST] Watchstander test alert" in text and "This is a TEST" in text
    # The first step's DM went to the primary, the SMS step's text reached Twilio.
    [dm] = bot.slack.dms(ALICE)
    assert "[TEST] Watchstander test alert" in visible_text(dm)
    assert by_hop["first_page"]["slack_ref"] == f"{dm.channel}:{dm.ts}"
    assert "Slack DM to Alice" in by_hop["first_page"]["detail"]
    [sms] = pages_to(twilio, ALICE)
    assert by_hop["sms"]["twilio_sid"] == sms.sid
    assert sms.body.startswith("CRITICAL [TEST] Watchstander test alert (watchstander): This is a TEST")
    assert "A to ack" in sms.body
    # Only the person testing was paged: not the backup, not the channel.
    assert sent(bot, twilio) == {"DM Alice": 1, "SMS Alice": 1}
    assert answer["resolved"] is True
    await bot.drain()
    state = await alert_state(bot, answer["alert_id"])
    assert (state["status"], state["resolved_by"], state["test"]) == ("resolved", "the Watchstander test", True)
    assert state["labels"]["watchstander_test"] == "true"
    assert "✅ *Resolved* by the Watchstander test" in visible_text(bot.slack.messages("platform-alerts")[0])
    # The escalation row says it was a test run: every offset zero, ending at the SMS step.
    async with bot.bot.services.sessions() as s:
        esc = await s.scalar(select(Escalation).where(Escalation.group_id == answer["alert_id"]))
    assert esc is not None
    assert esc.policy == {"steps": [{"after": 0, "notify": ["slack:primary"]}, {"after": 0, "notify": ["sms:primary"]}],
                          "repeat": 0, "test": True}


async def test_keep_open_leaves_the_test_alert_firing(bot: Harness, twilio: TwilioStandIn) -> None:
    status, answer = await run_test(bot, {"keep_open": True})
    assert status == 200, answer
    assert (answer["resolved"], answer["kept_open"]) == (False, True)
    assert (await alert_state(bot, answer["alert_id"]))["status"] == "firing"
    await bot.drain()
    assert sent(bot, twilio) == {"DM Alice": 1, "SMS Alice": 1}  # the compressed policy ended at the SMS step


async def test_a_medium_test_alert_says_it_does_not_escalate(bot: Harness, twilio: TwilioStandIn) -> None:
    status, answer = await run_test(bot, {"severity": "medium", "team": "platform"})
    assert status == 502, answer
    by_hop = hops(answer)
    assert by_hop["stored"]["ok"] and by_hop["slack_message"]["ok"]
    for hop in ("first_page", "sms"):
        assert by_hop[hop]["state"] == "skipped" and by_hop[hop]["ms"] is None
        assert "severity medium does not escalate" in by_hop[hop]["reason"]
    assert answer["compressed_escalation"] is False
    assert sent(bot, twilio) == {}


async def test_a_team_with_nobody_on_call_says_so(bot: Harness, twilio: TwilioStandIn) -> None:
    status, answer = await run_test(bot, {"team": "payments"})
    assert status == 502, answer
    by_hop = hops(answer)
    assert by_hop["slack_message"]["detail"].startswith("posted in #payments-alerts")
    assert by_hop["first_page"]["reason"] == "step 1: nobody is on call as primary for payments"
    assert by_hop["sms"]["reason"] == "step 2: nobody is on call as primary for payments"


async def test_without_twilio_the_sms_hop_says_it_is_not_set_up(slack: SlackStandIn, clock: ManualClock,
                                                                db_url: str) -> None:
    async with start_harness(slack=slack, clock=clock, db_url=db_url, settings={"api_token": API_TOKEN}) as h:
        status, answer = await run_test(h)
        assert status == 502, answer
        by_hop = hops(answer)
        assert [by_hop[k]["ok"] for k in ("stored", "slack_message", "first_page")] == [True, True, True]
        assert by_hop["sms"]["state"] == "skipped" and by_hop["sms"]["ok"] is False
        assert by_hop["sms"]["reason"].startswith("step 2: SMS is not set up (TWILIO_ACCOUNT_SID")
        [message] = h.slack.messages("platform-alerts")
        assert any("SMS is not set up" in t for t in thread_texts(h, message))


async def test_a_hop_that_does_not_happen_in_time_is_a_504_saying_which(bot: Harness, twilio: TwilioStandIn) -> None:
    twilio.fail_next(500, times=100)  # Twilio is down: the SMS page is retried, never taken
    status, answer = await run_test(bot, {"wait_seconds": 1.5})
    assert status == 504, answer
    by_hop = hops(answer)
    assert [by_hop[k]["ok"] for k in ("stored", "slack_message", "first_page")] == [True, True, True]
    assert by_hop["sms"]["state"] == "pending" and by_hop["sms"]["ms"] is None
    assert by_hop["sms"]["reason"].startswith("did not happen within 1.5 s: queued, not sent yet")
    assert answer["resolved"] is True and answer["elapsed_ms"] >= 1500


async def test_a_policy_without_sms_reports_that(slack: SlackStandIn, clock: ManualClock, db_url: str) -> None:
    config = make_config().model_copy(deep=True)
    team = config.teams[0].model_copy(update={"escalation": config.teams[0].escalation[:1]})
    config = config.model_copy(update={"teams": [team, *config.teams[1:]]})
    async with start_harness(slack=slack, clock=clock, db_url=db_url, config=config,
                             settings={"api_token": API_TOKEN}) as h:
        status, answer = await run_test(h)
    assert status == 502, answer
    assert hops(answer)["first_page"]["ok"] is True
    assert hops(answer)["sms"]["reason"] == "team platform's escalation policy has no SMS step"


@pytest.mark.parametrize(("body", "field"), [
    ({"team": "nobody"}, "team"), ({"team": 3}, "team"), ({"severity": "urgent"}, "severity"),
    ({"wait_seconds": 61}, "wait_seconds"), ({"wait_seconds": 0}, "wait_seconds"),
    ({"wait_seconds": "20"}, "wait_seconds"), ({"wait_seconds": True}, "wait_seconds"),
    ({"keep_open": "yes"}, "keep_open"), ({"requested_by": ""}, "requested_by"), ({"colour": "red"}, "colour"),
    ([1, 2], "body"),
])
async def test_a_bad_body_is_a_400_naming_the_field_and_fires_nothing(bot: Harness, twilio: TwilioStandIn,
                                                                      body: Any, field: str) -> None:
    status, answer = await bot.post("/api/test", body, token=API_TOKEN)
    assert status == 400, answer
    assert answer["errors"][0].startswith(f"{field}: "), answer
    status, answer = await bot.post("/api/test", raw=b"{not json", token=API_TOKEN)
    assert status == 400 and answer["errors"][0].startswith("body: not valid JSON"), answer
    assert bot.slack.messages("platform-alerts") == [] and sent(bot, twilio) == {}


async def test_the_alert_says_who_asked_for_the_test(bot: Harness, twilio: TwilioStandIn) -> None:
    status, answer = await run_test(bot, {"requested_by": "Alice testing"})
    assert status == 200, answer
    assert bot.slack.dms(BOB) == []  # the backup's step comes after the SMS step: not run
    assert "by Alice testing" in visible_text(bot.slack.messages("platform-alerts")[0])


@pytest.mark.parametrize(("steps", "kept"), [
    ([(0, "slack:primary"), (5, "sms:primary"), (10, "sms:backup"), (20, "slack:channel")], 2),
    ([(0, "sms:primary"), (5, "slack:backup"), (20, "slack:channel")], 2),  # the DM comes after the SMS
    ([(0, "slack:channel"), (5, "slack:primary")], 2),  # @here is not a DM
    ([(0, "slack:channel")], 1),  # nothing to page by DM or SMS: the first step only
])
def test_a_compressed_policy_runs_up_to_its_first_dm_and_sms_at_once(steps: list[tuple[int, str]],
                                                                     kept: int) -> None:
    from datetime import timedelta

    from bot.escalation.policy import EscalationStep, Policy

    policy = Policy(tuple(EscalationStep(timedelta(minutes=m), (t,)) for m, t in steps), repeat=2)
    test = policy.compressed_for_test()
    assert [s.notify for s in test.steps] == [s.notify for s in policy.steps[:kept]]
    assert {s.after for s in test.steps} == {timedelta(0)} and (test.repeat, test.test) == (0, True)
    assert Policy.from_json(test.to_json()) == test and "test" not in policy.to_json()


async def test_a_team_without_escalation_steps_says_nobody_is_paged(slack: SlackStandIn, clock: ManualClock,
                                                                    db_url: str) -> None:
    config = make_config()
    team = config.teams[0].model_copy(update={"escalation": []})
    config = config.model_copy(update={"teams": [team, *config.teams[1:]]})
    async with start_harness(slack=slack, clock=clock, db_url=db_url, config=config,
                             settings={"api_token": API_TOKEN}) as h:
        status, answer = await run_test(h, {"team": "platform"})
    assert status == 502, answer
    assert hops(answer)["slack_message"]["ok"] is True
    assert hops(answer)["first_page"]["reason"] == ("team platform has no escalation steps (escalation: is empty): "
                                                    "nobody is paged")


async def test_one_test_at_a_time(bot: Harness, twilio: TwilioStandIn) -> None:
    import asyncio

    (first, a), (second, b) = await asyncio.gather(run_test(bot), run_test(bot))
    assert sorted([first, second]) == [200, 409], (a, b)
    refused = a if first == 409 else b
    assert "already running" in refused["error"]
    assert sent(bot, twilio) == {"DM Alice": 1, "SMS Alice": 1}


@pytest.mark.parametrize(("raw", "status", "start"), [
    (b"{not json", 400, "body: not valid JSON"), (b"\xff\xfe\x00", 400, "body: not UTF-8"),
    (b"null", 400, "body: must be a JSON object"), (b'"critical"', 400, "body: must be a JSON object"),
    (b'{"team": "platform", "pad": "' + b"x" * 20_000 + b'"}', 413, "body: over the 16 KB limit"),
])
async def test_a_body_that_is_not_a_json_object_is_refused(bot: Harness, twilio: TwilioStandIn, raw: bytes,
                                                           status: int, start: str) -> None:
    got, answer = await bot.post("/api/test", raw=raw, token=API_TOKEN)
    assert (got, answer["errors"][0].startswith(start)) == (status, True), answer
    assert bot.slack.messages("platform-alerts") == [] and sent(bot, twilio) == {}


async def test_an_empty_body_takes_every_default(bot: Harness, twilio: TwilioStandIn) -> None:
    status, answer = await bot.post("/api/test", raw=b"", token=API_TOKEN)  # curl -X POST without -d
    assert status == 200, answer
    assert (answer["team"], answer["severity"], answer["wait_seconds"], answer["resolved"]) == (
        "platform", "critical", 20.0, True)


async def test_test_alerts_are_not_on_call_load_in_the_report(bot: Harness, twilio: TwilioStandIn) -> None:
    status, _answer = await run_test(bot)
    assert status == 200
    bot.clock.advance(timedelta(hours=1))
    text = await oncall(bot, "report", user=ALICE)
    await bot.drain()
    assert "🌙 *A quiet week: no alerts, no pages, no incidents.*" in text  # the DM and SMS were a drill
