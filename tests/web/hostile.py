"""Helpers for hostile-input tests: raw HTTP bytes on a socket, Twilio signing, what got stored."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from bot.alerts.models import Alert, AlertEvent, AlertGroup
from bot.clock import ManualClock
from bot.escalation.models import PageRecord
from bot.sandbox.slack import SlackStandIn
from bot.sandbox.slack_records import JSON
from bot.sandbox.slack_user import VERIFICATION_TOKEN, BotResponse
from tests.support.harness import Harness, start_harness

PUBLIC_URL = "https://watchstander.example.com"
TWILIO_TOKEN = "twilio-auth-token-for-tests"
TWILIO_SETTINGS = {"public_url": PUBLIC_URL, "twilio_account_sid": "AC" + "0" * 32,
                   "twilio_auth_token": TWILIO_TOKEN, "twilio_from_number": "+15550009999",
                   "metrics_token": "metrics-token-for-tests"}


@asynccontextmanager
async def hostile_bot(slack: SlackStandIn, clock: ManualClock, db_url: str, **kw: Any) -> AsyncIterator[Harness]:
    """The bot with Twilio and a metrics token set, so every endpoint checks its credentials."""
    settings = {**TWILIO_SETTINGS, **kw.pop("settings", {})}
    async with start_harness(slack=slack, clock=clock, db_url=db_url, settings=settings, **kw) as h:
        yield h


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: str
    body: bytes


async def raw_http(url: str, request: bytes, timeout: float = 10.0) -> RawResponse:  # noqa: ASYNC109
    """Send exactly ``request`` (request line, headers, body) and read the answer until the server closes."""
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        writer.write(request)
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, _, headers = head.decode("latin-1").partition("\r\n")
    return RawResponse(int(status_line.split()[1]) if status_line else 0, headers, body)


def request_bytes(method: str, path: bytes | str, headers: Mapping[str, bytes | str], body: bytes = b"") -> bytes:
    """An HTTP/1.1 request with ``Connection: close`` and the body's length; header values go out as given."""
    target = path.encode() if isinstance(path, str) else path
    lines = [method.encode() + b" " + target + b" HTTP/1.1", b"Host: 127.0.0.1", b"Connection: close",
             b"Content-Length: " + str(len(body)).encode()]
    for name, value in headers.items():
        lines.append(name.encode() + b": " + (value.encode() if isinstance(value, str) else value))
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def twilio_signature(path: str, params: Mapping[str, str]) -> str:
    """What Twilio sends for a POST of ``params`` to ``PUBLIC_URL + path``."""
    return str(RequestValidator(TWILIO_TOKEN).compute_signature(PUBLIC_URL + path, dict(params)))


async def stored(h: Harness) -> dict[str, int]:
    """Row counts of what requests can change."""
    counts = {}
    async with h.bot.services.sessions() as s:
        for model in (Alert, AlertGroup, AlertEvent, PageRecord):
            counts[model.__tablename__] = int(await s.scalar(select(func.count()).select_from(model)) or 0)
    return counts


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Records logged with a traceback, or at ERROR or above: none may come from bad input."""
    return [f"{r.name} {r.levelname}: {r.getMessage()}" for r in caplog.records
            if r.exc_info or r.exc_text or r.levelno >= logging.ERROR]


# --- Slack payloads, built as the Slack stand-in's driver builds them, so tests can bend them ---------


def click_payload(h: Harness, channel: str, ts: str, action: JSON, *, user: str) -> JSON:
    """A ``block_actions`` payload for a click on a message in ``channel`` (by channel name or id)."""
    channel_id = h.slack.channel(channel).id
    return {
        "type": "block_actions", "user": {"id": user, "username": user.lower(), "team_id": h.slack.team_id},
        "api_app_id": h.slack.workspace.app_id, "token": VERIFICATION_TOKEN,
        "container": {"type": "message", "message_ts": ts, "channel_id": channel_id, "is_ephemeral": False},
        "trigger_id": h.slack.issue_trigger_id(user), "team": {"id": h.slack.team_id, "domain": "sandbox"},
        "channel": {"id": channel_id, "name": channel},
        "response_url": h.slack.new_response_url(channel_id=channel_id, user_id=user, message_ts=ts),
        "actions": [{"block_id": "b", "type": "button", "action_ts": "1.0", **action}],
    }


def slash_form(h: Harness, command: str, text: str, *, user: str, channel: str = "alerts") -> dict[str, str]:
    channel_id = h.slack.channel(channel).id
    return {"token": VERIFICATION_TOKEN, "team_id": h.slack.team_id, "team_domain": "sandbox",
            "channel_id": channel_id, "channel_name": channel, "user_id": user, "user_name": user.lower(),
            "command": command, "text": text, "api_app_id": h.slack.workspace.app_id,
            "response_url": h.slack.new_response_url(channel_id=channel_id, user_id=user),
            "trigger_id": h.slack.issue_trigger_id(user)}


def event_envelope(h: Harness, event: JSON, event_id: str) -> JSON:
    return {"token": VERIFICATION_TOKEN, "team_id": h.slack.team_id, "api_app_id": h.slack.workspace.app_id,
            "event": event, "type": "event_callback", "event_id": event_id, "event_time": 1,
            "authorizations": [{"enterprise_id": None, "team_id": h.slack.team_id, "user_id": h.slack.bot_user_id,
                                "is_bot": True, "is_enterprise_install": False}]}


async def send_signed(h: Harness, body: bytes, content_type: str) -> BotResponse:
    return await h.driver.raw(body, {"Content-Type": content_type, **h.driver.sign(body)})


async def send_interactive(h: Harness, payload: object) -> BotResponse:
    return await send_signed(h, urlencode({"payload": json.dumps(payload)}).encode(),
                             "application/x-www-form-urlencoded")
