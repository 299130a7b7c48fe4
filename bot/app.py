"""Composition root: builds every part of the bot from settings and config, and wires them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Mapping
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
from bot.db import create_engine, migrate, session_factory, transaction
from bot.escalation.engine import start_escalation
from bot.incidents.kit import load_incident_kit
from bot.incidents.open_items import open_incident_items
from bot.incidents.playbooks import match_playbook
from bot.inflight import finish
from bot.logs import protect
from bot.metrics import Metrics
from bot.monitors.heartbeats import Monitors
from bot.monitors.raising import AlertSink, retire_unwatched
from bot.monitors.runner import CheckRunner
from bot.notify.daily_summary import schedule_daily_digest
from bot.notify.dispatch import Dispatcher, RenderContext
from bot.notify.email_alerts import AlertEmails
from bot.notify.email_digests import DigestEmails
from bot.notify.email_render import email_env
from bot.notify.handoff_posts import schedule_handoffs
from bot.notify.incident_posts import register_incident_handlers
from bot.notify.paging import STOP_TIMEOUT, PagingService, build_paging
from bot.notify.posts import register_post_handlers
from bot.notify.smtp import SmtpSender
from bot.notify.usergroups import HandleSyncer, UserGroups
from bot.notify.weekly_summary import register_summary_handlers, schedule_weekly_summary
from bot.oncall.schedule import Schedules
from bot.retention import Pruner, schedule_retention
from bot.services import Services
from bot.slack.app import Listeners, build_bolt_app
from bot.slack.client import SlackClient, make_client
from bot.slack.deps import SlackDeps
from bot.slack.user_zones import UserZones
from bot.web import alerts as alert_routes
from bot.web import api as api_routes
from bot.web import calendar as calendar_routes
from bot.web import email_links as email_link_routes
from bot.web import health
from bot.web import heartbeats as heartbeat_routes
from bot.web import status_page as status_page_routes
from bot.web import twilio as twilio_routes
from bot.web import twilio_voice as voice_routes
from bot.web.keys import MONITORS, PAGING, SCHEDULER, SERVICES, SLACK, STATE, WebState
from bot.web.middleware import database_unavailable_middleware, latency_middleware
from bot.web.probes import Prober
from bot.web.self_heartbeat import SelfPinger
from bot.web.slack_events import slack_events_handler

log = logging.getLogger(__name__)
MONITOR_TICK = 15  # seconds between looks for missed heartbeat deadlines


@dataclass
class Bot:
    """A built bot: every part, each typed, wired once by :func:`create_bot`."""

    services: Services
    slack: SlackClient
    dispatcher: Dispatcher
    paging: PagingService
    scheduler: AsyncIOScheduler
    bolt: AsyncApp
    web: web.Application
    listeners: Listeners
    monitors: Monitors  # heartbeats and the Watchdog
    checks: CheckRunner  # HTTP and TLS checks
    pinger: SelfPinger | None  # self_heartbeat, when configured

    async def drain(self) -> int:
        """Run due escalation steps and send everything that is due now (tests and the demo call
        this instead of sleeping)."""
        total = 0
        await self.listeners.inflight.wait_idle()
        while n := await self.paging.run_due() + int(await self.dispatcher.flush()):
            total += n
        return total


def create_bot(settings: Settings, config: Config, *, clock: Clock | None = None,
               run_background: bool = True) -> Bot:
    """Build the whole bot: the one place its parts are made and handed to each other.
    ``run_background=False`` leaves the senders to explicit ``drain()`` calls."""
    protect(settings=settings, config=config)  # whatever built us (serve, the demo), logs hide these
    clock = clock or SystemClock()
    engine = create_engine(settings.database_url)
    sessions = session_factory(engine)
    metrics = Metrics()
    schedules = Schedules.load(config, base_dir=Path(settings.config_path).resolve().parent)
    slack = make_client(settings.slack_bot_token or "", settings.slack_api_url, errors=metrics.slack_errors)
    kit = load_incident_kit(config)  # playbooks and the post-mortem template, checked now, not mid-incident

    def playbook_for(labels: Mapping[str, str]) -> str | None:
        found = match_playbook(kit.playbooks, labels)
        return found.id if found else None

    render = RenderContext(zone=config.zone(), names={p.slack_id: p.name for p in config.people},
                           playbook_name=lambda p: (found.name if (found := kit.playbook(p)) else None))
    sender = make_client(settings.slack_bot_token or "", settings.slack_api_url, wait_on_rate_limit=False,
                         errors=metrics.slack_errors)
    dispatcher = Dispatcher(sessions=sessions, client=sender, clock=clock, render=render, metrics=metrics,
                            outbox_client=slack)
    woken: list[Callable[[], None]] = [dispatcher.wake]  # the escalation runner joins once it is built

    def wake() -> None:
        """Tell the senders that new work was committed (new deadlines, a snooze, may be earlier)."""
        for wake_one in woken:
            wake_one()

    sink = AlertSink(config=config, escalate=start_escalation, playbook_for=playbook_for)
    monitors = Monitors(sessions=sessions, config=config, clock=clock, sink=sink, wake=wake)
    prober = Prober()
    checks = CheckRunner(sessions=sessions, config=config, clock=clock, sink=sink, wake=wake, probe=prober,
                         metrics=metrics)
    svc = Services(
        settings=settings, config=config, clock=clock, engine=engine, sessions=sessions, metrics=metrics,
        schedules=schedules, kit=kit, zones=UserZones(slack, clock, config), wake=wake,
        writer=IngestWriter(sessions=sessions, config=config, clock=clock, on_commit=wake,
                            escalate=start_escalation, playbook_for=playbook_for),
        open_items=(open_alerts, open_incident_items),  # what a handoff DM / App Home lists, in this order
    )
    register_post_handlers(dispatcher)  # outbox kinds "channel_post" and "dm"
    handles = HandleSyncer(svc, UserGroups(slack))
    handles.register(dispatcher)  # "handle_sync": each team's Slack user group holds its on-call
    register_summary_handlers(svc, dispatcher, slack)  # "summary_chart": the weekly chart, in its post's thread
    register_incident_handlers(svc, dispatcher, slack)  # outbox kinds "incident_*"
    for warning in start_warnings(settings, config):
        log.warning("%s", warning)
    smtp_target = settings.smtp() if settings.email_configured else None
    smtp = SmtpSender(smtp_target) if smtp_target is not None else None
    emails = AlertEmails(settings=settings, config=config, clock=clock, env=email_env(settings), sessions=sessions,
                         smtp=smtp)
    emails.register(dispatcher)  # "alert_email": route copies and resolved follow-ups
    digests = DigestEmails(identity=None, smtp=smtp, clock=clock, metrics=metrics)
    digests.register(dispatcher)  # "digest_email": the weekly summary and the daily digest by email
    paging = build_paging(svc, dispatcher, slack, render, emails)  # escalation runner; kinds "page_*"
    woken.append(paging.wake)
    bolt, listeners = build_bolt_app(svc, SlackDeps.of(svc, slack=slack, paging=paging.paging))
    scheduler = background_scheduler(svc, run_background=run_background)
    if run_background and monitors.any:
        scheduler.add_job(monitors.run_due, "interval", seconds=MONITOR_TICK, id="heartbeat_deadlines",
                          coalesce=True, max_instances=1, misfire_grace_time=MONITOR_TICK)

    app = web.Application(client_max_size=1024 * 1024,
                          middlewares=[latency_middleware(metrics.request_latency),
                                       database_unavailable_middleware()])
    app[SERVICES] = svc
    app[STATE] = WebState()
    app[PAGING] = paging.paging
    app[SLACK] = slack
    app[SCHEDULER] = scheduler
    app[MONITORS] = monitors
    pinger = SelfPinger(config.self_heartbeat, app) if config.self_heartbeat else None
    if pinger is not None and run_background:
        scheduler.add_job(pinger.job, "interval", seconds=pinger.monitor.every.total_seconds(), id="self_heartbeat",
                          coalesce=True, max_instances=1)
    if not settings.socket_mode:  # Socket Mode skips request signing: Slack's requests come over the socket only
        app.router.add_post("/slack/events", slack_events_handler(bolt, settings.slack_signing_secret))
    alert_routes.add_routes(app)
    health.add_routes(app)
    calendar_routes.add_routes(app)
    twilio_routes.add_routes(app)
    voice_routes.add_routes(app)
    heartbeat_routes.add_routes(app)
    status_page_routes.add_routes(app)
    api_routes.add_routes(app)
    email_link_routes.add_routes(app, emails)

    async def lifecycle(_app: web.Application) -> AsyncIterator[None]:
        dispatcher.check_handlers()  # an outbox kind nothing would send is an error now, not a silent queue
        await handles.at_start()  # user groups may have drifted while the bot was down
        await emails.start()  # the link-signing key, before a link is signed or checked
        digests.start(emails.identity)
        await monitors.register()  # watched from now: /oncall checks and the status page know them at once
        await checks.register()
        await retire_removed_monitors(svc, sink, monitors.keys | checks.keys)
        if run_background:
            health.watch_loops(app, escalation=paging.runner.heartbeat, dispatcher=dispatcher.heartbeat,
                               checks=checks.heartbeat if checks.any else None)
        scheduler.start()
        await paging.start(background=run_background)  # the escalation runner's task
        tasks = [asyncio.create_task(dispatcher.run(), name="dispatcher")] if run_background else []
        if run_background and checks.any:
            tasks.append(asyncio.create_task(checks.run(), name="check-runner"))
        try:
            yield
        finally:
            await paging.close()  # lets a step in progress commit before the loop goes
            dispatcher.stop()  # and a pass in progress, before the engine is disposed
            checks.stop()
            for task in tasks:
                await finish(task, STOP_TIMEOUT)
            await prober.close()
            scheduler.shutdown(wait=False)
            await engine.dispose()

    app.cleanup_ctx.append(lifecycle)
    return Bot(services=svc, slack=slack, dispatcher=dispatcher, paging=paging, scheduler=scheduler, bolt=bolt,
               web=app, listeners=listeners, monitors=monitors, checks=checks, pinger=pinger)


def background_scheduler(svc: Services, *, run_background: bool) -> AsyncIOScheduler:
    """The scheduler with the bot's periodic jobs, not started yet.

    It runs on UTC. APScheduler 3 places an interval job's first run at local now + interval, and
    Python's aware arithmetic drops the fold: started in the repeated hour of a daylight-saving
    fall-back (02:30 CET), "02:40" becomes 02:40 CEST, an hour in the past, and every interval job
    runs at once. Jobs on the local calendar (the weekly summary's and the daily digest's crons) carry their own
    zone.
    """
    scheduler = AsyncIOScheduler(timezone=UTC)
    if run_background:
        schedule_handoffs(scheduler, svc)  # every minute; tests call run_due_handoffs instead
        schedule_weekly_summary(scheduler, svc)  # cron + catch-up check; tests call run_due_summary
        schedule_daily_digest(scheduler, svc)  # with daily_summary: cron + catch-up check; tests call run_due_digest
        schedule_retention(scheduler, Pruner(sessions=svc.sessions, clock=svc.clock, retention=svc.config.retention),
                           svc.clock)  # daily; `watchstander prune` runs it by hand
    return scheduler


def email_warning(settings: Settings, config: Config) -> str | None:
    """Why configured email would not go out, said once at start (each skipped page also says so
    in its alert's thread); None when nothing is amiss."""
    if bool(settings.smtp_url) != bool(settings.email_from):
        given, missing = ("SMTP_URL", "EMAIL_FROM") if settings.smtp_url else ("EMAIL_FROM", "SMTP_URL")
        return f"email is off: {given} is set but {missing} is not"
    uses = [f"teams.{t.name}.escalation" for t in config.teams
            if any(target.startswith("email:") for step in t.escalation for target in step.notify)]
    uses += ["routes"] * any(r.email for r in config.routes) + ["severities"] * any(
        p.email for p in config.severities.values())
    uses += ["summary.email"] * bool(config.summary.email)
    uses += ["daily_summary.email"] * bool(config.daily_summary and config.daily_summary.email)
    if uses and not settings.email_configured:
        return f"the config sends email ({', '.join(dict.fromkeys(uses))}) but SMTP_URL and EMAIL_FROM are not set"
    return None


def start_warnings(settings: Settings, config: Config) -> list[str]:
    """What the config asks for that these settings cannot send, said once at start."""
    email = email_warning(settings, config)
    return ([f"{email}; those emails are skipped"] if email else []) + [
        f"{w}; those pages are skipped (each alert's thread says so) and the policy goes on"
        for w in phone_warnings(settings, config)]


def _phone_uses(config: Config, kind: str) -> list[str]:
    """Where the config pages by ``kind`` (``sms`` or ``call``): escalation steps and people's rules."""
    uses = [f"teams.{t.name}.escalation" for t in config.teams
            if any(target.startswith(f"{kind}:") for step in t.escalation for target in step.notify)]
    uses += [f"people.{p.slack_id}.notify" for p in config.people if any(r.via == kind for r in p.notify)]
    return uses


def phone_warnings(settings: Settings, config: Config) -> list[str]:
    """Why configured SMS or call pages would not go out, said once at start (like :func:`email_warning`):
    Twilio not set up, or calls without PUBLIC_URL (where Twilio fetches a call's words)."""
    warnings = []
    twilio = "TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER are not all set"
    if (sms := _phone_uses(config, "sms")) and not settings.twilio_configured:
        warnings.append(f"the config pages by SMS ({', '.join(sms)}) but {twilio}")
    if calls := _phone_uses(config, "call"):
        if not settings.twilio_configured:
            warnings.append(f"the config pages by phone call ({', '.join(calls)}) but {twilio}")
        elif not settings.public_url:
            warnings.append(f"the config pages by phone call ({', '.join(calls)}) but PUBLIC_URL is not set: "
                            "Twilio fetches what a call says from the bot's public URL")
    return warnings


async def retire_removed_monitors(svc: Services, sink: AlertSink, watched: set[str]) -> None:
    """A check or heartbeat taken out of the config gets its open alert resolved, not left open for good."""
    async with transaction(svc.sessions) as s:
        retired = await retire_unwatched(s, sink, watched, svc.clock.now())
    if retired:
        log.info("no longer watched (removed from the config): %s", ", ".join(retired))
        svc.wake()


async def prepare_database(settings: Settings) -> None:
    await migrate(settings.database_url)
