"""A local stand-in of the Slack Web API, served over real HTTP for the tests and ``watchstander demo``.

Point the real ``AsyncWebClient(base_url=slack.api_url)`` at it: requests, retries and errors go
through the same code paths as against slack.com. Besides ``/api/<method>`` it serves the upload
URLs handed out by files.getUploadURLExternal and the ``response_url`` endpoints of simulated
slash commands and clicks (see :mod:`bot.sandbox.slack_user`).

Tests read what a user would see through the inspection API (:meth:`SlackStandIn.messages`,
:meth:`SlackStandIn.dms`, :meth:`SlackStandIn.ephemerals`, ...) and wait for the bot with
:meth:`SlackStandIn.wait_for`, which wakes on incoming calls instead of polling.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from aiohttp import web

from bot.clock import Clock, SystemClock
from bot.sandbox.http_server import ChangeSignal, SandboxServer
from bot.sandbox.slack_args import RateLimited
from bot.sandbox.slack_faults import Faults, Hold
from bot.sandbox.slack_files import SandboxUpload
from bot.sandbox.slack_methods import SlackWebApi
from bot.sandbox.slack_records import (
    JSON,
    SandboxChannel,
    SandboxEphemeral,
    SandboxMessage,
    SandboxUser,
    SlackRefusal,
)
from bot.sandbox.slack_responses import ResponsePost, ResponseUrls
from bot.sandbox.slack_scopes import AppGrants, TokenCheck
from bot.sandbox.slack_socket import SocketModeServer
from bot.sandbox.slack_views import SandboxView, ViewRegistry
from bot.sandbox.slack_workspace import SlackWorkspace

__all__ = [
    "RecordedCall",
    "ResponsePost",
    "SandboxChannel",
    "SandboxEphemeral",
    "SandboxMessage",
    "SandboxUpload",
    "SandboxUser",
    "SandboxView",
    "SlackStandIn",
]

logger = logging.getLogger(__name__)
T = TypeVar("T")

_JSON_FIELDS = {"blocks": "invalid_blocks_format", "attachments": "invalid_attachments",
                "view": "invalid_arguments", "metadata": "invalid_metadata_format", "files": "invalid_arguments"}


@dataclass(frozen=True)
class RecordedCall:
    """One request the bot made: a Web API method, a ``response_url`` POST or a file upload."""

    method: str
    args: JSON
    at: datetime
    status: int
    response: JSON

    @property
    def ok(self) -> bool:
        return self.status < 400 and self.response.get("ok", True) is not False

    @property
    def error(self) -> str | None:
        return None if self.ok else str(self.response.get("error", self.status))


class SlackStandIn(SandboxServer):
    def __init__(
        self,
        *,
        bot_token: str = "xoxb-sandbox-token",
        app_token: str = "xapp-1-A0WATCHSTD-sandbox-token",
        grants: AppGrants | None = None,
        team_id: str = "T0SANDBOX",
        bot_user_id: str = "U0WATCHBOT",
        channels: Iterable[str] = ("alerts", "incidents", "ops-weekly"),
        users: Iterable[SandboxUser] = (),
        rate_limit_per_channel: float | None = None,
        trigger_ttl: float | None = 3.0,
        clock: Clock | None = None,
        on_call: Callable[[RecordedCall], None] | None = None,
    ) -> None:
        """``channels`` start with the bot and every user as members; ``trigger_ttl=None`` lets
        trigger_ids live forever (Slack's is 3 s of wall time); ``on_call`` sees every recorded call.
        ``grants``: the installed app's scopes and subscriptions, by default the shipped manifest's."""
        super().__init__()
        self.bot_token = bot_token
        self.app_token = app_token
        self.grants = grants or AppGrants.shipped()
        self._tokens = TokenCheck(bot_token, app_token, self.grants)
        self.on_call = on_call
        self._clock = clock or SystemClock()
        self.workspace = SlackWorkspace(team_id=team_id, bot_user_id=bot_user_id, bot_id="B0WATCHBOT",
                                        app_id="A0WATCHSTD", channels=list(channels), users=list(users),
                                        clock=self._clock)
        self._views = ViewRegistry(self.workspace, trigger_ttl=trigger_ttl)
        self._api = SlackWebApi(self.workspace, self._views, base_url=lambda: self.base_url,
                                rate_limit_per_channel=rate_limit_per_channel)
        self.socket = SocketModeServer(app_id=self.workspace.app_id, base_url=lambda: self.base_url)
        self._api.methods["apps.connections.open"] = lambda _args: self.socket.open_connection()
        self.faults = Faults()
        self._responses = ResponseUrls(self.workspace, base_url=lambda: self.base_url)
        self._signal = ChangeSignal()
        self.calls: list[RecordedCall] = []
        self.responses: list[ResponsePost] = self._responses.posts  # every POST to a response_url

    # --- server -------------------------------------------------------------------------------

    def build_app(self) -> web.Application:
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/upload/v1/{token}", self._handle_upload)
        app.router.add_post("/response/{id}", self._handle_response_url)
        self.socket.add_routes(app)
        return app

    @property
    def api_url(self) -> str:
        """For ``AsyncWebClient(base_url=...)``; the trailing slash matters to slack_sdk."""
        return f"{self.base_url}/api/"

    @property
    def team_id(self) -> str:
        return self.workspace.team_id

    @property
    def bot_user_id(self) -> str:
        return self.workspace.bot_user_id

    @property
    def rate_limit_per_channel(self) -> float | None:
        return self._api.rate_limit_per_channel

    @rate_limit_per_channel.setter
    def rate_limit_per_channel(self, value: float | None) -> None:
        self._api.rate_limit_per_channel = value

    def fail_next(
        self, method: str, *, error: str = "internal_error", status: int = 200, retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (``"*"``: any method) fail; see :meth:`Faults.fail_next`."""
        self.faults.fail_next(method, error=error, status=status, retry_after=retry_after, times=times)

    def hold(self, method: str, *, matching: Callable[[JSON], bool] | None = None, done_first: bool = False) -> Hold:
        """Keep the next call of ``method`` waiting until the returned hold is released; see :meth:`Faults.hold`."""
        return self.faults.hold(method, matching=matching, done_first=done_first)

    def drop_response_next(self, method: str, *, times: int = 1, matching: Callable[[JSON], bool] | None = None) -> None:
        """Do the next ``times`` calls of ``method``, then reset the connection: :meth:`Faults.drop_response_next`."""
        self.faults.drop_response_next(method, times=times, matching=matching)

    async def _parse_args(self, request: web.Request) -> JSON:
        args: JSON = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except json.JSONDecodeError:
                    raise SlackRefusal("invalid_json") from None
                if not isinstance(body, dict):
                    raise SlackRefusal("invalid_json")
                args.update(body)
            else:
                args.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
        for key, error in _JSON_FIELDS.items():
            if isinstance(args.get(key), str):
                try:
                    args[key] = json.loads(args[key])
                except json.JSONDecodeError:
                    raise SlackRefusal(error) from None
        return args

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        status, headers = 200, {}
        args: JSON = {}
        held: Hold | None = None
        try:
            args = await self._parse_args(request)
            token = args.pop("token", None)
            auth = request.headers.get("Authorization", "")
            if auth.startswith("Bearer "):
                token = auth.removeprefix("Bearer ").strip()
            handler = self._api.methods.get(method)
            if handler is None:
                raise SlackRefusal("unknown_method", req_method=method)
            self._tokens.check(method, token, args, self.workspace)
            held = self.faults.take_hold(method, args)
            if held is not None and not held.done_first:
                held.reached.set()
                await held.released.wait()
            fault = self.faults.take(method)
            if fault is not None:
                status = fault.status
                if fault.retry_after is not None:
                    headers["Retry-After"] = str(fault.retry_after)
                raise SlackRefusal(fault.error)
            body: JSON = {"ok": True, **handler(args)}
        except SlackRefusal as refusal:
            body = {"ok": False, "error": refusal.error, **refusal.extra}
        except RateLimited as limited:
            status, headers = 429, {"Retry-After": str(limited.retry_after)}
            body = {"ok": False, "error": "ratelimited"}
        await self._record(RecordedCall(method, args, self._clock.now(), status, body))
        if held is not None and held.done_first:
            held.reached.set()
            await held.released.wait()
        if self.faults.take_drop(method, args, body) and request.transport is not None:
            request.transport.abort()  # done, but the answer never arrives
        return web.json_response(body, status=status, headers=headers)

    async def _handle_upload(self, request: web.Request) -> web.Response:
        content = await request.read()
        if request.content_type.startswith("multipart/"):
            form = await request.post()
            part = next((v for v in form.values() if isinstance(v, web.FileField)), None)
            content = part.file.read() if part is not None else b""
        upload = self._api.files.receive(request.match_info["token"], content)
        if upload is None:
            await self._record(RecordedCall("file_upload", {}, self._clock.now(), 404, {"ok": False}))
            return web.Response(status=404, text="Not Found", content_type="text/plain")
        await self._record(RecordedCall("file_upload", {"file_id": upload.file_id, "length": len(content)},
                                        self._clock.now(), 200, {"ok": True}))
        return web.Response(text=f"OK - {len(content)}", content_type="text/plain")

    async def _record(self, call: RecordedCall) -> None:
        self.calls.append(call)
        if self.on_call is not None:
            try:
                self.on_call(call)
            except Exception:
                logger.exception("sandbox on_call hook failed for %s", call.method)
        await self._signal.changed()

    # --- response URLs ------------------------------------------------------------------------

    def new_response_url(
        self, *, channel_id: str, user_id: str, message_ts: str | None = None,
        ephemeral: SandboxEphemeral | None = None,
    ) -> str:
        """A response_url as Slack puts in slash commands and interaction payloads."""
        return self._responses.new(channel_id=channel_id, user_id=user_id, message_ts=message_ts, ephemeral=ephemeral)

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        try:
            payload = await request.json()
        except json.JSONDecodeError:
            payload = None
        status, body = self._responses.receive(request.match_info["id"], payload, url=str(request.url))
        args = payload if isinstance(payload, dict) else {}
        await self._record(RecordedCall("response_url", args, self._clock.now(), status, body))
        return web.json_response(body, status=status)

    def apply_response(
        self, channel_id: str, user_id: str, payload: JSON, *, url: str, message_ts: str | None = None,
        ephemeral: SandboxEphemeral | None = None,
    ) -> None:
        """Do what Slack does with a response_url POST or a slash command's ack body."""
        self._responses.apply(channel_id, user_id, payload, url=url, message_ts=message_ts, ephemeral=ephemeral)

    # --- waiting ------------------------------------------------------------------------------

    async def wait_for(self, predicate: Callable[[], T | None], timeout: float = 5.0) -> T:  # noqa: ASYNC109
        """Wait until ``predicate()`` is truthy, re-checked on every recorded call; returns its value."""

        def describe() -> str:
            recent = ", ".join(f"{c.method}{'' if c.ok else '!' + str(c.error)}" for c in self.calls[-8:])
            return f"last Slack calls: {recent or 'none'}"

        return await self._signal.wait_for(predicate, timeout, describe)

    async def wait_for_message(
        self, channel: str, *, contains: str = "", thread_ts: str | None = None, timeout: float = 5.0  # noqa: ASYNC109
    ) -> SandboxMessage:
        """The first message (top-level or reply) in ``channel`` whose text or blocks contain ``contains``."""

        def found() -> SandboxMessage | None:
            target = self.workspace.find_channel(channel)
            for message in target.messages if target else []:
                if thread_ts is not None and message.thread_ts != thread_ts:
                    continue
                if contains in message.text or contains in json.dumps(message.blocks, ensure_ascii=False):
                    return message
            return None

        return await self.wait_for(found, timeout)

    async def notify_changed(self) -> None:
        """For state changed outside a request (the driver's user-side actions)."""
        await self._signal.changed()

    # --- inspection ---------------------------------------------------------------------------

    @property
    def channels(self) -> list[SandboxChannel]:
        return list(self.workspace.channels.values())

    def channel(self, name_or_id: str) -> SandboxChannel:
        found = self.workspace.find_channel(name_or_id)
        if found is None:
            raise KeyError(f"no channel {name_or_id!r}; have {[c.name for c in self.channels if not c.is_im]}")
        return found

    def channel_id(self, name: str) -> str:
        return self.channel(name).id

    def add_channel(self, name: str, *, members: Iterable[str] = (), is_private: bool = False) -> SandboxChannel:
        """A channel that exists before the bot starts, with the bot already in it."""
        return self.workspace.create_channel(name, creator=self.bot_user_id, is_private=is_private,
                                             members=[self.bot_user_id, *members])

    def messages(self, channel: str, *, include_replies: bool = False) -> list[SandboxMessage]:
        """Current state, oldest first; like the channel view, thread replies only when asked for."""
        target = self.channel(channel)
        return list(target.messages) if include_replies else self.workspace.history(target)

    def thread(self, channel: str, ts: str) -> list[SandboxMessage]:
        parent = self.workspace.message(self.channel(channel), ts)
        return [parent, *parent.replies]

    def dms(self, user_id: str) -> list[SandboxMessage]:
        """What the user sees in their DM with the bot (top-level, oldest first)."""
        dm = next((c for c in self.channels if c.is_im and c.im_user == user_id), None)
        return self.workspace.history(dm) if dm else []

    def ephemerals(self, user_id: str | None = None) -> list[SandboxEphemeral]:
        return [e for e in self.workspace.ephemerals if not e.deleted and user_id in (None, e.user)]

    @property
    def uploads(self) -> list[SandboxUpload]:
        return list(self._api.files.uploads)

    @property
    def views(self) -> list[SandboxView]:
        return list(self._views.views)

    def open_views(self, user_id: str) -> list[SandboxView]:
        """The user's modal stack, root first."""
        return self._views.stack(user_id)

    def home(self, user_id: str) -> SandboxView | None:
        return self._views.home(user_id)

    def members(self, channel: str) -> list[str]:
        return list(self.channel(channel).members)

    def pins(self, channel: str) -> list[SandboxMessage]:
        target = self.channel(channel)
        return [self.workspace.message(target, ts) for ts in target.pins]

    def bookmarks(self, channel: str) -> list[JSON]:
        return list(self.channel(channel).bookmarks)

    def calls_to(self, method: str) -> list[RecordedCall]:
        return [c for c in self.calls if c.method == method]

    def user(self, user_id: str) -> SandboxUser:
        return self.workspace.user(user_id)

    # --- hooks for the driver (Slack's own side of an interaction) -----------------------------

    def issue_trigger_id(self, user_id: str) -> str:
        return self._views.issue_trigger(user_id)

    def view_registry(self) -> ViewRegistry:
        return self._views

    def render_message(self, message: SandboxMessage) -> JSON:
        return message.to_slack(team_id=self.team_id)

    def post_as_user(self, channel: str, user_id: str, text: str, *, thread_ts: str | None = None) -> SandboxMessage:
        """A human's message, as typed in the Slack client (no Web API call by the bot)."""
        self.workspace.user(user_id)
        return self.workspace.post(self.channel(channel), user=user_id, text=text, thread_ts=thread_ts)

    def react_as_user(self, message: SandboxMessage, name: str, user_id: str) -> None:
        users = message.reactions.setdefault(name.strip(":"), [])
        if user_id not in users:
            users.append(user_id)

    def pin_as_user(self, message: SandboxMessage) -> None:
        pins = self.channel(message.channel).pins
        if message.ts not in pins:
            pins.append(message.ts)
