"""The pages behind an alert email's Acknowledge and Resolve links.

``GET /email/ack/<token>`` (and ``/email/resolve/<token>``) only shows what the link would do and
a button; mail scanners and link previews follow links, so a GET never changes anything. The
button POSTs to the same URL, which checks the token again and acts exactly like the Slack button,
as whoever the email was sent to, ``via="email"``: the Slack message then reads "Acknowledged by
Alice (email) after 3m". A forged or cut token gets 403, an expired one 410; neither reads the
alert. The token sits in the URL, so the pages are never cached and send no referrer.
"""

from __future__ import annotations

import hashlib
import logging
from base64 import b64encode
from datetime import datetime

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from bot.alerts.actions import AlertNotFound, acknowledge, resolve
from bot.alerts.current import load_current
from bot.alerts.email_links import LinkAction, LinkClaim, LinkExpired, LinkRefused
from bot.alerts.incoming import AlertStatus
from bot.db import transaction
from bot.notify.email_alerts import AlertEmails, slack_link, status_words
from bot.web.keys import SERVICES
from bot.web.status_page import CSS, TEMPLATES

log = logging.getLogger(__name__)

EMAIL_LINKS = web.AppKey("email_links", AlertEmails)
_CSS_HASH = b64encode(hashlib.sha256(CSS.encode()).digest()).decode()
CSP = (f"default-src 'none'; script-src 'none'; style-src 'sha256-{_CSS_HASH}'; img-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex, nofollow",
           "Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY"}
VERB = {LinkAction.ACK: "Acknowledge", LinkAction.RESOLVE: "Resolve"}
DONE = {LinkAction.ACK: "Acknowledged", LinkAction.RESOLVE: "Resolved"}

_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                   trim_blocks=True, lstrip_blocks=True)
_env.globals.update(css=Markup(CSS))  # our own file, not user input


def _page(status: int, **context: object) -> web.Response:
    context.setdefault("alert", None)
    context.setdefault("button", None)
    context.setdefault("tone", "down")
    body = _env.get_template("email_action.html.j2").render(**context)
    return web.Response(text=body, status=status, content_type="text/html", charset="utf-8", headers=HEADERS)


def _claim(request: web.Request, now: datetime) -> LinkClaim | web.Response:
    emails = request.app[EMAIL_LINKS]
    try:
        claim = emails.signer.verify(request.match_info["token"], now)
    except LinkExpired as exc:
        return _page(410, heading="Link expired", message=str(exc))
    except LinkRefused as exc:
        return _page(403, heading="Link not valid", message=str(exc))
    if claim.action.value != request.match_info["action"]:
        return _page(403, heading="Link not valid", message="This link was changed: it is not one Watchstander sent.")
    return claim


def _possible(action: LinkAction, status: AlertStatus) -> bool:
    return status == AlertStatus.FIRING or (action == LinkAction.RESOLVE and status == AlertStatus.ACKNOWLEDGED)


async def confirm(request: web.Request) -> web.Response:
    """Show what the link would do; change nothing."""
    svc = request.app[SERVICES]
    now = svc.clock.now()
    claim = _claim(request, now)
    if isinstance(claim, web.Response):
        return claim
    async with svc.sessions() as s:
        try:
            alert = await load_current(s, claim.group_id)
        except LookupError:
            return _page(404, heading="Alert not found", message=f"Alert #{claim.group_id} is no longer stored.")
    names = {p.slack_id: p.name for p in svc.config.people}
    g = alert.group
    state = status_words(alert, svc.config.zone(), names, now)
    view = {"title": g.title, "severity": g.severity.value.upper(), "state": state,
            "slack_url": slack_link(g.slack_channel_id, g.slack_ts)}
    if not _possible(claim.action, g.status):
        return _page(200, heading=f"Nothing to {VERB[claim.action].lower()}", alert=view, tone="ok",
                     message="This alert needs nothing from this link any more.")
    who = names.get(claim.actor, claim.actor)
    return _page(200, heading=f"{VERB[claim.action]} this alert?", alert=view, tone="incident",
                 button=VERB[claim.action], message=f"You act as {who}. The Slack message will say so.")


async def act(request: web.Request) -> web.Response:
    """The confirmation page's button: acknowledge or resolve, once, like the Slack button."""
    svc = request.app[SERVICES]
    now = svc.clock.now()
    claim = _claim(request, now)
    if isinstance(claim, web.Response):
        return claim
    try:
        async with transaction(svc.sessions) as s:
            if claim.action == LinkAction.ACK:
                outcome = await acknowledge(s, claim.group_id, actor=claim.actor, via="email", now=now,
                                            severities=svc.config.severities)
            else:
                outcome = await resolve(s, claim.group_id, actor=claim.actor, via="email", now=now)
            title = outcome.group.title
    except AlertNotFound:
        return _page(404, heading="Alert not found", message=f"Alert #{claim.group_id} is no longer stored.")
    if not outcome.changed:
        return _page(200, heading=f"Alert {outcome.unchanged}", tone="ok",
                     message=f"{title}: {outcome.unchanged}; nothing was changed.")
    svc.wake()  # the Slack message is edited and the escalation stops, as after a click
    log.debug("alert #%s %s by email link", claim.group_id, DONE[claim.action].lower())
    return _page(200, heading=DONE[claim.action], tone="ok",
                 message=f"{title}: {DONE[claim.action].lower()}. The Slack message shows it now.")


def add_routes(app: web.Application, emails: AlertEmails) -> None:
    app[EMAIL_LINKS] = emails
    app.router.add_get("/email/{action:ack|resolve}/{token}", confirm)
    app.router.add_post("/email/{action:ack|resolve}/{token}", act)
