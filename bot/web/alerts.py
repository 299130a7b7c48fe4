"""Alert webhooks: token auth, size limit, exact status codes, 2xx only after commit."""

from __future__ import annotations

import base64
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace

from aiohttp import web
from sqlalchemy.exc import DBAPIError, OperationalError

from bot.alerts.incoming import ParsedNotification, PayloadError
from bot.alerts.ingest import Delivery, IngestResult
from bot.alerts.sources import PARSERS, grafana, pagerduty, sentry
from bot.alerts.writer import Overloaded
from bot.config import Integration
from bot.db import lost_to_another_transaction
from bot.monitors.heartbeats import Monitors
from bot.services import Services
from bot.web.body import BodyError, read_raw
from bot.web.body import decode_json as body_json
from bot.web.keys import MONITORS, SERVICES
from bot.web.tokens import bearer_token

log = logging.getLogger(__name__)

MAX_BODY = 512 * 1024
RETRY_AFTER = "5"
SIGNATURE_MAX_AGE = 300  # seconds either way, as Slack allows: an older signed request is a replay


class Rejected(Exception):
    def __init__(self, status: int, errors: list[str], headers: dict[str, str] | None = None) -> None:
        super().__init__("; ".join(errors))
        self.status = status
        self.errors = errors
        self.headers = headers or {}


def _token(request: web.Request) -> str | None:
    if (bearer := bearer_token(request)) is not None:
        return bearer
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "basic" and value:
        # Grafana and some scripts can only do basic auth: the password is the token.
        try:
            return base64.b64decode(value, validate=True).decode().partition(":")[2] or None
        except ValueError:  # not base64 (binascii.Error), not ASCII, or not UTF-8 (UnicodeDecodeError)
            return None
    return request.query.get("token") or None


async def read_body(request: web.Request) -> bytes:
    try:
        return await read_raw(request, MAX_BODY)
    except BodyError as exc:
        raise Rejected(exc.status, [exc.message]) from None


def decode_json(body: bytes) -> object:
    try:
        return body_json(body)
    except BodyError as exc:
        raise Rejected(exc.status, [exc.message]) from None


def _integration(svc: Services, request: web.Request, kind: str, body: bytes) -> Integration:
    token = _token(request)
    if token is None and kind == "grafana":
        found = _grafana_by_signature(svc, request, body)
        if found:
            return found
    if token is None:
        raise Rejected(401, ["missing token: send Authorization: Bearer <token> or ?token=<token>"])
    integ = svc.config.integration_by_token(token)
    if integ is None:
        raise Rejected(401, ["invalid token"])
    if integ.type != kind:
        raise Rejected(401, [f"this token belongs to a {integ.type} integration; post to its own endpoint"])
    if kind == "sentry" and integ.secret:
        sig = request.headers.get("Sentry-Hook-Signature", "")
        if not sig or not sentry.verify_sentry_signature(body, sig, integ.secret):
            raise Rejected(401, ["Sentry-Hook-Signature: missing or does not match the integration's secret"])
    return integ


def _grafana_by_signature(svc: Services, request: web.Request, body: bytes) -> Integration | None:
    sig = request.headers.get("X-Grafana-Alerting-Signature")
    if not sig:
        return None
    ts = (request.headers.get("X-Grafana-Alerting-Signature-Timestamp")
          or request.headers.get("X-Grafana-Alerting-Timestamp"))
    if ts is not None:
        _check_signature_age(ts, svc.clock.now().timestamp())
    for integ in svc.config.integrations:
        if integ.type == "grafana" and integ.secret and grafana.verify_grafana_signature(body, sig, integ.secret, ts):
            return integ
    raise Rejected(401, ["X-Grafana-Alerting-Signature: does not match any Grafana integration's secret"])


def _check_signature_age(timestamp: str, now: float) -> None:
    """Refuse a signature whose timestamp is not Unix seconds within 5 minutes of our clock."""
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        raise Rejected(401, ["X-Grafana-Alerting-Signature-Timestamp: not a Unix time in seconds"])
    off = int(timestamp) - now
    if abs(off) > SIGNATURE_MAX_AGE:
        when = f"{int(-off)} s old" if off < 0 else f"{int(off)} s in the future"
        raise Rejected(401, [f"X-Grafana-Alerting-Signature-Timestamp: {when}; signatures more than "
                             f"{SIGNATURE_MAX_AGE // 60} minutes from this server's clock are refused "
                             "(a replayed request, or a clock that is wrong)"])


async def store(svc: Services, monitors: Monitors, integ: Integration,
                notification: ParsedNotification) -> IngestResult:
    """Durably store the alerts (group commit with concurrent deliveries); 503 when we cannot.

    The configured Watchdog is not stored: its arrival is recorded (``bot.monitors``), and only the
    delivery's other alerts, if any, become alerts."""
    dogs = [a for a in notification.alerts
            if monitors.is_watchdog(integ.name, a.labels.get("alertname") or a.title)]
    if dogs:
        if any(not a.resolved for a in dogs):  # a resolved Watchdog is the pipeline saying it stopped
            await monitors.watchdog_arrived(integ.name)
        dog_ids = {id(a) for a in dogs}
        notification = replace(notification, alerts=tuple(a for a in notification.alerts if id(a) not in dog_ids))
        if not notification.alerts:
            return IngestResult(accepted=len(dogs))
    try:
        result: IngestResult = await svc.writer.submit(Delivery(integ, notification))
    except Overloaded:
        raise Rejected(503, ["overloaded: retry later"], {"Retry-After": RETRY_AFTER}) from None
    except DBAPIError as exc:
        if not (isinstance(exc, OperationalError) or lost_to_another_transaction(exc)):
            raise
        log.warning("database busy while storing alerts: %s", exc.orig)
        raise Rejected(503, ["database busy: retry later"], {"Retry-After": RETRY_AFTER}) from None
    for alert in notification.alerts:
        svc.metrics.alerts_received.labels(integ.type, alert.severity.value).inc()
    return result


def alert_endpoint(kind: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        svc = request.app[SERVICES]
        try:
            body = await read_body(request)
            integ = _integration(svc, request, kind, body)
            data = decode_json(body)
            try:
                if kind == "sentry":
                    notification = sentry.parse(data, resource=request.headers.get("Sentry-Hook-Resource"))
                else:
                    notification = PARSERS[kind](data)
            except PayloadError as exc:
                raise Rejected(400, exc.errors) from None
            result = await store(svc, request.app[MONITORS], integ, notification)
        except Rejected as exc:
            svc.metrics.webhook_rejected.labels(kind, str(exc.status)).inc()
            status = "invalid" if exc.status == 400 else "error"
            return web.json_response({"status": status, "errors": exc.errors}, status=exc.status,
                                     headers=exc.headers)
        return web.json_response({
            "status": "accepted", "alerts": result.accepted,
            "new_alert_groups": result.new_groups, "updated_alert_groups": sorted(result.changed_groups),
        }, status=202)

    return handler


class _Bucket:
    """Per routing key token bucket, so one noisy sender cannot drown the others (PagerDuty's 429)."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens: dict[str, tuple[float, float]] = {}

    def take(self, key: str, now: float) -> bool:
        tokens, last = self.tokens.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens < 1:
            self.tokens[key] = (tokens, now)
            return False
        self.tokens[key] = (tokens - 1, now)
        return True


PAGERDUTY_LIMIT = web.AppKey("pagerduty_limit", _Bucket)  # one per app, made by add_routes


def _pd_error(status: int, message: str, errors: list[str], headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"status": "invalid event" if status == 400 else "error", "message": message,
                              "errors": errors}, status=status, headers=headers)


async def enqueue(request: web.Request) -> web.Response:
    """PagerDuty Events API v2, answered exactly as PagerDuty answers."""
    svc = request.app[SERVICES]
    bucket = request.app[PAGERDUTY_LIMIT]
    try:
        body = await read_body(request)
        data = decode_json(body)
    except Rejected as exc:
        if exc.status == 413:
            return _pd_error(413, "Request too large", exc.errors)
        return _pd_error(400, "Event object is invalid", exc.errors)
    try:
        event = pagerduty.parse_event(data)
    except PayloadError as exc:
        return _pd_error(400, "Event object is invalid", exc.errors)
    integ = svc.config.integration_by_token(event.routing_key)
    if integ is None or integ.type != "pagerduty":
        return _pd_error(400, "Event object is invalid", ["'routing_key' is invalid"])
    if not bucket.take(integ.name, svc.clock.now().timestamp()):
        return _pd_error(429, "Too many requests", ["rate limit exceeded"], {"Retry-After": "1"})
    try:
        await store(svc, request.app[MONITORS], integ, event.notification)
    except Rejected as exc:
        return _pd_error(exc.status, "Service unavailable", exc.errors, exc.headers)
    return web.json_response({"status": "success", "message": "Event processed",
                              "dedup_key": event.dedup_key}, status=202)


def add_routes(app: web.Application) -> None:
    for kind in ("alertmanager", "grafana", "sentry", "generic"):
        app.router.add_post(f"/alerts/{kind}", alert_endpoint(kind))
    app[PAGERDUTY_LIMIT] = _Bucket(rate=20.0, burst=600.0)
    app.router.add_post("/v2/enqueue", enqueue)
    app.router.add_post("/v2/enqueue/", enqueue)



