"""Twilio's voice webhooks: the words of a page by phone call, its key presses, and how it ended.

``POST /twilio/voice?page=<id>`` is the URL the bot gave Twilio when placing the call
(``bot.notify.page_call``). Its first request (the call was answered) gets the alert and the
menu as TwiML; the ``<Gather>``'s action (``&step=gather``) brings the key pressed, which acts like
the Slack buttons (``bot.escalation.calls``). ``POST /twilio/voice/status?page=<id>`` is the status
callback: no answer, busy, failed or canceled is recorded in the thread once.

Both are verified with ``X-Twilio-Signature`` exactly as ``/twilio/sms`` is (``bot.web.twilio``):
anything unsigned or mis-signed gets a 403 and changes nothing. A call about a page the bot does
not know (an old call, a restored database) is answered politely, never with an error, since a
person is listening.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession
from twilio.twiml.voice_response import VoiceResponse

from bot.db import record_id, transaction
from bot.escalation import calls
from bot.escalation.call_text import GOODBYE, PROMPT, UNKNOWN_PAGE, VOICEMAIL_ASK, KeyPress
from bot.escalation.calls import CallAbout, call_about
from bot.idempotency import first_time
from bot.services import Services
from bot.web.keys import PAGING, SERVICES
from bot.web.twilio import verified_form

log = logging.getLogger(__name__)

GATHER_TIMEOUT = 6  # seconds to wait for a key after the prompt


def _twiml(response: VoiceResponse) -> web.Response:
    return web.Response(text=str(response), content_type="application/xml")


def _say(text: str, *, hang_up: bool = False) -> web.Response:
    response = VoiceResponse()
    response.say(text)
    if hang_up:
        response.hangup()
    return _twiml(response)


def _menu(svc: Services, about: CallAbout, *, first: str | None) -> web.Response:
    """``first`` (the alert, or "Sorry…"), the prompt in a ``<Gather>``, then all of it once more, then Goodbye."""
    action = f"{svc.settings.base_public_url}/twilio/voice?page={about.page.id}&step=gather"
    response = VoiceResponse()
    if first:
        response.say(first)
    response.gather(num_digits=1, action=action, method="POST", timeout=GATHER_TIMEOUT).say(PROMPT)
    response.gather(num_digits=1, action=action, method="POST", timeout=GATHER_TIMEOUT).say(
        f"{about.intro} {PROMPT}")
    response.say(GOODBYE)
    return _twiml(response)


async def voice(request: web.Request) -> web.Response:
    svc = request.app[SERVICES]
    form = await verified_form(request, svc)
    if isinstance(form, web.Response):
        return form
    page_id = record_id(request.query.get("page", ""))
    async with transaction(svc.sessions) as s:
        about = await call_about(s, page_id)
        if about is None:
            log.info("a voice webhook about no call page (page=%s)", request.query.get("page", "")[:12])
            return _say(UNKNOWN_PAGE)
        if request.query.get("step") == "gather":
            answer = await _pressed(s, request, about, form)
        else:
            answer = await _answered(s, svc, about, form)
    svc.wake()
    return answer


async def _answered(s: AsyncSession, svc: Services, about: CallAbout, form: Mapping[str, str]) -> web.Response:
    """The call was picked up: by a machine (leave word, hang up), or a person (the alert and the menu)."""
    status = form.get("CallStatus") or "in-progress"
    answered_by = form.get("AnsweredBy")
    await calls.record_call_status(s, about.page, sid=form.get("CallSid"), status=status, answered_by=answered_by,
                             error_code=None, now=svc.clock.now())
    if calls.outcome_of(status, answered_by) == calls.VOICEMAIL:
        return _say(f"{about.intro} {VOICEMAIL_ASK}", hang_up=True)
    if (done := calls.settled(about, svc.names)) is not None:
        return _say(f"{about.intro} {done} {GOODBYE}")
    return _menu(svc, about, first=about.intro)


async def _pressed(s: AsyncSession, request: web.Request, about: CallAbout, form: Mapping[str, str]) -> web.Response:
    svc = request.app[SERVICES]
    digits = form.get("Digits", "")
    try:
        key = KeyPress(digits)
    except ValueError:
        return _menu(svc, about, first=f"Sorry, {digits} is not one of the choices." if digits else None)
    now = svc.clock.now()
    sid = form.get("CallSid")
    if sid and not await first_time(s, f"twilio-call:{sid}:pressed", now):
        return _say(f"That was done already. {GOODBYE}")  # the same key press delivered twice
    said = await calls.press(s, about, key, paging=request.app[PAGING], names=svc.names, now=now)
    return _say(said)


async def call_status(request: web.Request) -> web.Response:
    svc = request.app[SERVICES]
    form = await verified_form(request, svc)
    if isinstance(form, web.Response):
        return form
    status = form.get("CallStatus")
    if not form.get("CallSid") or not status:
        return web.json_response({"status": "error", "errors": ["CallSid and CallStatus are required"]}, status=400)
    async with transaction(svc.sessions) as s:
        about = await call_about(s, record_id(request.query.get("page", "")))
        failed = about is not None and await calls.record_call_status(
            s, about.page, sid=form.get("CallSid"), status=status, answered_by=form.get("AnsweredBy"),
            error_code=form.get("ErrorCode") or form.get("SipResponseCode"), now=svc.clock.now())
    if failed:
        svc.wake()
    return web.Response(status=204)


def add_routes(app: web.Application) -> None:
    app.router.add_post("/twilio/voice", voice)
    app.router.add_post("/twilio/voice/status", call_status)
