"""Slack's side of the conversation towards the bot: slash commands, clicks, modals and events.

:class:`SlackDriver` sends to the bot's ``/slack/events`` what Slack would send — same body
encodings (form for commands, ``payload=`` JSON for interactivity, JSON for events), same
signature (``v0`` HMAC via ``slack_sdk.signature.SignatureVerifier``), response URLs and
trigger_ids issued by the :class:`~bot.sandbox.slack.SlackStandIn` — and then does what the Slack
client does with the answer: shows a command's ack body, closes or updates a submitted modal.
Slack gives up on an answer after three seconds; so does the driver, by default.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlencode

import aiohttp
from slack_sdk.signature import SignatureVerifier

from bot.sandbox.slack import SlackStandIn
from bot.sandbox.slack_records import JSON, SandboxEphemeral, SandboxMessage, iter_elements
from bot.sandbox.slack_scopes import deliverable
from bot.sandbox.slack_view_state import (
    MULTI_OPTION_SELECTS,
    OPTION_SELECTS,
    SELECTED_KEY,
    find_option,
    view_state,
)
from bot.sandbox.slack_views import SandboxView

VERIFICATION_TOKEN = "sandbox-verification-token"  # the legacy token field Slack still sends
SLACK_TIMEOUT = 3.0

@dataclass(frozen=True)
class BotResponse:
    """The bot's HTTP answer to one request from "Slack"."""

    status: int
    headers: Mapping[str, str]
    text: str
    elapsed: float

    def json(self) -> Any:
        return json.loads(self.text) if self.text.strip() else None


class SlackDriver:
    def __init__(
        self,
        events_url: str,
        *,
        signing_secret: str,
        slack: SlackStandIn,
        timeout: float = SLACK_TIMEOUT,
        socket_mode: bool = False,
    ) -> None:
        """``socket_mode``: deliver over the stand-in's Socket Mode connection instead of HTTP."""
        self.socket_mode = socket_mode
        self.events_url = events_url
        self.slack = slack
        self.timeout = timeout
        self._verifier = SignatureVerifier(signing_secret)
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # --- transport ----------------------------------------------------------------------------

    def sign(self, body: bytes | str, timestamp: int | None = None) -> dict[str, str]:
        """The two headers Slack adds to every request; pass an old ``timestamp`` to test replay defence."""
        ts = str(int(time.time()) if timestamp is None else timestamp)
        signature = self._verifier.generate_signature(timestamp=ts, body=body)
        assert signature is not None
        return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}

    async def raw(self, body: bytes, headers: Mapping[str, str]) -> BotResponse:
        """Send exactly these bytes and headers: for unsigned, forged or stale requests."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        started = time.monotonic()
        try:
            async with self._session.post(self.events_url, data=body, headers=dict(headers),
                                          timeout=aiohttp.ClientTimeout(total=self.timeout)) as resp:
                text = await resp.text()
                return BotResponse(resp.status, dict(resp.headers), text, time.monotonic() - started)
        except TimeoutError:
            raise TimeoutError(f"the bot did not answer within {self.timeout}s; Slack would have given up "
                               "(operation_timeout) and, for events, retried") from None

    async def _send(self, body: bytes, content_type: str, extra: Mapping[str, str] | None = None) -> BotResponse:
        if self.socket_mode:
            ack = await self.slack.socket.push_request(body, content_type, extra or {}, timeout=self.timeout)
            return BotResponse(200, {"Content-Type": "application/json"},
                               json.dumps(ack.payload) if ack.payload else "", ack.elapsed)
        headers = {"Content-Type": content_type, "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
                   **self.sign(body), **(extra or {})}
        return await self.raw(body, headers)

    async def _interactive(self, payload: JSON) -> BotResponse:
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return await self._send(body, "application/x-www-form-urlencoded")

    def _user(self, user_id: str) -> JSON:
        user = self.slack.user(user_id)
        return {"id": user.id, "username": user.name, "name": user.name, "team_id": self.slack.team_id}

    def _team(self) -> JSON:
        return {"id": self.slack.team_id, "domain": "sandbox"}

    def _channel_ref(self, channel_id: str) -> JSON:
        channel = self.slack.channel(channel_id)
        return {"id": channel.id, "name": "directmessage" if channel.is_im else channel.name}

    # --- slash commands and interactivity -----------------------------------------------------

    async def slash(
        self, command: str, text: str = "", *, user_id: str, channel_id: str, channel_name: str | None = None
    ) -> BotResponse:
        """A slash command; the ack body shows up as Slack shows it (ephemeral unless ``in_channel``)."""
        deliverable(self.slack.grants.command_problem(command))
        channel = self._channel_ref(channel_id)
        user = self.slack.user(user_id)
        form = {
            "token": VERIFICATION_TOKEN, "team_id": self.slack.team_id, "team_domain": "sandbox",
            "channel_id": channel["id"], "channel_name": channel_name or channel["name"],
            "user_id": user.id, "user_name": user.name, "command": command, "text": text,
            "api_app_id": self.slack.workspace.app_id, "is_enterprise_install": "false",
            "response_url": self.slack.new_response_url(channel_id=channel["id"], user_id=user.id),
            "trigger_id": self.slack.issue_trigger_id(user.id),
        }
        response = await self._send(urlencode(form).encode(), "application/x-www-form-urlencoded")
        await self._show_ack(response, channel_id=channel["id"], user_id=user.id)
        return response

    async def _show_ack(self, response: BotResponse, *, channel_id: str, user_id: str) -> None:
        if response.status != 200 or not response.text.strip():
            return
        try:
            body = response.json()
        except json.JSONDecodeError:
            body = {"text": response.text}
        if isinstance(body, dict) and (body.get("text") or body.get("blocks")):
            self.slack.apply_response(channel_id, user_id, body, url="ack")
            await self.slack.notify_changed()

    def _find_action(self, blocks: list[JSON], action_id: str) -> tuple[JSON, JSON]:
        for block, element in iter_elements(blocks):
            if element.get("action_id") == action_id:
                return block, element
        known = [e.get("action_id") for _, e in iter_elements(blocks)]
        raise LookupError(f"no element with action_id {action_id!r}; the message has {known}")

    def _action(self, block: JSON, element: JSON, *, value: object, selected_option_value: object) -> JSON:
        kind = str(element.get("type"))
        action: JSON = {"action_id": element.get("action_id"), "block_id": block.get("block_id"), "type": kind,
                        "action_ts": f"{time.time():.6f}"}
        if kind == "button":
            action.update(text=element.get("text"), value=element.get("value") if value is None else value)
            if "style" in element:
                action["style"] = element["style"]
        elif kind in OPTION_SELECTS:
            action["selected_option"] = find_option(element, selected_option_value)
        elif kind in MULTI_OPTION_SELECTS:
            action["selected_options"] = [find_option(element, selected_option_value)]
        elif kind in SELECTED_KEY:
            action[SELECTED_KEY[kind][1]] = value
        else:
            action["value"] = value
        return action

    async def click(
        self,
        message: SandboxMessage | SandboxEphemeral,
        action_id: str,
        *,
        user_id: str,
        value: str | None = None,
        selected_option_value: str | None = None,
    ) -> BotResponse:
        """A ``block_actions`` click on a button, overflow item or select in a message."""
        block, element = self._find_action(message.blocks, action_id)
        ephemeral = isinstance(message, SandboxEphemeral)
        payload: JSON = {
            "type": "block_actions", "user": self._user(user_id), "api_app_id": self.slack.workspace.app_id,
            "token": VERIFICATION_TOKEN,
            "container": {"type": "message", "message_ts": message.ts, "channel_id": message.channel,
                          "is_ephemeral": ephemeral},
            "trigger_id": self.slack.issue_trigger_id(user_id), "team": self._team(), "enterprise": None,
            "is_enterprise_install": False, "channel": self._channel_ref(message.channel),
            "state": {"values": {}},
            "response_url": self.slack.new_response_url(
                channel_id=message.channel, user_id=user_id,
                message_ts=None if ephemeral else message.ts,
                ephemeral=message if isinstance(message, SandboxEphemeral) else None),
            "actions": [self._action(block, element, value=value, selected_option_value=selected_option_value)],
        }
        if isinstance(message, SandboxMessage):
            payload["message"] = self.slack.render_message(message)
        return await self._interactive(payload)

    async def click_in_view(
        self, view: SandboxView, action_id: str, *, user_id: str, value: str | None = None,
        selected_option_value: str | None = None,
    ) -> BotResponse:
        """A ``block_actions`` from inside a modal or the App Home (no response_url there)."""
        block, element = self._find_action(view.blocks, action_id)
        payload: JSON = {
            "type": "block_actions", "user": self._user(user_id), "api_app_id": self.slack.workspace.app_id,
            "token": VERIFICATION_TOKEN, "container": {"type": "view", "view_id": view.id},
            "trigger_id": self.slack.issue_trigger_id(user_id), "team": self._team(), "enterprise": None,
            "is_enterprise_install": False, "view": view.view,
            "actions": [self._action(block, element, value=value, selected_option_value=selected_option_value)],
        }
        return await self._interactive(payload)

    async def submit_view(
        self, view: SandboxView, values: Mapping[str, Any] | None = None, *, user_id: str
    ) -> BotResponse:
        """Press Submit on a modal the bot opened, then apply the bot's ``response_action`` as Slack does."""
        submitted = {**view.view, "state": {"values": view_state(view, values or {})}}
        payload: JSON = {
            "type": "view_submission", "team": self._team(), "user": self._user(user_id),
            "api_app_id": self.slack.workspace.app_id, "token": VERIFICATION_TOKEN,
            "trigger_id": self.slack.issue_trigger_id(user_id), "view": submitted, "response_urls": [],
            "is_enterprise_install": False, "enterprise": None,
        }
        response = await self._interactive(payload)
        if response.status == 200:
            self._apply_response_action(view, response)
            await self.slack.notify_changed()
        return response

    def _apply_response_action(self, view: SandboxView, response: BotResponse) -> None:
        registry = self.slack.view_registry()
        try:
            body = response.json()
        except json.JSONDecodeError:
            body = None
        action = body.get("response_action") if isinstance(body, dict) else None
        if action == "errors":
            return
        if action == "update" and isinstance(body, dict):
            registry.replace(view, body["view"])
        elif action == "push" and isinstance(body, dict):
            registry.push_from_response(view, body["view"])
        else:
            registry.close(view, whole_stack=action == "clear")

    async def shortcut(self, callback_id: str, message: SandboxMessage, *, user_id: str) -> BotResponse:
        """A message shortcut ("More actions" menu on a message)."""
        deliverable(self.slack.grants.shortcut_problem(callback_id))
        payload: JSON = {
            "type": "message_action", "token": VERIFICATION_TOKEN, "action_ts": f"{time.time():.6f}",
            "team": self._team(), "user": self._user(user_id), "channel": self._channel_ref(message.channel),
            "is_enterprise_install": False, "enterprise": None, "callback_id": callback_id,
            "trigger_id": self.slack.issue_trigger_id(user_id),
            "response_url": self.slack.new_response_url(channel_id=message.channel, user_id=user_id),
            "message_ts": message.ts, "message": self.slack.render_message(message),
        }
        return await self._interactive(payload)

    # --- Events API ---------------------------------------------------------------------------

    async def event(
        self, event: JSON, *, event_id: str | None = None, retry_num: int | None = None,
        retry_reason: str = "http_timeout",
    ) -> BotResponse:
        """An ``event_callback``; a retry must reuse the first delivery's ``event_id``."""
        deliverable(self.slack.grants.delivery_problem(event, self.slack.workspace.find_channel(
            str(event.get("channel") or event.get("channel_id") or ""))))
        event = {"event_ts": f"{time.time():.6f}", **event}
        envelope: JSON = {
            "token": VERIFICATION_TOKEN, "team_id": self.slack.team_id, "api_app_id": self.slack.workspace.app_id,
            "event": event, "type": "event_callback", "event_id": event_id or f"Ev{secrets.token_hex(5).upper()}",
            "event_time": int(float(event["event_ts"])),
            "authorizations": [{"enterprise_id": None, "team_id": self.slack.team_id,
                                "user_id": self.slack.bot_user_id, "is_bot": True, "is_enterprise_install": False}],
            "is_ext_shared_channel": False, "event_context": f"4-{secrets.token_urlsafe(24)}",
        }
        extra = {}
        if retry_num is not None:
            extra = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason}
        return await self._send(json.dumps(envelope).encode(), "application/json", extra)

    async def url_verification(self, challenge: str | None = None) -> BotResponse:
        """The handshake Slack performs when the Request URL is saved; the bot must echo ``challenge``."""
        body = {"token": VERIFICATION_TOKEN, "type": "url_verification",
                "challenge": challenge or secrets.token_urlsafe(32)}
        return await self._send(json.dumps(body).encode(), "application/json")

    async def say(
        self, channel: str, text: str, *, user_id: str, thread_ts: str | None = None
    ) -> tuple[SandboxMessage, BotResponse]:
        """A person posts in a channel: the message appears, and the bot gets the ``message`` event."""
        message = self.slack.post_as_user(channel, user_id, text, thread_ts=thread_ts)
        await self.slack.notify_changed()
        target = self.slack.channel(channel)
        event: JSON = {"type": "message", "channel": target.id, "user": user_id, "text": text, "ts": message.ts,
                       "team": self.slack.team_id, "channel_type": "im" if target.is_im else "channel"}
        if thread_ts:
            event["thread_ts"] = thread_ts
        return message, await self.event(event)

    async def react(self, message: SandboxMessage, name: str, *, user_id: str) -> BotResponse:
        """A person adds an emoji reaction (e.g. ``pushpin``) to a message."""
        self.slack.react_as_user(message, name, user_id)
        await self.slack.notify_changed()
        return await self.event({"type": "reaction_added", "user": user_id, "reaction": name.strip(":"),
                                 "item_user": message.user,
                                 "item": {"type": "message", "channel": message.channel, "ts": message.ts}})

    async def pin(self, message: SandboxMessage, *, user_id: str) -> BotResponse:
        """A person pins a message; Slack sends ``pin_added`` with the whole message."""
        self.slack.pin_as_user(message)
        await self.slack.notify_changed()
        return await self.event({
            "type": "pin_added", "user": user_id, "channel_id": message.channel,
            "item": {"type": "message", "created": int(time.time()), "created_by": user_id,
                     "channel": message.channel, "message": self.slack.render_message(message)},
            "item_user": message.user, "pin_count": str(len(self.slack.channel(message.channel).pins)),
            "pinned_info": {"channel": message.channel, "pinned_by": user_id, "pinned_ts": int(time.time())},
        })

    async def open_app_home(self, user_id: str) -> BotResponse:
        """The user opens the app's Home tab (``app_home_opened``)."""
        dm = self.slack.workspace.dm_channel(user_id)
        event: JSON = {"type": "app_home_opened", "user": user_id, "channel": dm.id, "tab": "home"}
        if (home := self.slack.home(user_id)) is not None:
            event["view"] = home.view
        return await self.event(event)
