"""The stand-in's Socket Mode (driven by a raw WebSocket client) and its token and scope checks
(driven by the real slack_sdk client)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox.slack import SandboxUser, SlackStandIn
from bot.sandbox.slack_scopes import AppGrants, Undeliverable
from bot.sandbox.slack_socket import EnvelopeType
from bot.sandbox.slack_user import SlackDriver

ALICE = SandboxUser(id="U0ALICE01", name="alice", real_name="Alice Liddell")


@pytest.fixture
async def slack() -> AsyncIterator[SlackStandIn]:
    async with SlackStandIn(users=[ALICE]) as stand_in:  # the shipped manifest's grants
        yield stand_in


async def refusal(call: Any) -> dict[str, Any]:
    with pytest.raises(SlackApiError) as caught:
        await call
    return dict(caught.value.response.data)


async def test_connections_open_takes_only_the_app_token(slack: SlackStandIn) -> None:
    bot = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
    assert (await refusal(bot.apps_connections_open(app_token=slack.bot_token)))["error"] == "not_allowed_token_type"
    assert (await refusal(bot.apps_connections_open(app_token="xapp-wrong")))["error"] == "invalid_auth"
    app = AsyncWebClient(token=slack.app_token, base_url=slack.api_url)
    assert (await refusal(app.chat_postMessage(channel="alerts", text="hi")))["error"] == "not_allowed_token_type"
    opened = await bot.apps_connections_open(app_token=slack.app_token)
    assert opened["url"].startswith(slack.base_url.replace("http://", "ws://") + "/link/?ticket=")


async def test_socket_says_hello_carries_envelopes_and_takes_acks(slack: SlackStandIn) -> None:
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
    url = (await client.apps_connections_open(app_token=slack.app_token))["url"]
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
        hello = await ws.receive_json()
        assert hello["type"] == "hello" and hello["connection_info"] == {"app_id": "A0WATCHSTD"}
        pushed = asyncio.create_task(slack.socket.push(EnvelopeType.SLASH_COMMANDS, {"command": "/oncall"}))
        envelope = await ws.receive_json()
        assert envelope["type"] == "slash_commands" and envelope["accepts_response_payload"] is True
        assert envelope["payload"] == {"command": "/oncall"}
        await ws.send_json({"envelope_id": envelope["envelope_id"], "payload": {"text": "On call: Alice"}})
        ack = await pushed
        assert (ack.envelope_id, ack.payload) == (envelope["envelope_id"], {"text": "On call: Alice"})
        event = asyncio.create_task(slack.socket.push(EnvelopeType.EVENTS_API, {"type": "event_callback"},
                                                      retry_attempt=1, retry_reason="timeout", timeout=0.3))
        envelope = await ws.receive_json()
        assert (envelope["accepts_response_payload"], envelope["retry_attempt"], envelope["retry_reason"]) == (
            False, 1, "timeout")
        with pytest.raises(TimeoutError, match="did not ack events_api"):
            await event  # never acked: Slack gives up
    async with aiohttp.ClientSession() as http:  # each URL works once
        with pytest.raises(aiohttp.WSServerHandshakeError):
            await http.ws_connect(url)


async def test_a_call_without_its_scope_is_refused_as_slack_does() -> None:
    grants = AppGrants(bot_scopes=frozenset({"chat:write", "commands"}))
    async with SlackStandIn(users=[ALICE], grants=grants, channels=["alerts"]) as slack:
        client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
        posted = await client.chat_postMessage(channel="alerts", text="hi")
        body = await refusal(client.pins_add(channel=posted["channel"], timestamp=posted["ts"]))
        assert body == {"ok": False, "error": "missing_scope", "needed": "pins:write", "provided": "chat:write,commands"}
        history = await refusal(client.conversations_history(channel=posted["channel"]))
        assert history["needed"] == "channels:history"
        dm = await refusal(client.conversations_open(users=ALICE.id))
        assert dm["needed"] == "im:write"
        slack.add_channel("quiet")
        slack.channel("quiet").members.remove(slack.bot_user_id)
        # No chat:write.public: a public channel the bot is not in is out of reach.
        assert (await refusal(client.chat_postMessage(channel="quiet", text="hi")))["error"] == "not_in_channel"


async def test_slack_delivers_only_what_the_manifest_subscribes_to(slack: SlackStandIn) -> None:
    driver = SlackDriver("http://127.0.0.1:9/slack/events", signing_secret="s", slack=slack)
    message = slack.post_as_user("alerts", ALICE.id, "hello")
    with pytest.raises(Undeliverable, match="'/deploy'"):
        await driver.slash("/deploy", user_id=ALICE.id, channel_id="alerts")
    with pytest.raises(Undeliverable, match="bot event 'member_joined_channel'"):
        await driver.event({"type": "member_joined_channel", "user": ALICE.id, "channel": message.channel})
    with pytest.raises(Undeliverable, match="'some_other_shortcut'"):
        await driver.shortcut("some_other_shortcut", message, user_id=ALICE.id)
    await driver.close()
