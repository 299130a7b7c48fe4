"""Typed keys for what the aiohttp application carries."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from aiohttp import web

from bot.heartbeat import Heartbeat, Loop
from bot.services import Services


@dataclass
class WebState:
    slack_checked_at: float = -1e9
    slack_error: str | None = None
    slack_check: asyncio.Task[None] | None = None  # the auth.test in flight, if any
    loops: dict[Loop, Heartbeat] = field(default_factory=dict)  # the started loops, for /readyz


SERVICES = web.AppKey("services", Services)
STATE = web.AppKey("state", WebState)
