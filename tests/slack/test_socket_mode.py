"""Socket Mode: Slack's requests arrive over the WebSocket only, never over HTTP.

The bot connects as `watchstander serve` does with SLACK_APP_TOKEN set (``connect_socket_mode``:
apps.connections.open at SLACK_API_URL, then the WebSocket); the driver then sends what Slack
would send as Socket Mode envelopes and shows the user what the bot's acks say.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.clock import ManualClock
from bot.sandbox.slack import SlackStandIn
from bot.sandbox.slack_user import SlackDriver
from bot.slack.app import connect_socket_mode
from bot.slack.ids import AlertAction
from tests.slack.test_request_verification import _click_body, _posted_alert, _status
from tests.support.factories import ALICE, BOB
from tests.support.harness import SIGNING_SECRET, Harness, start_harness
from tests.support.oncall_helpers import oncall
from tests.support.visible import buttons, visible_text


@pytest.fixture
async def http_harness(slack: SlackStandIn, clock: ManualClock, db_url: str) -> AsyncIterator[Harness]:
    """Socket Mode configured, the socket not connected: only the HTTP side is under test."""
    async with start_harness(slack=slack, clock=clock, db_url=db_url,
                             settings={"slack_app_token": slack.app_token}) as h:
        yield h


@pytest.fixture
async def socket_harness(http_harness: Harness) -> AsyncIterator[Harness]:
    """The bot connected over Socket Mode; ``driver`` delivers over the socket."""
    h = http_harness
    handler = await connect_socket_mode(h.bot.bolt, h.bot.services.settings.slack_app_token)
    try:
        await h.slack.socket.wait_connected()
        h.driver = SlackDriver(h.url + "/slack/events", signing_secret=SIGNING_SECRET, slack=h.slack,
                               socket_mode=True)
        yield h
    finally:
        await handler.close_async()  # type: ignore[no-untyped-call]


async def test_in_socket_mode_an_http_click_is_not_served(http_harness: Harness) -> None:
    """Socket Mode turns request signing off, so an HTTP /slack/events would take forged clicks."""
    h = http_harness
    gid, ts = await _posted_alert(h)
    body = _click_body(h, gid)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    unsigned = await h.driver.raw(body, form)
    signed = await h.driver.raw(body, {**form, **h.driver.sign(body)})
    assert (unsigned.status, signed.status) == (404, 404)
    await h.drain()
    assert await _status(h, gid) == "firing"
    [message] = h.slack.messages("platform-alerts")
    assert message.ts == ts and not message.edits
    assert "🚨 *Firing* — not acknowledged yet" in visible_text(message)


async def test_slash_command_over_the_socket_answers_the_user(socket_harness: Harness) -> None:
    [opened] = socket_harness.slack.calls_to("apps.connections.open")  # with the app token, at SLACK_API_URL
    assert opened.ok and opened.response["url"].startswith("ws://127.0.0.1:")
    text = await oncall(socket_harness, "platform", user=ALICE)
    assert text.splitlines()[0] == "*On call now* · times in CET"
    assert "Primary: <@U0ALICE01> until Mon 30 Nov 09:00 CET" in text


async def test_button_click_over_the_socket_acknowledges_the_alert(socket_harness: Harness) -> None:
    h = socket_harness
    gid, _ = await _posted_alert(h)
    [msg] = h.slack.messages("platform-alerts")
    h.clock.advance(timedelta(minutes=2))
    resp = await h.driver.click(msg, AlertAction.ACKNOWLEDGE, user_id=BOB)
    assert resp.status == 200 and resp.elapsed < 3.0
    await h.drain()
    [msg] = h.slack.messages("platform-alerts")
    assert "👀 *Acknowledged* by <@U0BOB0001> after 2m 00s" in visible_text(msg)
    assert "Unacknowledge" in buttons(msg)
    assert await _status(h, gid) == "acknowledged"


async def test_reaction_event_over_the_socket_acknowledges_the_alert(socket_harness: Harness) -> None:
    h = socket_harness
    gid, _ = await _posted_alert(h)
    [msg] = h.slack.messages("platform-alerts")
    resp = await h.driver.react(msg, "eyes", user_id=ALICE)
    assert resp.status == 200 and resp.text == ""  # events are acked with no payload
    await h.drain()
    [msg] = h.slack.messages("platform-alerts")
    assert "👀 *Acknowledged* by <@U0ALICE01>" in visible_text(msg)
    assert await _status(h, gid) == "acknowledged"
    assert h.slack.socket.unexpected == []


async def test_after_slacks_disconnect_the_bot_reconnects_and_still_acts(socket_harness: Harness) -> None:
    """Slack asks apps to move to a fresh connection every few hours (``refresh_requested``)."""
    h = socket_harness
    await h.slack.socket.disconnect("refresh_requested")
    await h.slack.wait_for(lambda: len(h.slack.calls_to("apps.connections.open")) == 2 or None)
    await h.slack.socket.wait_connected()
    text = await oncall(h, "platform", user=ALICE)
    assert "Primary: <@U0ALICE01>" in text
