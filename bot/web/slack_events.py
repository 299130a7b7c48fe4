"""``POST /slack/events``: verify Slack's signature on the raw bytes, then parse, then hand to Bolt.

Nothing of an unsigned request is decoded: a missing, malformed, stale or wrong signature is a
401 naming which, before the body is read as text. A signed body that is not a Slack payload is a
400. Bolt verifies the signature again on the same text (its own check stays on); the two agree
because both use ``slack_sdk``'s ``SignatureVerifier`` and the system clock, as Slack does.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

from bot.slack.envelope import envelope_problem
from bot.web.body import BodyError, read_raw

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
MAX_AGE = 300  # seconds, Slack's own window for X-Slack-Request-Timestamp


def _refuse(status: int, message: str) -> web.Response:
    return web.json_response({"ok": False, "error": message}, status=status)


def signature_problem(verifier: SignatureVerifier | None, body: bytes, timestamp: str | None,
                      signature: str | None) -> str | None:
    """Why these bytes are not a request Slack signed, or None when they are."""
    if verifier is None:
        return "SLACK_SIGNING_SECRET is not set, so requests from Slack cannot be verified"
    if not timestamp:
        return "missing X-Slack-Request-Timestamp: only Slack may call this endpoint"
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        return "X-Slack-Request-Timestamp is not a Unix time in seconds"
    age = verifier.clock.now() - int(timestamp)
    if abs(age) > MAX_AGE:
        when = f"{round(age)} s old" if age > 0 else f"{round(-age)} s in the future"
        return f"X-Slack-Request-Timestamp is {when}; Slack's requests are refused after 5 minutes (replay)"
    if not signature:
        return "missing X-Slack-Signature: only Slack may call this endpoint"
    try:
        text = body.decode("utf-8")  # Slack signs UTF-8 text; other bytes cannot carry its signature
    except UnicodeDecodeError:
        text = None
    if text is None or not signature.isascii() or not verifier.is_valid(text, timestamp, signature):
        return "X-Slack-Signature does not match; check SLACK_SIGNING_SECRET"
    return None


def _repeated(request: web.Request) -> str | None:
    """Slack sends each signing header once; with two, Bolt and this check could read different ones."""
    for name in ("X-Slack-Request-Timestamp", "X-Slack-Signature"):
        if len(request.headers.getall(name, [])) > 1:
            return f"{name} is repeated; Slack sends it once"
    return None


def _bolt_request(request: web.Request, text: str) -> AsyncBoltRequest | str:
    """Bolt's request for a signed body, or what is wrong with the body."""
    try:
        bolt_request = AsyncBoltRequest(body=text, query=request.query_string,
                                        headers=request.headers)  # type: ignore[arg-type]
    except (ValueError, RecursionError) as exc:  # json.loads of the body or of its payload= field
        return f"body: not a Slack payload ({type(exc).__name__})"
    except (TypeError, KeyError, IndexError, AttributeError) as exc:  # Bolt reading ids from a bad shape
        return f"body: not a Slack payload ({type(exc).__name__} reading its team and user)"
    if not isinstance(bolt_request.body, dict):
        return "body: not a Slack payload (JSON that is not an object)"
    if problem := envelope_problem(bolt_request.body):  # before Bolt, which reads some of them first
        return f"body: not a Slack payload ({problem})"
    return bolt_request


def slack_events_handler(bolt: AsyncApp, signing_secret: str | None) -> Callable[[web.Request],
                                                                                  Awaitable[web.Response]]:
    verifier = SignatureVerifier(signing_secret) if signing_secret else None

    async def slack_events(request: web.Request) -> web.Response:
        try:
            body = await read_raw(request, MAX_BODY)
        except BodyError as exc:
            return _refuse(exc.status, exc.message)
        problem = _repeated(request) or signature_problem(
            verifier, body, request.headers.get("X-Slack-Request-Timestamp"), request.headers.get("X-Slack-Signature"))
        if problem:
            return _refuse(401, problem)
        bolt_request = _bolt_request(request, body.decode("utf-8"))
        if isinstance(bolt_request, str):
            log.warning("refused a signed Slack request: %s", bolt_request)
            return _refuse(400, bolt_request)
        try:
            response = await bolt.async_dispatch(bolt_request)
        except (KeyError, IndexError, TypeError, AttributeError, ValueError) as exc:
            # Bolt reads fields (actions[0], view.callback_id…) while routing, before any listener runs.
            where = _origin(exc)
            log.warning("refused a signed Slack request Bolt could not route: %s at %s", type(exc).__name__, where)
            return _refuse(400, f"body: not a Slack payload ({type(exc).__name__} while routing it)")
        return await to_aiohttp_response(response)

    return slack_events


def _origin(exc: BaseException) -> str:
    """``module.py:123`` of the innermost frame, so the one log line still says where it broke."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return f"{tb.tb_frame.f_code.co_filename.rsplit('/', 1)[-1]}:{tb.tb_lineno}" if tb else "?"
