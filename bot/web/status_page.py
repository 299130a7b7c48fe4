"""``GET|HEAD /status`` (HTML) and ``/status.json``: the status page for customers.

It shows the checks listed in ``status_page.checks`` (their state and 90-day uptime) and the
incidents that have a published update (:mod:`bot.incidents.public`); nothing else of an incident
ever reaches it. The page is plain HTML and CSS from the package's Jinja2 templates, autoescaped,
without JavaScript; the Content-Security-Policy allows no script at all and only the page's own
stylesheet (by its hash).

``status_page.public: false`` keeps the page for those who have ``?token=<status_page.token>``
(compared in constant time); such a page is ``Cache-Control: private, no-store`` and is never sent
as a referrer. A public page may be cached for 30 s. Every answer carries an ``ETag`` over its
body, and a matching ``If-None-Match`` gets ``304 Not Modified``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup
from sqlalchemy.exc import OperationalError

from bot.config import Check, StatusPage
from bot.web.keys import SERVICES
from bot.web.status_view import STATUS_WORDS, iso, status_view, utc_text, view_json
from bot.web.tokens import same_token

log = logging.getLogger(__name__)
TEMPLATES = Path(__file__).resolve().parent / "templates"
CSS = (TEMPLATES / "status.css").read_text(encoding="utf-8")
_CSS_HASH = base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode()
CSP = (f"default-src 'none'; script-src 'none'; style-src 'sha256-{_CSS_HASH}'; img-src 'none'; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
PUBLIC_CACHE = "public, max-age=30"
PRIVATE_CACHE = "private, no-store"
NOT_CONFIGURED = ("no status page is configured: add a status_page: section to the config "
                  "(title, checks: [names of checks], public: true|false)")

_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                   trim_blocks=True, lstrip_blocks=True)
_env.globals.update(iso=iso, utc=utc_text, status_words=STATUS_WORDS, css=Markup(CSS))  # our own file, not user input


def _headers(*, private: bool) -> dict[str, str]:
    return {"Cache-Control": PRIVATE_CACHE if private else PUBLIC_CACHE, "Content-Security-Policy": CSP,
            "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer" if private else "same-origin",
            "X-Frame-Options": "DENY", "Vary": "Accept-Encoding"}


def _json_error(status: int, message: str) -> web.Response:
    return web.json_response({"status": "error", "error": message}, status=status,
                             headers={"Cache-Control": PRIVATE_CACHE, "X-Content-Type-Options": "nosniff"})


def _html_error(status: int, heading: str, message: str) -> web.Response:
    body = _env.get_template("error.html.j2").render(heading=heading, message=message)
    return web.Response(text=body, status=status, content_type="text/html", charset="utf-8",
                        headers=_headers(private=True))


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def matches(if_none_match: str | None, etag: str) -> bool:
    """``If-None-Match`` (a list of tags, weak or strong, or ``*``) names ``etag``: weak comparison."""
    if not if_none_match:
        return False
    tags = [t.strip() for t in if_none_match.split(",")]
    return "*" in tags or etag in {t.removeprefix("W/") for t in tags}


def _refused(request: web.Request, page: StatusPage, *, html: bool) -> web.Response | None:
    """None when the reader may see the page; else the 401 that says what is missing."""
    if page.public or page.token is None:
        return None
    given = request.query.get("token", "")
    if not given:
        message = "This status page is private: open it with ?token=<the status page's token>."
    elif not same_token(given, page.token):
        message = "Wrong token for this status page; ask whoever gave you the link for the current one."
    else:
        return None
    return _html_error(401, "Private status page", message) if html else _json_error(401, message)


def _answer(request: web.Request, body: bytes, content_type: str, *, private: bool) -> web.Response:
    etag = etag_of(body)
    headers = {**_headers(private=private), "ETag": etag}
    if matches(request.headers.get("If-None-Match"), etag):
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, content_type=content_type, charset="utf-8", headers=headers)


async def _page(request: web.Request, *, html: bool) -> web.Response:
    svc = request.app[SERVICES]
    page = svc.config.status_page
    if page is None:
        return _json_error(404, NOT_CONFIGURED)
    if (refused := _refused(request, page, html=html)) is not None:
        return refused
    checks: list[Check] = [c for name in page.checks if (c := svc.config.check(name)) is not None]
    now: datetime = svc.clock.now()
    try:
        async with svc.sessions() as session:
            view = await status_view(session, page, checks, now)
    except OperationalError as exc:  # the database is down or busy: say so, briefly, rather than a 500
        log.warning("status page: the database could not be read: %s", " ".join(str(exc.orig).split())[:300])
        response = _json_error(503, "the status page cannot be read right now; try again in a minute")
        response.headers["Retry-After"] = "30"
        return response
    private = not page.public
    if not html:
        body = json.dumps(view_json(view), ensure_ascii=False, separators=(",", ":")).encode()
        return _answer(request, body, "application/json", private=private)
    token = request.query.get("token", "") if private else ""
    json_href = "status.json" + (f"?{urlencode({'token': token})}" if token else "")
    text = _env.get_template("status.html.j2").render(view=view, private=private, json_href=json_href)
    return _answer(request, text.encode(), "text/html", private=private)


async def status_html(request: web.Request) -> web.Response:
    return await _page(request, html=True)


async def status_json(request: web.Request) -> web.Response:
    return await _page(request, html=False)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/status", status_html)  # and HEAD
    app.router.add_get("/status.json", status_json)
