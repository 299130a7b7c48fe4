"""Slack's Socket Mode, as the stand-in serves it: ``apps.connections.open`` and the WebSocket.

The app calls ``apps.connections.open`` with its app-level token (``xapp-``) and gets a one-use
``ws://`` URL back; on connecting it receives Slack's ``hello``. Slack's requests then arrive as
envelopes — ``{"envelope_id", "type": "events_api" | "slash_commands" | "interactive", "payload",
"accepts_response_payload"}``, events with ``retry_attempt``/``retry_reason`` — and the app answers
each with ``{"envelope_id", "payload"?}``. :meth:`SocketModeServer.push` sends one envelope and
awaits its ack, giving up after three seconds as Slack does. Shapes follow Slack's "Using Socket
Mode" page and what ``slack_sdk.socket_mode`` reads and writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

from bot.sandbox.slack_records import JSON, SlackRefusal

logger = logging.getLogger(__name__)

LINK_PATH = "/link/"
ACK_TIMEOUT = 3.0  # Slack's, as for HTTP requests


class EnvelopeType(StrEnum):
    EVENTS_API = "events_api"
    SLASH_COMMANDS = "slash_commands"
    INTERACTIVE = "interactive"


# Interactive payloads whose ack may carry an answer (response_action, options); Slack says so
# in accepts_response_payload. Slash commands always may; events never.
_ANSWERABLE = frozenset({"view_submission", "block_suggestion"})


@dataclass(frozen=True)
class SocketAck:
    """The app's answer to one envelope."""

    envelope_id: str
    payload: JSON | None
    elapsed: float


def accepts_response_payload(kind: EnvelopeType, payload: JSON) -> bool:
    if kind is EnvelopeType.SLASH_COMMANDS:
        return True
    return kind is EnvelopeType.INTERACTIVE and payload.get("type") in _ANSWERABLE


class SocketModeServer:
    def __init__(self, *, app_id: str, base_url: Callable[[], str]) -> None:
        self.app_id = app_id
        self._base_url = base_url
        self._tickets: set[str] = set()
        self._sockets: list[web.WebSocketResponse] = []
        self._pending: dict[str, asyncio.Future[JSON]] = {}
        self._connected = asyncio.Event()
        self.unexpected: list[str] = []  # messages from the app that answered no envelope

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get(LINK_PATH, self._handle_link)
        app.on_shutdown.append(lambda _app: self.close())

    async def close(self) -> None:
        for ws in list(self._sockets):
            await ws.close()

    @property
    def connected(self) -> bool:
        return any(not ws.closed for ws in self._sockets)

    # --- apps.connections.open ----------------------------------------------------------------

    def open_connection(self) -> JSON:
        """The body of apps.connections.open (its app-level token already checked)."""
        ticket = secrets.token_hex(16)
        self._tickets.add(ticket)
        ws_base = self._base_url().replace("http://", "ws://", 1)
        return {"url": f"{ws_base}{LINK_PATH}?ticket={ticket}&app_id={self.app_id}"}

    # --- the WebSocket ------------------------------------------------------------------------

    async def _handle_link(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        if ticket not in self._tickets:  # each URL works once, like Slack's
            return web.json_response({"ok": False, "error": "invalid_ticket"}, status=401)
        self._tickets.discard(ticket)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_json({"type": "hello", "num_connections": len(self._sockets),
                            "debug_info": {"host": "applink-sandbox", "build_number": 1,
                                           "approximate_connection_time": 18060},
                            "connection_info": {"app_id": self.app_id}})
        self._connected.set()
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    self._receive(message.data)
        finally:
            self._sockets.remove(ws)
            if not self.connected:
                self._connected.clear()
        return ws

    def _receive(self, data: str) -> None:
        try:
            message = json.loads(data)
        except json.JSONDecodeError:
            message = None
        envelope_id = message.get("envelope_id") if isinstance(message, dict) else None
        future = self._pending.pop(envelope_id, None) if isinstance(envelope_id, str) else None
        if future is None or future.done():
            self.unexpected.append(data)
            logger.warning("socket mode: a message that acks no open envelope: %.200s", data)
            return
        assert isinstance(message, dict)
        future.set_result(message)

    async def wait_connected(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        try:
            async with asyncio.timeout(timeout):
                await self._connected.wait()
        except TimeoutError:
            raise TimeoutError(f"no Socket Mode connection within {timeout}s") from None

    async def push(
        self, kind: EnvelopeType, payload: JSON, *, retry_attempt: int = 0, retry_reason: str = "",
        timeout: float = ACK_TIMEOUT,  # noqa: ASYNC109
    ) -> SocketAck:
        """Send one envelope over the newest connection and wait for the app's ack."""
        live = [ws for ws in self._sockets if not ws.closed]
        if not live:
            raise SlackRefusal("no_socket_mode_connection")
        envelope_id = str(uuid.uuid4())  # Slack's envelope ids are UUIDs
        envelope: JSON = {"envelope_id": envelope_id, "payload": payload, "type": kind.value,
                          "accepts_response_payload": accepts_response_payload(kind, payload)}
        if kind is EnvelopeType.EVENTS_API:
            envelope.update(retry_attempt=retry_attempt, retry_reason=retry_reason)
        future: asyncio.Future[JSON] = asyncio.get_running_loop().create_future()
        self._pending[envelope_id] = future
        started = asyncio.get_running_loop().time()
        await live[-1].send_json(envelope)
        try:
            async with asyncio.timeout(timeout):
                ack = await future
        except TimeoutError:
            raise TimeoutError(f"the app did not ack {kind.value} envelope {envelope_id} within {timeout}s; "
                               "Slack would have given up") from None
        finally:
            self._pending.pop(envelope_id, None)
        body = ack.get("payload")
        return SocketAck(envelope_id, body if isinstance(body, dict) else None,
                         asyncio.get_running_loop().time() - started)

    async def push_request(
        self, body: bytes, content_type: str, headers: Mapping[str, str], *, timeout: float = ACK_TIMEOUT,  # noqa: ASYNC109
    ) -> SocketAck:
        """What Slack would have POSTed to the Request URL, sent as a Socket Mode envelope instead."""
        kind, payload = envelope_payload(body, content_type)
        retry_attempt = int(headers.get("X-Slack-Retry-Num", 0))
        retry_reason = headers.get("X-Slack-Retry-Reason", "") if retry_attempt else ""
        return await self.push(kind, payload, retry_attempt=retry_attempt, retry_reason=retry_reason,
                               timeout=timeout)

    async def disconnect(self, reason: str = "refresh_requested") -> None:
        """Slack's ``disconnect`` message, then close every connection (the app should reconnect)."""
        for ws in list(self._sockets):
            with contextlib.suppress(ConnectionError):
                await ws.send_json({"type": "disconnect", "reason": reason,
                                    "debug_info": {"host": "applink-sandbox"}})
            await ws.close()


def envelope_payload(body: bytes, content_type: str) -> tuple[EnvelopeType, JSON]:
    """An HTTP request body from Slack as the envelope type and payload Socket Mode carries it in:
    JSON events as ``events_api``, ``payload=`` forms as ``interactive``, other forms (slash
    commands) as ``slash_commands`` with the form fields as the payload."""
    if content_type == "application/json":
        payload = json.loads(body)
        if payload.get("type") == "url_verification":
            raise ValueError("Socket Mode has no url_verification handshake")
        return EnvelopeType.EVENTS_API, payload
    form = dict(parse_qsl(body.decode(), keep_blank_values=True))
    if "payload" in form:
        return EnvelopeType.INTERACTIVE, json.loads(form["payload"])
    return EnvelopeType.SLASH_COMMANDS, dict(form)
