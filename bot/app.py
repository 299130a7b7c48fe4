"""Composition root: builds every part of the bot from settings and config, and wires them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from slack_bolt.async_app import AsyncApp

from bot.alerts.open_items import open_alerts
from bot.alerts.writer import IngestWriter
from bot.clock import Clock, SystemClock
from bot.config import Config, Settings
from bot.db import create_engine, migrate, session_factory
from bot.escalation.engine import start_escalation
from bot.incidents.kit import load_incident_kit
from bot.incidents.open_items import open_incident_items
from bot.incidents.playbooks import match_playbook
from bot.inflight import finish
from bot.logs import protect
from bot.metrics import Metrics
from bot.notify.dispatch import Dispatcher, RenderContext
from bot.notify.handoff_posts import schedule_handoffs
from bot.notify.incident_posts import register_incident_handlers
from bot.notify.paging import STOP_TIMEOUT, build_paging
from bot.notify.posts import register_post_handlers
from bot.notify.weekly_summary import register_summary_handlers, schedule_weekly_summary
from bot.oncall.open_items import OPEN_ITEMS_KEY
from bot.oncall.schedule import Schedules
from bot.retention import Pruner, schedule_retention
from bot.services import Services
from bot.slack.app import Listeners, build_bolt_app
from bot.slack.client import make_client
from bot.web import alerts as alert_routes
from bot.web import calendar as calendar_routes
from bot.web import health
from bot.web import twilio as twilio_routes
from bot.web.keys import SERVICES, STATE, WebState
from bot.web.middleware import latency_middleware
from bot.web.slack_events import slack_events_handler

log = logging.getLogger(__name__)


@dataclass
class Bot:
    """A built bot: its services, the Bolt app, and the aiohttp application serving both."""

    services: Services
    bolt: AsyncApp
    web: web.Application
    listeners: Listeners

    async def drain(self) -> int:
        """Run due escalation steps and send everything that is due now (tests and the demo call
        this instead of sleeping)."""
        total = 0
        await self.listeners.inflight.wait_idle()
        while n := await self.services.escalation.run_due() + int(await self.services.dispatcher.flush()):
            total += n
        return total


def build_services(settings: Settings, config: Config, *, clock: Clock | None = None) -> Services:
    protect(settings=settings, config=config)  # whatever built us (serve, the demo), logs hide these
    engine = create_engine(settings.database_url)
    svc = Services(settings=settings, config=config, clock=clock or SystemClock(), engine=engine,
                   sessions=session_factory(engine), metrics=Metrics())
    svc.schedules = Schedules.load(config, base_dir=Path(settings.config_path).resolve().parent)

    def playbook_for(labels: Mapping[str, str]) -> str | None:
        found = match_playbook(svc.playbooks, labels)
        return found.id if found else None

    svc.writer = IngestWriter(sessions=svc.sessions, config=config, clock=svc.clock, on_commit=svc.wake,
                              escalate=start_escalation, playbook_for=playbook_for)
    svc.slack = make_client(settings.slack_bot_token or "", settings.slack_api_url, errors=svc.metrics.slack_errors)
    kit = load_incident_kit(config)  # playbooks and the post-mortem template, checked now, not mid-incident
    svc.playbooks = kit.playbooks
    render = RenderContext(zone=config.zone(), names=svc.names,
                           playbook_name=lambda p: (found.name if (found := kit.playbook(p)) else None))
    sender = make_client(settings.slack_bot_token or "", settings.slack_api_url, wait_on_rate_limit=False,
                         errors=svc.metrics.slack_errors)
    svc.dispatcher = Dispatcher(sessions=svc.sessions, client=sender, clock=svc.clock, render=render,
                                metrics=svc.metrics, outbox_client=svc.slack)
    register_post_handlers(svc.dispatcher)  # outbox kinds "channel_post" and "dm"
    register_summary_handlers(svc)  # outbox kind "summary_chart": the weekly chart, in its post's thread
    svc.extras[OPEN_ITEMS_KEY] = [open_alerts]  # what a handoff DM / App Home lists; incidents append theirs
    svc.extras[OPEN_ITEMS_KEY].append(open_incident_items)
    register_incident_handlers(svc, kit)  # outbox kinds "incident_*"
    svc.escalation = build_paging(svc, render)  # escalation runner; outbox kinds "page_slack|sms|channel"
    return svc


def create_bot(settings: Settings, config: Config, *, clock: Clock | None = None,
               run_background: bool = True) -> Bot:
    """Build the whole bot. ``run_background=False`` leaves the senders to explicit ``drain()`` calls."""
    svc = build_services(settings, config, clock=clock)
    bolt, listeners = build_bolt_app(svc)
    app = web.Application(client_max_size=1024 * 1024,
                          middlewares=[latency_middleware(svc.metrics.request_latency)])
    app[SERVICES] = svc
    app[STATE] = WebState()

    if not settings.socket_mode:  # Socket Mode skips request signing: Slack's requests come over the socket only
        app.router.add_post("/slack/events", slack_events_handler(bolt, settings.slack_signing_secret))
    alert_routes.add_routes(app)
    health.add_routes(app)
    calendar_routes.add_routes(app)
    twilio_routes.add_routes(app)

    async def lifecycle(_app: web.Application) -> AsyncIterator[None]:
        svc.dispatcher.check_handlers()  # an outbox kind nothing would send is an error now, not a silent queue
        scheduler = background_scheduler(svc, run_background=run_background)
        svc.extras["scheduler"] = scheduler
        if run_background:
            health.watch_loops(app, svc, scheduler)  # their heartbeats, reported by /readyz
        scheduler.start()
        await svc.escalation.start(background=run_background)  # the escalation runner's task
        tasks = [asyncio.create_task(svc.dispatcher.run(), name="dispatcher")] if run_background else []
        try:
            yield
        finally:
            await svc.escalation.close()  # lets a step in progress commit before the loop goes
            svc.dispatcher.stop()  # and a pass in progress, before the engine is disposed
            for task in tasks:
                await finish(task, STOP_TIMEOUT)
            scheduler.shutdown(wait=False)
            await svc.engine.dispose()

    app.cleanup_ctx.append(lifecycle)
    return Bot(services=svc, bolt=bolt, web=app, listeners=listeners)


def background_scheduler(svc: Services, *, run_background: bool) -> AsyncIOScheduler:
    """The scheduler with the bot's periodic jobs, not started yet.

    It runs on UTC. APScheduler 3 places an interval job's first run at local now + interval, and
    Python's aware arithmetic drops the fold: started in the repeated hour of a daylight-saving
    fall-back (02:30 CET), "02:40" becomes 02:40 CEST, an hour in the past, and every interval job
    runs at once. Jobs on the local calendar (the weekly summary's cron) carry their own zone.
    """
    scheduler = AsyncIOScheduler(timezone=UTC)
    if run_background:
        schedule_handoffs(scheduler, svc)  # every minute; tests call run_due_handoffs instead
        schedule_weekly_summary(scheduler, svc)  # cron + catch-up check; tests call run_due_summary
        schedule_retention(scheduler, Pruner(sessions=svc.sessions, clock=svc.clock, retention=svc.config.retention),
                           svc.clock)  # daily; `watchstander prune` runs it by hand
    return scheduler


async def prepare_database(settings: Settings) -> None:
    await migrate(settings.database_url)
