"""``POST /api/test``: fire a marked test alert through the whole path and report each hop.

Body (JSON object, every field optional): ``team`` (default: the first team with an escalation
policy), ``severity`` (default ``critical``), ``wait_seconds`` (how long to wait for the hops,
default 20, at most 60), ``keep_open`` (default false: the test alert resolves itself at the end
so nobody is paged again), ``requested_by`` (shown on the alert: who is testing).

The alert is stored, posted and paged by the bot's own background loops exactly as any alert is;
only its escalation is compressed, every step at once (:mod:`bot.escalation.drill`). The handler
watches the database until every hop has happened or can no longer happen, or the wait is over,
and times each hop in milliseconds from the request's arrival (as first seen done, looked at
every :data:`POLL_SECONDS`). 200 when every hop happened; otherwise the report, with each hop's
state and reason, as 504 when a hop was still pending when the wait ran out, else 502 (a hop was
refused, or cannot happen in this setup: Twilio not configured, nobody on call).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy.exc import OperationalError

from bot.alerts.actions import resolve
from bot.config import Team
from bot.db import transaction
from bot.escalation.drill import TEST_ACTOR, TITLE, Drill, Hop, HopState, HopView, default_team, fire, look
from bot.severity import Severity
from bot.web.api_common import ApiError
from bot.web.body import BodyError, decode_json, read_raw
from bot.web.keys import SERVICES

log = logging.getLogger(__name__)

MAX_BODY = 16 * 1024
DEFAULT_WAIT = 20.0
MAX_WAIT = 60.0
POLL_SECONDS = 0.02
FIELDS = ("team", "severity", "wait_seconds", "keep_open", "requested_by")
HOP_LABELS = {Hop.STORED: "stored", Hop.SLACK_MESSAGE: "posted to Slack", Hop.FIRST_PAGE: "first page (Slack DM)",
              Hop.SMS: "SMS page (Twilio)"}
ONE_AT_A_TIME = web.AppKey("api_test_running", asyncio.Lock)


@dataclass(frozen=True)
class TestRequest:
    team: Team
    severity: Severity
    wait_seconds: float
    keep_open: bool
    requested_by: str | None


def _object(raw: bytes) -> dict[str, object]:
    if not raw.strip():
        return {}
    try:
        data = decode_json(raw)
    except BodyError as exc:
        raise ApiError(exc.status, [exc.message]) from None
    if not isinstance(data, dict):
        raise ApiError(400, ["body: must be a JSON object, e.g. {\"team\": \"platform\"}"])
    return data


def _team(request: web.Request, given: object) -> Team:
    config = request.app[SERVICES].config
    names = ", ".join(t.name for t in config.teams) or "none configured"
    if given is None:
        team = default_team(config)
        if team is None:
            raise ApiError(400, [f"team: no team has an escalation policy to test (teams: {names})"])
        return team
    if not isinstance(given, str):
        raise ApiError(400, ["team: must be a team's name (a string)"])
    team = config.team(given)
    if team is None:
        raise ApiError(400, [f"team: no team named {given!r} (teams: {names})"])
    return team


def _severity(given: object) -> Severity:
    if given is None:
        return Severity.CRITICAL
    try:
        if isinstance(given, str):
            return Severity(given.strip().lower())
    except ValueError:
        pass
    raise ApiError(400, [f"severity: must be one of {', '.join(s.value for s in Severity)}"])


def _wait(given: object) -> float:
    if given is None:
        return DEFAULT_WAIT
    if isinstance(given, bool) or not isinstance(given, int | float) or not 0 < given <= MAX_WAIT:
        raise ApiError(400, [f"wait_seconds: must be a number of seconds above 0 and at most {MAX_WAIT:g}"])
    return float(given)


def _keep_open(given: object) -> bool:
    if given is None:
        return False
    if not isinstance(given, bool):
        raise ApiError(400, ["keep_open: must be true or false"])
    return given


def _requested_by(given: object) -> str | None:
    if given is None:
        return None
    if not isinstance(given, str) or not 0 < len(given.strip()) <= 100:
        raise ApiError(400, ["requested_by: must be a name of 1 to 100 characters"])
    return " ".join(given.split())


async def parse(request: web.Request) -> TestRequest:
    try:
        data = _object(await read_raw(request, MAX_BODY))
    except BodyError as exc:
        raise ApiError(exc.status, [exc.message]) from None
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise ApiError(400, [f"{name}: unknown field (known: {', '.join(FIELDS)})" for name in unknown])
    return TestRequest(team=_team(request, data.get("team")), severity=_severity(data.get("severity")),
                       wait_seconds=_wait(data.get("wait_seconds")), keep_open=_keep_open(data.get("keep_open")),
                       requested_by=_requested_by(data.get("requested_by")))


class _Stopwatch:
    def __init__(self) -> None:
        self.started = time.monotonic()

    def ms(self) -> int:
        return round((time.monotonic() - self.started) * 1000)


async def _watch(request: web.Request, drill: Drill, watch: _Stopwatch, wait: float,
                 seen: dict[Hop, int]) -> dict[Hop, HopView]:
    """Look at the hops until none is pending or ``wait`` seconds since the request are over."""
    svc = request.app[SERVICES]
    sms_enabled = svc.settings.twilio_configured
    while True:
        async with svc.sessions() as s:
            views = await look(s, svc.config, drill, sms_enabled=sms_enabled)
        at = watch.ms()
        for hop, view in views.items():
            if view.state == HopState.DONE:
                seen.setdefault(hop, at)
        if all(v.state != HopState.PENDING for v in views.values()) or at >= wait * 1000:
            return views
        await asyncio.sleep(POLL_SECONDS)


def _hop_json(hop: Hop, view: HopView, ms: int | None, wait: float) -> dict[str, object]:
    reason = view.reason
    if view.state == HopState.PENDING:
        reason = f"did not happen within {wait:g} s: {reason}"
    body: dict[str, object] = {"hop": hop.value, "label": HOP_LABELS[hop], "ok": view.state == HopState.DONE,
                               "state": view.state.value, "ms": ms, "detail": view.detail, "reason": reason}
    if hop == Hop.STORED:
        body["alert_id"] = int(view.ref) if view.ref else None
    elif hop == Hop.SLACK_MESSAGE:
        channel, _, ts = (view.ref or "").partition(":")
        body["channel_id"], body["ts"] = channel or None, ts or None
    elif hop == Hop.FIRST_PAGE:
        body["slack_ref"] = view.ref
    else:
        body["twilio_sid"] = view.ref
    return body


async def _resolve(request: web.Request, group_id: int) -> bool:
    svc = request.app[SERVICES]
    async with transaction(svc.sessions) as s:
        outcome = await resolve(s, group_id, actor=TEST_ACTOR, via="api", now=svc.clock.now())
    svc.wake()
    return outcome.changed


async def post_test(request: web.Request) -> web.Response:
    watch = _Stopwatch()
    asked = await parse(request)
    lock = request.app[ONE_AT_A_TIME]
    if lock.locked():
        raise ApiError(409, ["a test alert is already running on this replica; try again when it has reported"])
    async with lock:
        return await _run(request, asked, watch)


async def _run(request: web.Request, asked: TestRequest, watch: _Stopwatch) -> web.Response:
    svc = request.app[SERVICES]
    try:
        async with transaction(svc.sessions) as s:
            drill = await fire(s, svc.config, asked.team, asked.severity, svc.clock.now(),
                               requested_by=asked.requested_by)
    except OperationalError as exc:  # SQLite's "database is locked" past its timeout, a lost connection
        log.warning("database busy while storing the test alert: %s", exc.orig)
        raise ApiError(503, ["database busy: retry later"], {"Retry-After": "5"}) from None
    seen = {Hop.STORED: watch.ms()}
    svc.wake()
    resolved = False
    try:
        views = await _watch(request, drill, watch, asked.wait_seconds, seen)
    finally:  # also when the caller went away mid-wait: a test alert must not stay open by accident
        if not asked.keep_open:
            resolved = await _resolve(request, drill.group_id)
    ok = all(v.state == HopState.DONE for v in views.values())
    hops = [_hop_json(hop, view, seen.get(hop), asked.wait_seconds) for hop, view in views.items()]
    log.info("test alert #%s for %s: %d of %d hops in %d ms%s", drill.group_id, drill.team,
             sum(1 for h in hops if h["ok"]), len(hops), watch.ms(), "" if ok else " (incomplete)")
    return web.json_response({
        "status": "ok" if ok else "incomplete", "ok": ok, "alert_id": drill.group_id, "title": TITLE,
        "team": drill.team, "severity": drill.severity.value, "compressed_escalation": drill.compressed,
        "wait_seconds": asked.wait_seconds, "elapsed_ms": watch.ms(), "hops": hops,
        "resolved": resolved, "kept_open": asked.keep_open,
    }, status=_status(views))


def _status(views: dict[Hop, HopView]) -> int:
    states = {v.state for v in views.values()}
    if states == {HopState.DONE}:
        return 200
    return 504 if HopState.PENDING in states else 502


def add_state(app: web.Application) -> None:
    app[ONE_AT_A_TIME] = asyncio.Lock()
