"""Liveness, readiness and metrics for load balancers and Prometheus."""

from __future__ import annotations

import hmac
import time

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import func, select, text

from bot.alerts.models import AlertGroup
from bot.web.keys import SERVICES, STATE

SLACK_CHECK_TTL = 60.0


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    svc = request.app[SERVICES]
    state = request.app[STATE]
    problems: dict[str, str] = {}
    try:
        async with svc.sessions() as s:
            await s.execute(text("SELECT 1"))
    except Exception as exc:  # any failure means not ready; say which
        problems["database"] = f"unreachable: {type(exc).__name__}"
    if time.monotonic() - state.slack_checked_at > SLACK_CHECK_TTL or state.slack_error:
        try:
            resp = await svc.slack.auth_test()
            state.slack_error = None if resp.get("ok") else str(resp.get("error"))
        except Exception as exc:  # SlackApiError or connection trouble
            state.slack_error = getattr(getattr(exc, "response", None), "get", lambda _k: None)("error") or (
                type(exc).__name__)
        state.slack_checked_at = time.monotonic()
    if state.slack_error:
        problems["slack"] = f"token check failed: {state.slack_error}"
    scheduler = svc.extras.get("scheduler")
    if scheduler is not None and not scheduler.running:
        problems["scheduler"] = "not running"
    if problems:
        return web.json_response({"status": "unavailable", "problems": problems}, status=503)
    return web.json_response({"status": "ready"})


async def metrics(request: web.Request) -> web.Response:
    svc = request.app[SERVICES]
    token = svc.settings.metrics_token
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            return web.json_response({"error": "metrics need Authorization: Bearer <METRICS_TOKEN>"}, status=401)
    async with svc.sessions() as s:
        open_groups = await s.scalar(select(func.count()).select_from(AlertGroup)
                                     .where(AlertGroup.status != "resolved"))
    svc.metrics.open_alerts.set(open_groups or 0)
    body = generate_latest(svc.metrics.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)  # aiohttp answers HEAD for GET routes
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
