"""Signed Slack payloads of the wrong shape: the person is told, the log has one line, nothing changes."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from bot.clock import ManualClock
from bot.idempotency import SeenRequest
from bot.sandbox.slack import SlackStandIn
from bot.slack.ids import AlertAction, Callback, EscalateField, OverflowChoice
from bot.slack.listeners.shapes import COMMAND_NOT_UNDERSTOOD, NOT_UNDERSTOOD
from tests.support.factories import ALICE, am_alert, am_notification
from tests.support.harness import Harness
from tests.support.visible import visible_text
from tests.web.hostile import (
    click_payload,
    event_envelope,
    hostile_bot,
    send_interactive,
    send_signed,
    slash_form,
    stored,
    tracebacks,
)


@pytest.fixture
async def bot(slack: SlackStandIn, clock: ManualClock, db_url: str) -> AsyncIterator[Harness]:
    async with hostile_bot(slack, clock, db_url) as h:
        status, _ = await h.alertmanager(am_notification(am_alert()))
        assert status == 202
        await h.drain()
        yield h


def shape_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "bot.slack.listeners.shapes" and r.levelno == logging.WARNING]


def bend(payload: dict[str, Any], path: str, value: object) -> dict[str, Any]:
    """``payload`` with the field at ``a.0.b`` replaced, or removed when ``value`` is ``...``."""
    bent = json.loads(json.dumps(payload))
    *parents, last = path.split(".")
    target: Any = bent
    for key in parents:
        target = target[int(key)] if isinstance(target, list) else target[key]
    key: Any = int(last) if isinstance(target, list) else last
    if value is ...:
        del target[key]
    else:
        target[key] = value
    return bent


BAD_CLICKS = [
    ("user.id", ..., "user.id: Field required"),
    ("user", "U0ALICE01", "user: Input should be a valid dictionary"),
    ("actions.0.value", ["1"], "actions.0.value: Input should be a valid string"),
]


@pytest.mark.parametrize(("path", "value", "logged"), BAD_CLICKS)
async def test_a_click_of_the_wrong_shape_is_explained_and_changes_nothing(
        bot: Harness, caplog: pytest.LogCaptureFixture, path: str, value: object, logged: str) -> None:
    message = bot.slack.messages("platform-alerts")[0]
    payload = click_payload(bot, "platform-alerts", message.ts, {
        "action_id": AlertAction.ACKNOWLEDGE, "value": "1"}, user=ALICE)
    before = await stored(bot)
    resp = await send_interactive(bot, bend(payload, path, value))
    assert resp.status == 200  # acked: Slack shows no error, the person gets the explanation
    await bot.drain()
    assert [visible_text(e) for e in bot.slack.ephemerals(ALICE)] == [NOT_UNDERSTOOD]
    assert await stored(bot) == before
    assert any(logged in line for line in shape_warnings(caplog)), shape_warnings(caplog)
    assert tracebacks(caplog) == []


async def test_a_click_without_actions_is_400(bot: Harness, caplog: pytest.LogCaptureFixture) -> None:
    message = bot.slack.messages("platform-alerts")[0]
    payload = click_payload(bot, "platform-alerts", message.ts, {"action_id": AlertAction.ACKNOWLEDGE}, user=ALICE)
    resp = await send_interactive(bot, bend(payload, "actions", []))
    assert resp.status == 400 and "not a Slack payload (actions: List should have at least 1 item" in resp.text
    assert tracebacks(caplog) == []


@pytest.mark.parametrize(("path", "value", "error"), [
    ("actions.0.action_id", [AlertAction.ACKNOWLEDGE], "actions.0.action_id: Input should be a valid string"),
    ("actions.0", [{}], "actions.0: Input should be a valid dictionary"),
    ("actions.0.action_id", ..., "actions.0.action_id: Field required"),
    ("response_url", True, "response_url: Input should be a valid string"),
    ("response_url", "not a url", "response_url: Value error, not an http(s) URL"),
    ("trigger_id", ..., "trigger_id: Field required"),
])
async def test_a_click_bolt_cannot_route_is_400_naming_the_field(
        bot: Harness, caplog: pytest.LogCaptureFixture, path: str, value: object, error: str) -> None:
    """Bolt reads action_id while choosing a listener: a list there used to be a 500 and a traceback."""
    message = bot.slack.messages("platform-alerts")[0]
    payload = click_payload(bot, "platform-alerts", message.ts, {"action_id": AlertAction.ACKNOWLEDGE, "value": "1"},
                            user=ALICE)
    before = await stored(bot)
    resp = await send_interactive(bot, bend(payload, path, value))
    assert resp.status == 400, resp.text
    assert resp.json()["error"] == f"body: not a Slack payload ({error})"
    await bot.drain()
    assert await stored(bot) == before and bot.slack.ephemerals(ALICE) == []
    assert tracebacks(caplog) == []


async def test_an_unreachable_response_url_is_one_log_line(bot: Harness, caplog: pytest.LogCaptureFixture) -> None:
    """A URL aiohttp refuses to call (``027.0.0.1``): the answer is lost, the log says so in one line."""
    message = bot.slack.messages("platform-alerts")[0]
    payload = click_payload(bot, "platform-alerts", message.ts, {"action_id": AlertAction.ACKNOWLEDGE,
                                                                 "value": "not-a-number"}, user=ALICE)
    payload["response_url"] = "http://027.0.0.1:9/response"
    assert (await send_interactive(bot, payload)).status == 200
    await bot.drain()
    assert "could not answer through the request's response_url: InvalidUrlClientError" in caplog.text
    assert tracebacks(caplog) == []


async def test_a_button_value_that_is_no_alert_number_is_answered(bot: Harness,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    message = bot.slack.messages("platform-alerts")[0]
    for action_id, value in [(AlertAction.ACKNOWLEDGE, "alert:²"), (AlertAction.ESCALATE, "1" * 5000),
                             (AlertAction.RESOLVE, "not-a-number"), (AlertAction.ACKNOWLEDGE, "99999999999999999999")]:
        payload = click_payload(bot, "platform-alerts", message.ts, {"action_id": action_id, "value": value},
                                user=ALICE)
        assert (await send_interactive(bot, payload)).status == 200
    await bot.drain()
    texts = [visible_text(e) for e in bot.slack.ephemerals(ALICE)]
    assert texts == ["That button does not name an alert; it may come from an old message."] * 4
    assert tracebacks(caplog) == []


async def test_an_overflow_choice_without_its_option_changes_nothing(bot: Harness,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    message = bot.slack.messages("platform-alerts")[0]
    payload = click_payload(bot, "platform-alerts", message.ts, {
        "action_id": AlertAction.MORE, "type": "overflow",
        "selected_option": {"value": [f"{OverflowChoice.SNOOZE_1H}:1"]}}, user=ALICE)
    before = await stored(bot)
    assert (await send_interactive(bot, payload)).status == 200
    await bot.drain()
    assert [visible_text(e) for e in bot.slack.ephemerals(ALICE)] == [NOT_UNDERSTOOD]
    assert await stored(bot) == before
    assert any("actions.0.selected_option.value" in line for line in shape_warnings(caplog))
    assert tracebacks(caplog) == []


@pytest.mark.parametrize(("value", "error"), [(..., "response_url: Field required"),
                                              ("xxxx", "response_url: Value error, not an http(s) URL")])
async def test_a_slash_command_without_a_response_url_is_400(bot: Harness, caplog: pytest.LogCaptureFixture,
                                                             value: object, error: str) -> None:
    """Slack always sends one; the listener answers through it, and used to crash after the ack."""
    form = slash_form(bot, "/oncall", "", user=ALICE)
    if value is ...:
        del form["response_url"]
    else:
        form["response_url"] = str(value)
    resp = await send_signed(bot, urlencode(form).encode(), "application/x-www-form-urlencoded")
    assert resp.status == 400 and resp.json()["error"] == f"body: not a Slack payload ({error})", resp.text
    assert tracebacks(caplog) == []


def escalate_submission(h: Harness, **view: object) -> dict[str, Any]:
    values = {EscalateField.PERSON: {EscalateField.PERSON: {"type": "users_select", "selected_user": None}},
              EscalateField.TEAM: {EscalateField.TEAM: {"type": "static_select", "selected_option": None}}}
    return {"type": "view_submission", "team": {"id": h.slack.team_id}, "user": {"id": ALICE},
            "trigger_id": h.slack.issue_trigger_id(ALICE),
            "view": {"id": "V1", "type": "modal", "callback_id": Callback.ESCALATE_MODAL, "private_metadata": "1",
                     "state": {"values": values}, **view}}


@pytest.mark.parametrize(("path", "value", "error"), [
    ("user", None, "user: Input should be a valid dictionary"),
    ("view.state.values.escalate_team", "x", "view.state.values.escalate_team: Input should be a valid dictionary"),
    ("view.state.values.escalate_team.escalate_team.selected_option", "platform",
     "view.state.values.escalate_team.escalate_team.selected_option: Input should be a valid dictionary"),
    ("view.private_metadata", 1, "view.private_metadata: Input should be a valid string"),
    ("view.callback_id", [Callback.ESCALATE_MODAL], "view.callback_id: Input should be a valid string"),
    ("view.state", {}, "view.state.values: Field required"),  # found by the fuzz test (a KeyError after the ack)
])
async def test_a_form_submission_of_the_wrong_shape_is_400(bot: Harness, caplog: pytest.LogCaptureFixture,
                                                           path: str, value: object, error: str) -> None:
    before = await stored(bot)
    resp = await send_interactive(bot, bend(escalate_submission(bot), path, value))
    assert resp.status == 400 and resp.json()["error"] == f"body: not a Slack payload ({error})", resp.text
    assert await stored(bot) == before
    assert tracebacks(caplog) == []


@pytest.mark.parametrize("metadata", ["x", "²", "99999999999999999999", "", None])
async def test_an_escalate_form_that_names_no_alert_changes_nothing(bot: Harness, caplog: pytest.LogCaptureFixture,
                                                                    metadata: str | None) -> None:
    """``None``: the view carries no private_metadata at all (a KeyError after the ack, found by the fuzz test)."""
    before = await stored(bot)
    payload = escalate_submission(bot, private_metadata=metadata)
    if metadata is None:
        del payload["view"]["private_metadata"]
    resp = await send_interactive(bot, payload)
    assert resp.status == 200 and resp.text == "", resp.text  # the dialog closes
    await bot.drain()
    assert await stored(bot) == before
    assert "ignored an Escalate dialog whose private_metadata names no alert" in caplog.text
    assert tracebacks(caplog) == []


@pytest.mark.parametrize("command", ["/oncall", "/incident"])
async def test_a_slash_command_without_user_id_is_explained(bot: Harness, caplog: pytest.LogCaptureFixture,
                                                            command: str) -> None:
    form = slash_form(bot, command, "", user=ALICE)
    del form["user_id"]
    resp = await send_signed(bot, urlencode(form).encode(), "application/x-www-form-urlencoded")
    assert resp.status == 200
    await bot.drain()
    assert [visible_text(e) for e in bot.slack.ephemerals(ALICE)] == [COMMAND_NOT_UNDERSTOOD]
    assert any("user_id: Field required" in line for line in shape_warnings(caplog))
    assert tracebacks(caplog) == []


@pytest.mark.parametrize("event", [
    {"type": "reaction_added", "reaction": "eyes", "item": "not an item"},
    {"type": "reaction_added", "reaction": ["eyes"], "user": ALICE, "item": {"type": "message"}},
    {"type": "reaction_added", "reaction": "pushpin", "user": [ALICE], "item": {"type": "message"}},
    {"type": "app_home_opened", "tab": "home"},
    {"type": "app_home_opened", "tab": "home", "user": {"id": ALICE}},
    {"type": "pin_added", "user": ALICE, "channel_id": "C1", "item": ["message"]},
    {"type": "pin_added", "user": ALICE, "item": {"type": "message", "message": {"ts": ["1.2"]}}},
    {"type": "message", "subtype": "message_changed", "channel": "C1", "message": ["edited"]},
    {"type": "message", "subtype": "message_deleted", "channel": "C1", "deleted_ts": 1.5},
])
async def test_events_of_the_wrong_shape_change_nothing(bot: Harness, caplog: pytest.LogCaptureFixture,
                                                        event: dict[str, Any]) -> None:
    before = await stored(bot)
    body = json.dumps(event_envelope(bot, event, "Ev0SHAPE")).encode()
    assert (await send_signed(bot, body, "application/json")).status == 200
    await bot.drain()
    assert await stored(bot) == before
    assert tracebacks(caplog) == []


@pytest.mark.parametrize(("event", "error"), [({"type": ["reaction_added"]}, "event.type: Input should be a valid string"),
                                              ("reaction_added", "event: Input should be a valid dictionary"),
                                              ({"type": "message", "subtype": 5}, "event.subtype: Input should be")])
async def test_events_bolt_cannot_route_are_400(bot: Harness, caplog: pytest.LogCaptureFixture, event: Any,
                                                error: str) -> None:
    before = await stored(bot)
    body = json.dumps(event_envelope(bot, event, "Ev0ROUTE")).encode()
    resp = await send_signed(bot, body, "application/json")
    assert resp.status == 400 and resp.json()["error"].startswith(f"body: not a Slack payload ({error}"), resp.text
    assert await stored(bot) == before
    assert tracebacks(caplog) == []


@pytest.mark.parametrize(("change", "error"), [
    ({"type": None, "event": None}, "event: Input should be a valid dictionary"),
    ({"type": "app_rate_limited", "event": "x"}, "event: Input should be a valid dictionary"),
    ({"type": None, "view": None}, "view: Input should be a valid dictionary"),
    ({"type": "block_actions", "view": None}, "view: Input should be a valid dictionary"),
])
async def test_payloads_of_any_type_bolt_would_crash_on_are_400(bot: Harness, caplog: pytest.LogCaptureFixture,
                                                               change: dict[str, Any], error: str) -> None:
    """Bolt reads ``event`` and ``view`` of every payload, routed or not (found by the fuzz test: a 500)."""
    before = await stored(bot)
    alert = bot.slack.messages("platform-alerts")[0]
    click = click_payload(bot, "platform-alerts", alert.ts, {"action_id": "not_ours"}, user=ALICE)
    for payload in ({**event_envelope(bot, {"type": "reaction_added"}, "Ev0ANY"), **change}, {**click, **change}):
        resp = await send_interactive(bot, payload)
        assert resp.status == 400 and resp.json()["error"] == f"body: not a Slack payload ({error})", resp.text
    form = {**slash_form(bot, "/oncall", "", user=ALICE), "event": "x"}
    resp = await send_signed(bot, urlencode(form).encode(), "application/x-www-form-urlencoded")
    assert resp.status == 400, resp.text
    assert resp.json()["error"] == "body: not a Slack payload (event: Input should be a valid dictionary)"
    assert await stored(bot) == before
    assert tracebacks(caplog) == []


async def test_an_event_no_listener_handles_stores_nothing(bot: Harness, caplog: pytest.LogCaptureFixture) -> None:
    """Its id used to be recorded before Bolt answered 404, so Slack's retry got a 200 for nothing."""
    async with bot.bot.services.sessions() as s:
        seen = await s.scalar(select(func.count()).select_from(SeenRequest))
    for kind in ("", "channel_created"):
        body = json.dumps(event_envelope(bot, {"type": kind, "user": ALICE}, f"Ev0NONE{kind}")).encode()
        resp = await send_signed(bot, body, "application/json")
        assert resp.status == 404 and resp.json() == {"error": "unhandled request"}, resp.text
    async with bot.bot.services.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(SeenRequest)) == seen
    assert tracebacks(caplog) == []


async def test_a_declaration_from_a_channel_no_slack_id_fits_still_opens_the_form(
        bot: Harness, caplog: pytest.LogCaptureFixture) -> None:
    """A signed ``/incident declare`` naming a channel in 5,000 characters (found by the fuzz test): the
    context no longer fits Slack's 3,000-character private_metadata, so slack_sdk refused to build the
    form and the listener logged an error. The form opens; the channel, which no Slack id can be, is
    left out of its context."""
    form = slash_form(bot, "/incident", "declare Checkout failing", user=ALICE)
    form["channel_id"] = "C" * 5000
    resp = await send_signed(bot, urlencode(form).encode(), "application/x-www-form-urlencoded")
    assert resp.status == 200
    await bot.drain()
    [view] = bot.slack.open_views(ALICE)
    assert view.callback_id == Callback.DECLARE_MODAL
    assert json.loads(view.view["private_metadata"]) == {"origin_channel": None, "group_ids": [], "message": None}
    assert tracebacks(caplog) == []
