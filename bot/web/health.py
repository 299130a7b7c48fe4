"""Liveness, readiness and metrics for load balancers and Prometheus.

``/readyz`` answers "should this replica get traffic": the database answers, the loops that page
and post (escalation runner, outbox dispatcher, scheduler) are going round, and every on-call
calendar was readable. Slack's state is reported but does not make the replica unready: webhooks
are stored in the database and go out when Slack is back, so refusing them would lose alerts.
"""

from __future__ import annotations

import asyncio
import time

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import func, select, text

from bot.alerts.incoming import AlertStatus
from bot.alerts.models import AlertGroup
from bot.heartbeat import Heartbeat, Loop
from bot.services import Services
from bot.slack.client import SlackClient, make_client
from bot.slack.errors import SlackError, SlackUnreachable
from bot.web.keys import SCHEDULER, SERVICES, SLACK, STATE, WebState
from bot.web.tokens import same_token

SLACK_CHECK_TTL = 60.0  # a working token is checked again after this long; a failing one at every probe
CHECK_TIMEOUT = 3.0  # seconds for the database's answer and for Slack's
SLACK_WAIT = 0.5  # seconds a probe waits for Slack before answering with what it last knew
SCHEDULER_TICK = 15.0  # seconds between the scheduler's heartbeat jobs


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def watch_loops(app: web.Application, *, escalation: Heartbeat, dispatcher: Heartbeat,
                checks: Heartbeat | None = None) -> None:
    """Report the started loops in /readyz; the scheduler's heartbeat is a job it runs."""
    beat = Heartbeat(SCHEDULER_TICK)

    async def tick() -> None:
        beat.tick()

    app[SCHEDULER].add_job(tick, "interval", seconds=SCHEDULER_TICK, id="heartbeat")
    app[STATE].loops.update({Loop.ESCALATION: escalation, Loop.DISPATCHER: dispatcher, Loop.SCHEDULER: beat})
    if checks is not None:
        app[STATE].loops[Loop.CHECKS] = checks


async def _database_problem(svc: Services) -> str | None:
    try:
        async with svc.sessions() as s:
            await asyncio.wait_for(s.execute(text("SELECT 1")), CHECK_TIMEOUT)
    except Exception as exc:  # any failure means not ready; say which
        return f"unreachable: {type(exc).__name__}"
    return None


async def _check_slack(slack: SlackClient, state: WebState) -> None:
    """One auth.test, without the retries the senders use: a probe wants Slack's state now."""
    client = make_client(slack.token or "", slack.base_url, timeout=int(CHECK_TIMEOUT), retries=False)
    try:
        resp = await client.auth_test()
        state.slack_error = None if resp.get("ok") else str(resp.get("error"))
    except SlackUnreachable as exc:
        state.slack_error = f"unreachable: {exc.cause}"
    except SlackError as exc:
        state.slack_error = exc.code
    state.slack_checked_at = time.monotonic()


async def _slack_state(slack: SlackClient, state: WebState) -> dict[str, object]:
    """Slack's state as last seen: checked again when due, waiting for the answer only briefly, so a
    Slack that hangs never makes the probe itself time out."""
    due = time.monotonic() - state.slack_checked_at > SLACK_CHECK_TTL or state.slack_error is not None
    if due and (state.slack_check is None or state.slack_check.done()):
        state.slack_check = asyncio.create_task(_check_slack(slack, state), name="readyz-slack-check")
    if state.slack_check is not None and not state.slack_check.done():
        await asyncio.wait({state.slack_check}, timeout=SLACK_WAIT)
    if state.slack_checked_at < 0:
        return {"ok": False, "error": f"no answer to auth.test within {SLACK_WAIT:g} s yet"}
    return {"ok": False, "error": state.slack_error} if state.slack_error else {"ok": True}


def _loop_problems(scheduler: AsyncIOScheduler, state: WebState) -> tuple[dict[str, object], dict[str, str]]:
    loops: dict[str, object] = {}
    problems: dict[str, str] = {}
    for loop, heartbeat in state.loops.items():
        beat = heartbeat.beat()
        loops[loop] = beat.as_json()
        if beat.stale:
            problems[loop] = f"stalled: no pass for {beat.seconds_ago:.0f} s (expected within {beat.stale_after:.0f} s)"
    if not scheduler.running:
        problems[Loop.SCHEDULER] = "not running"
    return loops, problems


async def readiness(app: web.Application) -> tuple[dict[str, str], dict[str, object]]:
    """What keeps this replica from being ready (none: it is), and each loop's last pass."""
    svc = app[SERVICES]
    problems: dict[str, str] = {}
    if database := await _database_problem(svc):
        problems["database"] = database
    loops, loop_problems = _loop_problems(app[SCHEDULER], app[STATE])
    problems.update(loop_problems)
    problems.update({f"calendar:{team}": error for team, error in svc.schedules.problems.items()})
    return problems, loops


async def readyz(request: web.Request) -> web.Response:
    problems, loops = await readiness(request.app)
    body = {"status": "unavailable" if problems else "ready", "problems": problems, "loops": loops,
            "slack": await _slack_state(request.app[SLACK], request.app[STATE])}
    return web.json_response(body, status=503 if problems else 200)


async def metrics(request: web.Request) -> web.Response:
    svc = request.app[SERVICES]
    token = svc.settings.metrics_token
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not same_token(given, token):
            return web.json_response({"error": "metrics need Authorization: Bearer <METRICS_TOKEN>"}, status=401)
    async with svc.sessions() as s:
        open_groups = await s.scalar(select(func.count()).select_from(AlertGroup)
                                     .where(AlertGroup.status != AlertStatus.RESOLVED))
    svc.metrics.open_alerts.set(open_groups or 0)
    body = generate_latest(svc.metrics.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)  # aiohttp answers HEAD for GET routes
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
