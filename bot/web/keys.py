"""Typed keys for what the aiohttp application carries."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from bot.services import Services


@dataclass
class WebState:
    slack_checked_at: float = -1e9
    slack_error: str | None = None


SERVICES = web.AppKey("services", Services)
STATE = web.AppKey("state", WebState)
