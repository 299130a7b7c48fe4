"""Typed keys for what the aiohttp application carries."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.escalation.engine import Paging
from bot.heartbeat import Heartbeat, Loop
from bot.monitors.heartbeats import Monitors
from bot.services import Services
from bot.slack.client import SlackClient


@dataclass
class WebState:
    slack_checked_at: float = -1e9
    slack_error: str | None = None
    slack_check: asyncio.Task[None] | None = None  # the auth.test in flight, if any
    loops: dict[Loop, Heartbeat] = field(default_factory=dict)  # the started loops, for /readyz


SERVICES = web.AppKey("services", Services)
STATE = web.AppKey("state", WebState)
PAGING = web.AppKey("paging", Paging)  # escalation's inputs, for SMS replies
SLACK = web.AppKey("slack", SlackClient)  # the bot's Web API client; /readyz checks its token
SCHEDULER = web.AppKey("scheduler", AsyncIOScheduler)  # the periodic jobs; /readyz checks it runs
MONITORS = web.AppKey("monitors", Monitors)  # heartbeats and the Watchdog
