"""Reading a request body as raw bytes, bounded in size and time, with every failure a 4xx.

Handlers verify a signature or token on these bytes before decoding anything, then decode with
:func:`decode_json` or :func:`decode_form`; each raises :class:`BodyError` carrying the status and
a message naming the problem, which the route renders in its own error format.
"""

from __future__ import annotations

import asyncio
import json
from urllib.parse import parse_qsl

from aiohttp import web
from aiohttp.web_protocol import RequestPayloadError

from bot.web.errors import one_line

BODY_TIMEOUT = 30.0  # seconds for the whole body to arrive; a client trickling bytes is cut off
FORM = "application/x-www-form-urlencoded"
MAX_FORM_FIELDS = 200


class BodyError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _too_large(limit: int) -> BodyError:
    size = f"{limit // 1024} KB" if limit < 1024 * 1024 else f"{limit // (1024 * 1024)} MB"
    return BodyError(413, f"body: over the {size} limit")


async def read_raw(request: web.Request, limit: int) -> bytes:
    """The whole body, at most ``limit`` bytes (else 413), within :data:`BODY_TIMEOUT` (else 408).

    A body that cannot be decoded as its ``Content-Encoding`` or ``Transfer-Encoding`` says (a
    plain body sent as gzip, broken chunks) is a 400.
    """
    if request.content_length is not None and request.content_length > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(BODY_TIMEOUT):
            while chunk := await request.content.readany():
                size += len(chunk)
                if size > limit:
                    raise _too_large(limit)
                chunks.append(chunk)
    except RequestPayloadError as exc:
        raise BodyError(400, f"body: cannot be read ({one_line(exc)})") from None
    except TimeoutError:
        raise BodyError(408, f"body: not received within {BODY_TIMEOUT:.0f} s") from None
    return b"".join(chunks)


def decode_json(body: bytes) -> object:
    """JSON from UTF-8 bytes; every way it can fail is a 400 naming the problem."""
    if not body.strip():
        raise BodyError(400, "body: empty; send a JSON object")
    try:
        data = json.loads(body)
        if b"\\u" in body:  # an escaped lone surrogate ("\\ud800") makes a str no database can store
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        return data
    except UnicodeEncodeError:
        raise BodyError(400, "body: a JSON string holds a lone UTF-16 surrogate (\\ud800-\\udfff)") from None
    except UnicodeDecodeError:
        raise BodyError(400, "body: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise BodyError(400, f"body: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except ValueError:  # Python refuses to convert an integer of more than 4,300 digits
        raise BodyError(400, "body: a JSON number has too many digits") from None
    except RecursionError:
        raise BodyError(400, "body: JSON nested too deeply") from None


def decode_form(request: web.Request, body: bytes) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body (UTF-8, as Twilio and Slack send) as a dict.

    A repeated name keeps its last value.
    """
    if request.content_type != FORM:
        raise BodyError(415, f"Content-Type must be {FORM}, not {request.content_type!r}")
    charset = (request.charset or "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise BodyError(415, f"charset must be utf-8, not {charset!r}")
    try:
        text = body.decode("ascii")
        pairs = parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict",
                          max_num_fields=MAX_FORM_FIELDS)
    except UnicodeDecodeError:
        raise BodyError(400, "body: not URL-encoded UTF-8 text") from None
    except ValueError:
        raise BodyError(400, f"body: more than {MAX_FORM_FIELDS} form fields") from None
    return dict(pairs)
