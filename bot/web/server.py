"""The HTTP server's limits, shared by ``watchstander serve`` and the tests' bot.

aiohttp has no separate deadline for a request's headers; its keep-alive timer also runs from the
moment a connection opens, so :data:`IDLE_TIMEOUT` bounds how long a client may take to send its
headers (and how long an idle connection stays open). It stays above the 60 s idle timeout of
common load balancers, so they close their pooled connections first. A body must arrive within
:data:`bot.web.body.BODY_TIMEOUT`.
"""

from __future__ import annotations

from aiohttp import web

from bot.web.errors import install_client_error_log_filter

IDLE_TIMEOUT = 75.0
MAX_LINE = 8190      # request line, e.g. a URL with its query string
MAX_FIELD = 8190     # one header's value
MAX_HEADERS = 100


def make_runner(app: web.Application, *, idle_timeout: float = IDLE_TIMEOUT) -> web.AppRunner:
    install_client_error_log_filter()
    return web.AppRunner(app, access_log=None, keepalive_timeout=idle_timeout, max_line_size=MAX_LINE,
                         max_field_size=MAX_FIELD, max_headers=MAX_HEADERS)
