"""Request latency for every route, labelled by route template and status class.

The label is the route's template (``/alerts/{kind}`` style, as registered), never the raw path,
so a scanner walking random URLs cannot grow the metric without bound: every request that
matches no route counts as ``unmatched``.
"""

from __future__ import annotations

import time

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from prometheus_client import Histogram

UNMATCHED = "unmatched"


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
