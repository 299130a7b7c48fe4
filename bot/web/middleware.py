"""Middlewares for every route: request latency, and a 503 for a database that is unavailable.

Request latency is labelled by route template and status class.

The label is the route's template (``/alerts/{kind}`` style, as registered), never the raw path,
so a scanner walking random URLs cannot grow the metric without bound: every request that
matches no route counts as ``unmatched``.
"""

from __future__ import annotations

import logging
import time

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from prometheus_client import Histogram
from sqlalchemy.exc import DBAPIError, OperationalError

from bot.db import lost_to_another_transaction

log = logging.getLogger(__name__)
UNMATCHED = "unmatched"
RETRY_AFTER = "5"


def route_label(request: web.Request) -> str:
    resource = request.match_info.route.resource
    if resource is None:
        return UNMATCHED  # the router's 404 / 405: the path is the client's, not one of ours
    return resource.canonical


def status_class(status: int) -> str:
    return f"{status // 100}xx"


def latency_middleware(histogram: Histogram) -> Middleware:
    """Observe every request's duration in ``histogram`` (labels: route, method, status)."""

    @web.middleware
    async def record_latency(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        status = 500  # an exception that is not an HTTP answer becomes aiohttp's 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            histogram.labels(route_label(request), request.method, status_class(status)).observe(
                time.perf_counter() - started)

    return record_latency


def database_unavailable_middleware() -> Middleware:
    """A database that is down, busy past its timeout, or that rolled the request's transaction back
    (a lost PostgreSQL deadlock, three times running) is the server's passing trouble, not a bug: the
    answer is ``503`` with ``Retry-After`` and one log line naming the driver's error (never the
    statement or its parameters, which can hold what a caller sent), not a 500 with a traceback.
    Routes that answer it in their own words (the alert webhooks) do so first."""

    @web.middleware
    async def database_unavailable(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except DBAPIError as exc:
            if not (isinstance(exc, OperationalError) or lost_to_another_transaction(exc)):
                raise
            log.warning("database unavailable for %s %s: %s", request.method, route_label(request),
                        type(exc.orig).__name__ if exc.orig is not None else type(exc).__name__)
            return web.json_response({"status": "error", "errors": ["database unavailable: retry later"]},
                                     status=503, headers={"Retry-After": RETRY_AFTER})

    return database_unavailable
