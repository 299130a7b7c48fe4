"""``GET|POST /heartbeat/<name>`` and ``/heartbeat/<name>/fail``: a job reporting in.

Cron jobs call these with ``curl``, so GET works as well as POST, and the token may come as
``?token=`` or ``Authorization: Bearer``. The token is the heartbeat's own (``heartbeats[].token``),
compared in constant time. A failure report's body is its reason: at most 64 KB is read, and bytes
that are not UTF-8 are replaced rather than refused, since a job's error output is whatever it is.
"""

from __future__ import annotations

from aiohttp import web

from bot.config import HeartbeatMonitor
from bot.web.body import BodyError, read_raw
from bot.web.keys import MONITORS, SERVICES
from bot.web.tokens import bearer_token, same_token

MAX_REASON_BODY = 64 * 1024


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"status": "error", "error": message}, status=status)


def _given_token(request: web.Request) -> str | None:
    return bearer_token(request) or request.query.get("token") or None


def _authorized(request: web.Request, monitor: HeartbeatMonitor) -> web.Response | None:
    given = _given_token(request)
    if given is None:
        return _error(401, f"heartbeat {monitor.name!r} needs its token: ?token=<token> or Authorization: Bearer")
    if not same_token(given, monitor.token):
        return _error(401, f"wrong token for heartbeat {monitor.name!r}")
    return None


async def _report(request: web.Request, *, failed: bool) -> web.Response:
    svc = request.app[SERVICES]
    name = request.match_info["name"]
    monitor = svc.config.heartbeat(name)
    if monitor is None:
        return _error(404, f"no heartbeat named {name!r}; heartbeats are listed under heartbeats: in the config")
    if (refused := _authorized(request, monitor)) is not None:
        return refused
    reason = None
    if failed:
        try:
            body = await read_raw(request, MAX_REASON_BODY)
        except BodyError as exc:
            return _error(exc.status, exc.message)
        reason = body.decode("utf-8", errors="replace") or request.query.get("reason", "")
    beat = await request.app[MONITORS].beat(monitor, failure=reason)
    return web.json_response({
        "status": "failed" if failed else "ok", "heartbeat": beat.name, "at": beat.at.isoformat(timespec="seconds"),
        "next_due_at": beat.next_due_at.isoformat(timespec="seconds"), "alert_resolved": beat.resolved,
        "alert_raised": beat.raised,
    })


async def beat(request: web.Request) -> web.Response:
    return await _report(request, failed=False)


async def fail(request: web.Request) -> web.Response:
    return await _report(request, failed=True)


def add_routes(app: web.Application) -> None:
    for path, handler in (("/heartbeat/{name}", beat), ("/heartbeat/{name}/fail", fail)):
        app.router.add_get(path, handler, allow_head=False)
        app.router.add_post(path, handler)
