"""Twilio's webhooks: SMS replies to pages, and delivery status callbacks.

Both are verified with Twilio's ``RequestValidator`` over ``PUBLIC_URL`` + the path (and query)
Twilio was configured with; anything unsigned or mis-signed gets a 403 naming the problem and
changes nothing. Replies are answered with TwiML, which Twilio sends back to the phone.

Twilio's keywords: ``STOP`` (and its synonyms) and ``START`` are recorded and answered with an
empty ``<Response/>``, because Twilio itself confirms them to the phone (and blocks or unblocks
the number); a second confirmation from the bot would be noise, or refused. ``HELP``/``INFO`` is
answered with the bot's own help (the reply forms and the sender's open codes), which Twilio's
standard help text cannot know. Informational answers are limited per number and hour; see
:mod:`bot.escalation.sms_hygiene`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from aiohttp import web
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from bot.db import record_id, transaction
from bot.escalation.models import PageStatus
from bot.escalation.pages import OpenCode, open_codes, record_delivery_status
from bot.escalation.replies import answer_reply, help_text, list_codes
from bot.escalation.sms_hygiene import may_inform, opt_in, opt_out
from bot.escalation.sms_reply import Keyword, NotUnderstood, keyword, parse_reply
from bot.escalation.sms_text import to_gsm7
from bot.idempotency import first_time
from bot.services import Services
from bot.web.body import BodyError, decode_form, read_raw
from bot.web.keys import PAGING, SERVICES

log = logging.getLogger(__name__)

HOW_TO = "Reply e.g. 41 A to ack, 41 E to escalate, 41 R to resolve, or ACK ALL."
MAX_BODY = 64 * 1024  # Twilio's callbacks are a few hundred bytes
UNKNOWN_SENDER = ("This number is not on the Watchstander on-call list, so nothing was changed. "
                  "Ask an admin to add it to your entry under people in the config.")


def _refuse(status: int, error: str) -> web.Response:
    return web.json_response({"status": "error", "errors": [error]}, status=status)


def twiml(text: str | None) -> web.Response:
    response = MessagingResponse()
    if text:
        response.message(to_gsm7(text))
    return web.Response(text=str(response), content_type="application/xml")


async def verified_form(request: web.Request, svc: Services) -> Mapping[str, str] | web.Response:
    """The POSTed parameters if Twilio signed them, else the 403 to answer with."""
    token = svc.settings.twilio_auth_token
    if not token:
        return _refuse(403, "Twilio is not set up on this bot (TWILIO_AUTH_TOKEN is not set), "
                            "so its requests cannot be verified")
    signature = request.headers.get("X-Twilio-Signature")
    if not signature:
        return _refuse(403, "missing X-Twilio-Signature: only Twilio may call this endpoint")
    try:  # Twilio signs the URL plus the form's fields, so the form is read (strictly) before verifying
        form = decode_form(request, await read_raw(request, MAX_BODY))
    except BodyError as exc:
        return _refuse(exc.status, exc.message)
    url = svc.settings.base_public_url + request.path_qs
    if not _signed(RequestValidator(token), url, form, signature):
        return _refuse(403, "X-Twilio-Signature does not match; check that PUBLIC_URL is the URL configured "
                            "in Twilio and TWILIO_AUTH_TOKEN is the account's auth token")
    return form


def _signed(validator: RequestValidator, url: str, form: Mapping[str, str], signature: str) -> bool:
    try:
        return bool(validator.validate(url, form, signature))
    except UnicodeError:  # a URL with bytes that are not UTF-8 cannot be one Twilio signed
        return False


async def sms_reply(request: web.Request) -> web.Response:
    svc = request.app[SERVICES]
    form = await verified_form(request, svc)
    if isinstance(form, web.Response):
        return form
    sender, body = form.get("From", ""), form.get("Body", "")
    word = keyword(body)
    if word in (Keyword.STOP, Keyword.START):
        return await _opt(svc, sender, word)
    person = next((p for p in svc.config.people if p.phone and p.phone == sender), None)
    if person is None:
        log.info("SMS reply from a number that is not in the config")  # never the number itself
        return await _inform(svc, sender, UNKNOWN_SENDER)
    if word == Keyword.HELP:
        return await _inform(svc, sender, help_text(await _codes(svc, person.slack_id)))
    try:
        command = parse_reply(body)
    except NotUnderstood as exc:
        codes = await _codes(svc, person.slack_id)
        listed = list_codes(codes) if codes else "You have no open pages."
        return await _inform(svc, sender, f"{exc} Nothing was changed. {listed} {HOW_TO}")
    now = svc.clock.now()
    sid = form.get("MessageSid")
    async with transaction(svc.sessions) as s:
        if sid and not await first_time(s, f"twilio-sms:{sid}", now):
            return twiml(None)  # the same SMS delivered twice: acted on already, answered already
        answer = await answer_reply(s, person=person.slack_id, command=command, paging=request.app[PAGING],
                                    names=svc.names, now=now)
        text = answer.text if answer.acted or await may_inform(s, sender, now) else None
    svc.wake()
    return twiml(text)


async def _codes(svc: Services, person: str) -> list[OpenCode]:
    async with svc.sessions() as s:
        return await open_codes(s, person)


async def _inform(svc: Services, sender: str, text: str) -> web.Response:
    """An answer that changes nothing: sent only while the number has informational answers left this hour."""
    async with transaction(svc.sessions) as s:
        allowed = await may_inform(s, sender, svc.clock.now())
    return twiml(text if allowed else None)


async def _opt(svc: Services, sender: str, word: Keyword) -> web.Response:
    """STOP or START: recorded for the number; Twilio itself confirms it to the phone, so no TwiML reply."""
    async with transaction(svc.sessions) as s:
        if word == Keyword.STOP:
            await opt_out(s, sender, svc.clock.now())
        else:
            await opt_in(s, sender)
    known = any(p.phone == sender for p in svc.config.people)
    log.info("SMS %s recorded for %s", word.upper(), "a person in the config" if known else
             "a number that is not in the config")
    return twiml(None)


async def delivery_status(request: web.Request) -> web.Response:
    svc = request.app[SERVICES]
    form = await verified_form(request, svc)
    if isinstance(form, web.Response):
        return form
    sid, status = form.get("MessageSid"), form.get("MessageStatus")
    if not sid or not status:
        return _refuse(400, "MessageSid and MessageStatus are required")
    async with transaction(svc.sessions) as s:
        page = await record_delivery_status(s, page_id=record_id(request.query.get("page", "")), sid=sid,
                                            status=status, error_code=form.get("ErrorCode"), now=svc.clock.now())
    if page is not None and page.status == PageStatus.FAILED:
        svc.wake()
    return web.Response(status=204)


def add_routes(app: web.Application) -> None:
    app.router.add_post("/twilio/sms", sms_reply)
    app.router.add_post("/twilio/status", delivery_status)
