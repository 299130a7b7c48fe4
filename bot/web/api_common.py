"""What the ``/api/*`` endpoints share: the bearer token check and the JSON error answers.

The API is off until ``WATCHSTANDER_API_TOKEN`` is set: every ``/api/`` path then answers 404 saying
so, so an install that never set it exposes nothing. With it set, each request needs
``Authorization: Bearer <token>``, compared in constant time on the UTF-8 bytes (a header that
was not UTF-8 arrives as surrogates, hence ``surrogatepass``, and simply does not match).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.web.keys import SERVICES
from bot.web.tokens import bearer_token, same_token

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
NOT_ENABLED = "the API is off: set WATCHSTANDER_API_TOKEN to enable the API"


class ApiError(Exception):
    """A request the API refuses: the status and what was wrong, each message naming its field."""

    def __init__(self, status: int, errors: list[str], headers: dict[str, str] | None = None) -> None:
        super().__init__("; ".join(errors))
        self.status = status
        self.errors = errors
        self.headers = headers or {}


def error_response(exc: ApiError) -> web.Response:
    body = {"status": "invalid" if exc.status == 400 else "error", "error": "; ".join(exc.errors),
            "errors": exc.errors}
    return web.json_response(body, status=exc.status, headers=exc.headers)


def _check_token(request: web.Request) -> None:
    expected = request.app[SERVICES].settings.api_token
    if not expected:
        raise ApiError(404, [NOT_ENABLED])
    challenge = {"WWW-Authenticate": 'Bearer realm="watchstander-api"'}
    given = bearer_token(request)
    if given is None:
        raise ApiError(401, ["missing token: send Authorization: Bearer <WATCHSTANDER_API_TOKEN>"], challenge)
    if not same_token(given, expected):
        raise ApiError(401, ["wrong token: Authorization: Bearer must carry WATCHSTANDER_API_TOKEN"], challenge)


def guarded(handler: Handler) -> Handler:
    """``handler`` behind the token check; an :class:`ApiError` it raises becomes its JSON answer."""

    async def guarded_handler(request: web.Request) -> web.StreamResponse:
        try:
            _check_token(request)
            return await handler(request)
        except ApiError as exc:
            return error_response(exc)

    return guarded_handler


def one_param(request: web.Request, name: str) -> str | None:
    """The query parameter ``name`` once, or None; given twice is a 400 naming it."""
    values = request.query.getall(name, [])
    if len(values) > 1:
        raise ApiError(400, [f"{name}: given {len(values)} times; give it once"])
    return values[0] if values else None


def refuse_unknown_params(request: web.Request, known: tuple[str, ...]) -> None:
    unknown = sorted(set(request.query) - set(known))
    if unknown:
        raise ApiError(400, [f"{name}: unknown query parameter (known: {', '.join(known)})" for name in unknown])
