"""The JSON API for scripts and for testing the whole path, behind ``WATCHSTANDER_API_TOKEN``.

- ``GET /api/alerts?status=open|firing|acknowledged|resolved|all&team=<team>&limit=<1..500>``: alert
  groups, newest first (default ``open``: firing or acknowledged; ``limit`` 100).
- ``POST /api/test``: fire a marked test alert through the whole path and report each hop
  (:mod:`bot.web.api_drill`).

Both need ``Authorization: Bearer <WATCHSTANDER_API_TOKEN>`` (:mod:`bot.web.api_common`); without
the variable set they answer 404. A bad parameter is a 400 naming it, never a 5xx.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TypeAlias

from aiohttp import web

from bot.alerts.listing import DEFAULT_LIMIT, MAX_LIMIT, StateFilter, list_groups
from bot.alerts.models import Alert, AlertGroup
from bot.escalation.drill import TEST_LABEL
from bot.slack.client import SlackClient, make_client
from bot.slack.errors import SlackError
from bot.web import api_drill
from bot.web.api_common import ApiError, guarded, one_param, refuse_unknown_params
from bot.web.keys import SERVICES, SLACK

Json: TypeAlias = str | int | bool | None | list["Json"] | dict[str, "Json"]
WORKSPACE_TTL = 3600.0  # seconds a workspace URL from auth.test is reused
WORKSPACE_RETRY = 60.0  # seconds before asking again after auth.test did not answer
WORKSPACE_WAIT = 2.0  # seconds a listing waits for auth.test before answering without permalinks


@dataclass
class Workspace:
    """The Slack workspace's URL (``https://acme.slack.com/``), from auth.test, for message links.

    Links are built from it rather than asked for one by one (``chat.getPermalink`` for 500 alerts
    would be 500 calls); when Slack cannot say, the listing answers with ``slack_permalink: null``.
    """

    url: str | None = None
    checked_at: float = -1e9
    lock: asyncio.Lock | None = None

    async def base(self, slack: SlackClient) -> str | None:
        fresh = WORKSPACE_TTL if self.url else WORKSPACE_RETRY
        if time.monotonic() - self.checked_at < fresh:
            return self.url
        self.lock = self.lock or asyncio.Lock()
        async with self.lock:
            if time.monotonic() - self.checked_at >= fresh:
                self.url = await _workspace_url(slack)
                self.checked_at = time.monotonic()
        return self.url


async def _workspace_url(slack: SlackClient) -> str | None:
    client = make_client(slack.token or "", slack.base_url, timeout=int(WORKSPACE_WAIT) + 1, retries=False)
    try:
        resp = await asyncio.wait_for(client.auth_test(), WORKSPACE_WAIT)
    except (SlackError, TimeoutError):
        return None
    url = resp.get("url")
    return url if isinstance(url, str) and url.startswith("https://") else None


WORKSPACE = web.AppKey("api_workspace", Workspace)


def iso(at: datetime | None) -> str | None:
    return at.isoformat().replace("+00:00", "Z") if at else None


def permalink(workspace: str | None, channel_id: str | None, ts: str | None) -> str | None:
    if not (workspace and channel_id and ts):
        return None
    return f"{workspace.rstrip('/')}/archives/{channel_id}/p{ts.replace('.', '')}"


def _labels(a: Alert) -> dict[str, Json]:
    return {str(k): str(v) for k, v in a.labels.items()}


def _alert_json(a: Alert) -> dict[str, Json]:
    return {
        "id": a.id, "fingerprint": a.fingerprint, "title": a.title, "severity": a.severity, "status": a.status,
        "service": a.service, "labels": _labels(a), "count": a.count,
        "received_at": iso(a.received_at), "last_seen_at": iso(a.last_seen_at), "resolved_at": iso(a.resolved_at),
    }


def group_json(g: AlertGroup, workspace: str | None) -> dict[str, Json]:
    """One alert group as the API shows it; the group's fields come from its first alert where a
    group has none of its own (fingerprint, service, labels)."""
    lead = g.alerts[0] if g.alerts else None
    labels = _labels(lead) if lead else {}
    return {
        "id": g.id, "title": g.title, "severity": g.severity, "status": g.status, "team": g.team,
        "channel": g.channel, "integration": g.integration, "group_key": g.group_key,
        "fingerprint": lead.fingerprint if lead else None, "count": sum(a.count for a in g.alerts),
        "received_at": iso(g.created_at), "updated_at": iso(g.updated_at),
        "acknowledged_at": iso(g.acknowledged_at), "acknowledged_by": g.acknowledged_by,
        "acknowledged_via": g.acknowledged_via,
        "resolved_at": iso(g.resolved_at), "resolved_by": g.resolved_by, "resolved_via": g.resolved_via,
        "service": lead.service if lead else None, "labels": labels, "test": labels.get(TEST_LABEL) == "true",
        "snoozed_until": iso(g.snoozed_until), "silenced": g.silence_id is not None,
        "slack_channel_id": g.slack_channel_id, "slack_ts": g.slack_ts,
        "slack_permalink": permalink(workspace, g.slack_channel_id, g.slack_ts),
        "alerts": [_alert_json(a) for a in g.alerts],
    }


def _state(request: web.Request) -> StateFilter:
    given = one_param(request, "status")
    if given is None:
        return StateFilter.OPEN
    try:
        return StateFilter(given.strip().lower())
    except ValueError:
        raise ApiError(400, [f"status: {given!r} is not one of {', '.join(s.value for s in StateFilter)}"]) from None


def _team(request: web.Request) -> str | None:
    given = one_param(request, "team")
    if given is None:
        return None
    teams = [t.name for t in request.app[SERVICES].config.teams]
    if given not in teams:
        raise ApiError(400, [f"team: no team named {given!r} (teams: {', '.join(teams) or 'none configured'})"])
    return given


def _limit(request: web.Request) -> int:
    given = one_param(request, "limit")
    if given is None:
        return DEFAULT_LIMIT
    text = given.strip()
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_LIMIT):
        raise ApiError(400, [f"limit: {given!r} is not a whole number from 1 to {MAX_LIMIT}"])
    return int(text)


async def list_alerts(request: web.Request) -> web.Response:
    refuse_unknown_params(request, ("status", "team", "limit"))
    state, team, limit = _state(request), _team(request), _limit(request)
    svc = request.app[SERVICES]
    async with svc.sessions() as s:
        groups = await list_groups(s, state=state, team=team, limit=limit)
    workspace = await request.app[WORKSPACE].base(request.app[SLACK])
    return web.json_response({"status": state, "team": team, "count": len(groups),
                              "alerts": [group_json(g, workspace) for g in groups]})


ENDPOINTS = {"/api/alerts": "GET", "/api/test": "POST"}


async def not_found(request: web.Request) -> web.Response:
    """Every other ``/api/`` request: a JSON 404 (or 405 for the wrong method) rather than aiohttp's text."""
    allowed = ENDPOINTS.get(request.path.rstrip("/"))
    if allowed:
        raise ApiError(405, [f"{request.path} takes {allowed}, not {request.method}"], {"Allow": allowed})
    raise ApiError(404, [f"no API endpoint {request.method} {request.path}; there are GET /api/alerts and "
                         "POST /api/test"])


def add_routes(app: web.Application) -> None:
    app[WORKSPACE] = Workspace()
    api_drill.add_state(app)
    app.router.add_get("/api/alerts", guarded(list_alerts))
    app.router.add_post("/api/test", guarded(api_drill.post_test))
    app.router.add_route("*", "/api/{rest:.*}", guarded(not_found))
