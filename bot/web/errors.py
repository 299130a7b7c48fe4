"""What aiohttp logs about requests it refused itself, as one line without tokens.

aiohttp's HTTP parser rejects malformed requests (a bad method, an over-long header, broken
chunks) before any handler runs, and logs each at ERROR with a traceback that quotes the raw
request line — which for alert and calendar URLs carries ``?token=…``. Such a request is the
client's mistake, not ours: :class:`ClientErrorLogFilter` rewrites those records to one WARNING
line with token values (query ``token=``, ``Bearer``/``Basic`` credentials) scrubbed. A handler
that fails is still logged with its traceback: that one is a bug.
"""

from __future__ import annotations

import logging
import re

from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError

_SECRET_IN_REQUEST = re.compile(
    r"((?:[?&;]|\b)(?:token|key|secret|signature|password)=)[^&\s'\"\\]*"
    r"|(\b(?:Bearer|Basic)\s+)[^\s'\"\\]+",
    re.IGNORECASE,
)
MAX_DETAIL = 300
_STATUS_PREFIX = re.compile(r"^\s*\d{3}, message:\s*")


def scrub_request_text(text: str) -> str:
    """The text with the values of ``token=``-like query parameters and credentials replaced."""
    return _SECRET_IN_REQUEST.sub(lambda m: (m.group(1) or m.group(2)) + "[scrubbed]", text)


def one_line(exc: BaseException) -> str:
    """aiohttp's error text on one line, without its "400, message:" prefix, tokens scrubbed."""
    text = _STATUS_PREFIX.sub("", str(getattr(exc, "message", None) or exc))
    return " ".join(scrub_request_text(text).split())


def _client_error(record: logging.LogRecord) -> BaseException | None:
    exc = record.exc_info[1] if record.exc_info else None
    return exc if isinstance(exc, HttpProcessingError | RequestPayloadError) else None


class ClientErrorLogFilter(logging.Filter):
    """Turns aiohttp's records about malformed requests into one scrubbed WARNING line."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = _client_error(record)
        if exc is None:
            return True
        detail = one_line(exc)
        if len(detail) > MAX_DETAIL:
            detail = detail[:MAX_DETAIL] + "…"
        remote = record.args[0] if isinstance(record.args, tuple) and record.args else None
        record.msg = "refused a malformed HTTP request%s: %s (%s)"
        record.args = (f" from {remote}" if remote else "", detail, type(exc).__name__)
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        if record.levelno > logging.WARNING:
            record.levelno, record.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)
        return True


def install_client_error_log_filter() -> None:
    """Idempotent: once per process, on the logger aiohttp's server protocol logs to."""
    server = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, ClientErrorLogFilter) for f in server.filters):
        server.addFilter(ClientErrorLogFilter())
