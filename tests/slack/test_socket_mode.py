"""Socket Mode: Slack's requests arrive over the WebSocket only, never over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.clock import ManualClock
from bot.sandbox.slack import SlackStandIn
from tests.slack.test_request_verification import _click_body, _posted_alert, _status
from tests.support.harness import Harness, start_harness
from tests.support.visible import visible_text

APP_TOKEN = "xapp-1-A0WATCHSTD-1-sandbox"


@pytest.fixture
async def socket_harness(slack: SlackStandIn, clock: ManualClock, db_url: str) -> AsyncIterator[Harness]:
    async with start_harness(slack=slack, clock=clock, db_url=db_url,
                             settings={"slack_app_token": APP_TOKEN}) as h:
        yield h


async def test_in_socket_mode_an_http_click_is_not_served(socket_harness: Harness) -> None:
    """Socket Mode turns request signing off, so an HTTP /slack/events would take forged clicks."""
    h = socket_harness
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
