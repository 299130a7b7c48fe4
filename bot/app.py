"""Composition root: builds every part of the bot from settings and config, and wires them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

from bot.clock import Clock, SystemClock
from bot.config import Config, Settings
from bot.db import create_engine, migrate, session_factory
from bot.metrics import Metrics
from bot.notify.dispatch import Dispatcher, RenderContext
from bot.oncall.service import Schedules
from bot.services import Services
from bot.slack.app import Listeners, build_bolt_app
from bot.slack.client import make_client
from bot.web import alerts as alert_routes
from bot.web import health
from bot.web.keys import SERVICES, STATE, WebState

log = logging.getLogger(__name__)


@dataclass
class Bot:
    """A built bot: its services, the Bolt app, and the aiohttp application serving both."""

    services: Services
    bolt: AsyncApp
    web: web.Application
    listeners: Listeners

    async def drain(self) -> int:
        """Send everything that is due now (tests and the demo call this instead of sleeping)."""
        return int(await self.services.dispatcher.flush())


def build_services(settings: Settings, config: Config, *, clock: Clock | None = None) -> Services:
    engine = create_engine(settings.database_url)
    svc = Services(settings=settings, config=config, clock=clock or SystemClock(), engine=engine,
                   sessions=session_factory(engine), metrics=Metrics())
    svc.schedules = Schedules.load(config, base_dir=Path(settings.config_path).resolve().parent)
    svc.slack = make_client(settings.slack_bot_token or "", settings.slack_api_url)
    render = RenderContext(zone=config.zone(), names=svc.names, playbook_url=lambda _p: None,
                           playbook_name=lambda p: p)
    svc.dispatcher = Dispatcher(sessions=svc.sessions, client=svc.slack, clock=svc.clock, render=render,
                                metrics=svc.metrics)
    return svc


def create_bot(settings: Settings, config: Config, *, clock: Clock | None = None,
               run_background: bool = True) -> Bot:
    """Build the whole bot. ``run_background=False`` leaves the senders to explicit ``drain()`` calls."""
    svc = build_services(settings, config, clock=clock)
    bolt, listeners = build_bolt_app(svc)
    app = web.Application(client_max_size=1024 * 1024)
    app[SERVICES] = svc
    app[STATE] = WebState()

    async def slack_events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    app.router.add_post("/slack/events", slack_events)
    alert_routes.add_routes(app)
    health.add_routes(app)

    async def lifecycle(_app: web.Application) -> AsyncIterator[None]:
        scheduler = AsyncIOScheduler(timezone=config.timezone)
        svc.extras["scheduler"] = scheduler
        scheduler.start()
        tasks = [asyncio.create_task(svc.dispatcher.run(), name="dispatcher")] if run_background else []
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            scheduler.shutdown(wait=False)
            await svc.engine.dispose()

    app.cleanup_ctx.append(lifecycle)
    return Bot(services=svc, bolt=bolt, web=app, listeners=listeners)


async def prepare_database(settings: Settings) -> None:
    await migrate(settings.database_url)
