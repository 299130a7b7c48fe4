"""A bot built exactly as `watchstander serve` builds it, served on 127.0.0.1, plus helpers to drive it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from bot.app import Bot, create_bot
from bot.clock import ManualClock
from bot.config import Config, Settings
from bot.sandbox.slack import SlackStandIn
from bot.sandbox.slack_user import SlackDriver
from bot.web.server import make_runner
from tests.support.factories import TOKENS, make_config

SIGNING_SECRET = "test-signing-secret-0123456789"


@dataclass
class Harness:
    bot: Bot
    url: str
    clock: ManualClock
    slack: SlackStandIn
    driver: SlackDriver
    http: aiohttp.ClientSession

    @property
    def config(self) -> Config:
        return self.bot.services.config

    async def post(self, path: str, payload: Any = None, *, token: str | None = None, raw: bytes | None = None,
                   headers: dict[str, str] | None = None) -> tuple[int, Any]:
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        if token:
            hdrs["Authorization"] = f"Bearer {token}"
        body = raw if raw is not None else json.dumps(payload).encode()
        async with self.http.post(self.url + path, data=body, headers=hdrs) as resp:
            text = await resp.text()
            try:
                return resp.status, json.loads(text)
            except json.JSONDecodeError:
                return resp.status, text

    async def alertmanager(self, payload: Any) -> tuple[int, Any]:
        return await self.post("/alerts/alertmanager", payload, token=TOKENS["AM_TOKEN"])

    async def drain(self) -> None:
        await self.bot.drain()


@asynccontextmanager
async def start_harness(*, slack: SlackStandIn, clock: ManualClock, db_url: str, config: Config | None = None,
                        settings: dict[str, Any] | None = None, background: bool = True,
                        idle_timeout: float | None = None) -> AsyncIterator[Harness]:
    """``background=False``: nothing is sent until the test calls ``drain()``; ``idle_timeout`` shortens
    the server's keep-alive / slow-header limit."""
    base = Settings(
        slack_bot_token=slack.bot_token, slack_signing_secret=SIGNING_SECRET, slack_api_url=slack.api_url,
        database_url=db_url, port=0, **(settings or {}),
    )
    bot = create_bot(base, config or make_config(), clock=clock, run_background=background)
    runner = make_runner(bot.web, **({"idle_timeout": idle_timeout} if idle_timeout else {}))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    url = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as http:
        driver = SlackDriver(url + "/slack/events", signing_secret=SIGNING_SECRET, slack=slack)
        try:
            yield Harness(bot=bot, url=url, clock=clock, slack=slack, driver=driver, http=http)
        finally:
            await driver.close()
            await runner.cleanup()
