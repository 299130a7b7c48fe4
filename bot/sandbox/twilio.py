"""A local stand-in of Twilio's Programmable Messaging and Voice APIs, plus Twilio's side of the webhooks.

The real ``twilio`` client works against it unchanged once its API domain points here::

    http = AsyncTwilioHttpClient()
    client = Client(twilio.account_sid, twilio.auth_token, http_client=http)
    client.api.base_url = twilio.api_url          # instead of https://api.twilio.com
    await client.messages.create_async(to=..., from_=..., body=..., status_callback=...)

:meth:`TwilioStandIn.deliver` and :meth:`TwilioStandIn.reply` then play Twilio calling the bot:
status callbacks and inbound SMS, signed with ``X-Twilio-Signature`` exactly as Twilio signs.
Calls (``Calls.json``, the TwiML fetched from the bot, key presses, how a call ends) are
:class:`~bot.sandbox.twilio_calls.VoiceStandIn`'s, reached as ``twilio.voice`` or the shortcuts below.
Like Twilio's default opt-out handling, an inbound ``STOP`` (or a synonym) is confirmed by
"Twilio" itself and blocks messages to that number (error 21610) until it sends ``START``; the
webhook is called either way.
Phone numbers are never logged here; error messages that contain them do so because Twilio's do.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import aiohttp
from aiohttp import web
from twilio.request_validator import RequestValidator

from bot.clock import Clock, SystemClock
from bot.sandbox.http_server import ChangeSignal, SandboxServer
from bot.sandbox.sms_format import parse_twilio_date, rfc2822, sms_segments, twiml_messages
from bot.sandbox.twilio_calls import CallTurn, SandboxCall, VoiceStandIn
from bot.sandbox.twilio_optout import opt_out_keyword

T = TypeVar("T")
JSON = dict[str, Any]

DEFAULT_ACCOUNT_SID = "AC" + "5a4db0c0" * 4
DEFAULT_AUTH_TOKEN = "sandbox-twilio-auth-token"
DEFAULT_FROM = "+15005550006"  # Twilio's magic "valid From" test number
API_VERSION = "2010-04-01"
BODY_MAX = 1600
_E164 = re.compile(r"^\+[1-9]\d{1,14}$")
_REFUSALS = {
    21211: "Invalid 'To' Phone Number: {to}",
    21408: "Permission to send an SMS has not been enabled for the region indicated by the 'To' number: {to}.",
    21610: "Attempt to send to unsubscribed recipient",
    21612: "The 'To' phone number: {to}, is not currently reachable using the 'From' phone number via SMS.",
    21614: "'To' number {to} is not a valid mobile number",
}
_SERVER_ERRORS = {429: (20429, "Too Many Requests"), 500: (20500, "Internal Server Error"),
                  503: (20503, "Service Unavailable")}
_DELIVERY_ERRORS = {"undelivered": 30003, "failed": 30008}
_ERROR_TEXT = {30003: "Unreachable destination handset", 30005: "Unknown destination handset",
               30006: "Landline or unreachable carrier", 30007: "Message filtered", 30008: "Unknown error"}


@dataclass
class SandboxSms:
    """One message through the stand-in: sent by the bot (``outbound-api``), a TwiML answer
    (``outbound-reply``) or a person's SMS to the bot (``inbound``)."""

    sid: str
    account_sid: str
    to: str
    from_: str
    body: str
    status: str
    direction: str
    date_created: datetime
    status_callback: str | None = None
    segments: int = 1
    encoding: str = "GSM-7"
    date_sent: datetime | None = None
    date_updated: datetime | None = None
    error_code: int | None = None

    def to_twilio(self) -> JSON:
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{self.sid}"
        return {
            "account_sid": self.account_sid, "api_version": API_VERSION, "body": self.body,
            "date_created": rfc2822(self.date_created),
            "date_sent": rfc2822(self.date_sent) if self.date_sent else None,
            "date_updated": rfc2822(self.date_updated or self.date_created),
            "direction": self.direction, "error_code": self.error_code,
            "error_message": _ERROR_TEXT.get(self.error_code) if self.error_code else None,
            "from": self.from_, "messaging_service_sid": None, "num_media": "0",
            "num_segments": str(self.segments), "price": None, "price_unit": "USD", "sid": self.sid,
            "status": self.status, "subresource_uris": {"media": f"{uri}/Media.json"}, "to": self.to,
            "uri": f"{uri}.json",
        }


@dataclass(frozen=True)
class WebhookResult:
    """The bot's answer to a webhook from "Twilio"; ``messages`` are the TwiML ``<Message>`` texts."""

    status: int
    text: str
    headers: Mapping[str, str]
    messages: list[str]

    @property
    def message(self) -> str:
        return "\n".join(self.messages)


def _error(status: int, code: int, message: str) -> web.Response:
    body = {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status}
    return web.json_response(body, status=status)


class TwilioStandIn(SandboxServer):
    def __init__(
        self,
        *,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str = DEFAULT_AUTH_TOKEN,
        from_numbers: Iterable[str] | None = None,
        failing_numbers: Mapping[str, int] | None = None,
        clock: Clock | None = None,
        on_message: Callable[[SandboxSms], None] | None = None,
    ) -> None:
        """``from_numbers``: the account's numbers (None accepts any E.164 From);
        ``failing_numbers``: To numbers the API refuses, with the Twilio error code (21610, 21614…)."""
        super().__init__()
        if not re.fullmatch(r"AC[0-9a-f]{32}", account_sid):
            raise ValueError("account_sid must be 'AC' followed by 32 hex digits, as Twilio's are")
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.from_numbers = set(from_numbers) if from_numbers is not None else None
        self.failing_numbers: dict[str, int] = dict(failing_numbers or {})
        self.on_message = on_message
        self._clock = clock or SystemClock()
        self._faults: list[list[int]] = []
        self._signal = ChangeSignal()
        self._validator = RequestValidator(auth_token)
        self.messages: list[SandboxSms] = []
        self.inbound: list[SandboxSms] = []
        self.voice = VoiceStandIn(account_sid=account_sid, auth_token=auth_token, clock=self._clock,
                                  authenticate=self._authenticate, changed=self._signal.changed,
                                  from_numbers=self.from_numbers)
        self.opted_out: set[str] = set()  # numbers that replied STOP: the API refuses them (21610)

    def build_app(self) -> web.Application:
        app = web.Application()
        base = f"/{API_VERSION}/Accounts/{{account}}/Messages"
        app.router.add_post(f"{base}.json", self._handle_create)
        app.router.add_get(f"{base}.json", self._handle_list)
        app.router.add_get(f"{base}/{{sid}}.json", self._handle_fetch)
        self.voice.add_routes(app)
        return app

    # --- calls (see bot.sandbox.twilio_calls) --------------------------------------------------

    @property
    def calls(self) -> list[SandboxCall]:
        return self.voice.calls

    async def answer(self, call: SandboxCall, answered_by: str = "human") -> CallTurn:
        return await self.voice.answer(call, answered_by)

    async def press(self, call: SandboxCall, digits: str) -> CallTurn:
        return await self.voice.press(call, digits)

    async def outcome(self, call: SandboxCall, status: str) -> CallTurn:
        return await self.voice.outcome(call, status)

    @property
    def api_url(self) -> str:
        """What to put in ``client.api.base_url`` (Twilio's is ``https://api.twilio.com``)."""
        return self.base_url

    def fail_next(self, status: int = 500, *, times: int = 1) -> None:
        """Answer the next ``times`` API requests with this status (500, 503 or 429) and Twilio's error body."""
        if status not in _SERVER_ERRORS:
            raise ValueError(f"fail_next supports {sorted(_SERVER_ERRORS)}")
        self._faults.append([status, times])

    def _authenticate(self, request: web.Request) -> web.Response | None:
        try:
            auth = aiohttp.BasicAuth.decode(request.headers.get("Authorization", ""))
        except ValueError:
            auth = None
        if auth is None or auth.login != self.account_sid or auth.password != self.auth_token:
            response = _error(401, 20003, "Authenticate")
            response.headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
            return response
        if request.match_info["account"] != self.account_sid:
            return _error(404, 20404, f"The requested resource {request.path} was not found")
        if self._faults:
            fault = self._faults[0]
            fault[1] -= 1
            if fault[1] <= 0:
                self._faults.pop(0)
            code, message = _SERVER_ERRORS[fault[0]]
            return _error(fault[0], code, message)
        return None

    def _refusal(self, form: Mapping[str, str]) -> web.Response | None:
        to, from_, body = form.get("To", ""), form.get("From", ""), form.get("Body", "")
        if not to:
            return _error(400, 21604, "A 'To' phone number is required.")
        if not from_ and not form.get("MessagingServiceSid"):
            return _error(400, 21603, "A 'From' phone number is required.")
        if not body:
            return _error(400, 21602, "Message body is required.")
        if not _E164.match(to):
            return _error(400, 21211, _REFUSALS[21211].format(to=to))
        if from_ and (not _E164.match(from_) or (self.from_numbers is not None and from_ not in self.from_numbers)):
            return _error(400, 21606, f"The From phone number {from_} is not a valid, SMS-capable inbound phone "
                                      "number or short code for your account.")
        if len(body) > BODY_MAX:
            return _error(400, 21617, "The concatenated message body exceeds the 1600 character limit.")
        callback = form.get("StatusCallback")
        if callback and not callback.startswith(("http://", "https://")):
            return _error(400, 21609, "Invalid StatusCallback")
        if to in self.opted_out:
            return _error(400, 21610, _REFUSALS[21610])
        if to in self.failing_numbers:
            code = self.failing_numbers[to]
            return _error(400, code, _REFUSALS.get(code, "Message could not be sent").format(to=to))
        return None

    async def _handle_create(self, request: web.Request) -> web.Response:
        if (denied := self._authenticate(request)) is not None:
            return denied
        form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        if (refused := self._refusal(form)) is not None:
            return refused
        segments, encoding = sms_segments(form["Body"])
        sms = SandboxSms(sid="SM" + secrets.token_hex(16), account_sid=self.account_sid, to=form["To"],
                         from_=form.get("From") or DEFAULT_FROM, body=form["Body"], status="queued",
                         direction="outbound-api", date_created=self._clock.now(),
                         status_callback=form.get("StatusCallback") or None, segments=segments, encoding=encoding)
        await self._add(sms)
        return web.json_response(sms.to_twilio(), status=201)

    async def _add(self, sms: SandboxSms) -> None:
        (self.inbound if sms.direction == "inbound" else self.messages).append(sms)
        if self.on_message is not None:
            self.on_message(sms)
        await self._signal.changed()

    async def _handle_list(self, request: web.Request) -> web.Response:
        if (denied := self._authenticate(request)) is not None:
            return denied
        query = request.query
        try:
            page = int(query.get("Page", "0"))
            size = max(1, min(int(query.get("PageSize", "50")), 1000))
            bounds = {op: parse_twilio_date(query[f"DateSent{op}"]) for op in ("<", ">", "") if f"DateSent{op}" in query}
        except ValueError:
            return _error(400, 20001, "Invalid parameter")

        def matches(sms: SandboxSms) -> bool:
            sent = sms.date_sent or sms.date_created
            return (
                query.get("To", sms.to) == sms.to and query.get("From", sms.from_) == sms.from_
                and ("<" not in bounds or sent <= bounds["<"]) and (">" not in bounds or sent >= bounds[">"])
                and ("" not in bounds or sent.date() == bounds[""].date())
            )

        found = sorted((m for m in self.messages + self.inbound if matches(m)), key=lambda m: m.date_created,
                       reverse=True)
        chunk = found[page * size:(page + 1) * size]
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages.json"
        filters = "".join(f"&{k}={v}" for k, v in query.items() if k not in ("Page", "PageSize", "PageToken"))
        has_next = (page + 1) * size < len(found)
        return web.json_response({
            "messages": [m.to_twilio() for m in chunk], "page": page, "page_size": size,
            "start": page * size, "end": page * size + max(len(chunk) - 1, 0), "uri": str(request.rel_url),
            "first_page_uri": f"{uri}?PageSize={size}&Page=0{filters}",
            "next_page_uri": f"{uri}?PageSize={size}&Page={page + 1}{filters}" if has_next else None,
            "previous_page_uri": f"{uri}?PageSize={size}&Page={page - 1}{filters}" if page > 0 else None,
        })

    async def _handle_fetch(self, request: web.Request) -> web.Response:
        if (denied := self._authenticate(request)) is not None:
            return denied
        sms = next((m for m in self.messages + self.inbound if m.sid == request.match_info["sid"]), None)
        if sms is None:
            return _error(404, 20404, f"The requested resource {request.path} was not found")
        return web.json_response(sms.to_twilio())

    # --- inspection ---------------------------------------------------------------------------

    def sent_to(self, number: str) -> list[SandboxSms]:
        """What that phone received, oldest first: the bot's pages and its TwiML answers."""
        return [m for m in self.messages if m.to == number]

    def message(self, sid: str) -> SandboxSms:
        found = next((m for m in self.messages if m.sid == sid), None)
        if found is None:
            raise KeyError(f"no message {sid}")
        return found

    async def wait_for(self, predicate: Callable[[], T | None], timeout: float = 5.0) -> T:  # noqa: ASYNC109
        """Wait until ``predicate()`` is truthy, re-checked whenever a message arrives; returns its value."""
        return await self._signal.wait_for(predicate, timeout, lambda: f"{len(self.messages)} SMS sent so far")

    async def wait_for_sms(self, to: str, *, contains: str = "", timeout: float = 5.0) -> SandboxSms:  # noqa: ASYNC109
        """The first SMS to ``to`` whose body contains ``contains``."""
        return await self.wait_for(lambda: next((m for m in self.sent_to(to) if contains in m.body), None), timeout)

    # --- Twilio calling the bot ---------------------------------------------------------------

    def signature(self, url: str, params: Mapping[str, str]) -> str:
        """``X-Twilio-Signature``: HMAC-SHA1 over the URL Twilio was configured with plus the sorted params."""
        return str(self._validator.compute_signature(url, dict(params)))

    async def _post_signed(self, *, connect_url: str, signed_url: str, params: Mapping[str, str]) -> WebhookResult:
        headers = {"X-Twilio-Signature": self.signature(signed_url, params), "User-Agent": "TwilioProxy/1.1",
                   "I-Twilio-Idempotency-Token": str(uuid.uuid4()),
                   "Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"}
        async with aiohttp.ClientSession() as session, session.post(connect_url, data=dict(params),
                                                                    headers=headers) as resp:
            text = await resp.text()
            is_twiml = "xml" in resp.content_type or text.lstrip().startswith("<")
            return WebhookResult(resp.status, text, dict(resp.headers),
                                 twiml_messages(text) if is_twiml and resp.status == 200 else [])

    async def deliver(
        self, sid: str, status: str = "delivered", error_code: int | None = None, *, connect_url: str | None = None
    ) -> WebhookResult:
        """Move a message to ``status`` and POST the status callback to the bot, as Twilio would.

        ``connect_url`` is where to actually connect when the StatusCallback names a public URL
        the test cannot reach; the signature is always over the StatusCallback URL itself.
        """
        sms = self.message(sid)
        if sms.status_callback is None:
            raise LookupError(f"{sid} was sent without a StatusCallback; there is nobody to tell")
        now = self._clock.now()
        sms.status, sms.date_updated = status, now
        if status in ("sent", "delivered"):
            sms.date_sent = sms.date_sent or now
        if status in _DELIVERY_ERRORS:
            sms.error_code = error_code or _DELIVERY_ERRORS[status]
        params = {"AccountSid": self.account_sid, "ApiVersion": API_VERSION, "From": sms.from_, "To": sms.to,
                  "MessageSid": sms.sid, "SmsSid": sms.sid, "MessageStatus": status, "SmsStatus": status}
        if sms.error_code is not None:
            params["ErrorCode"] = str(sms.error_code)
        if status == "delivered":
            params["RawDlrDoneDate"] = now.strftime("%y%m%d%H%M")
        await self._signal.changed()
        return await self._post_signed(connect_url=connect_url or sms.status_callback,
                                       signed_url=sms.status_callback, params=params)

    async def _opt_out_keyword(self, inbound: SandboxSms) -> None:
        """What Twilio does with STOP / START before the webhook: block or unblock the number, and confirm."""
        text = opt_out_keyword(inbound.body, inbound.from_, self.opted_out)
        if text is None:
            return
        segments, encoding = sms_segments(text)
        await self._add(SandboxSms(sid="SM" + secrets.token_hex(16), account_sid=self.account_sid, to=inbound.from_,
                                   from_=inbound.to, body=text, status="sent", direction="outbound-reply",
                                   date_created=self._clock.now(), date_sent=self._clock.now(),
                                   segments=segments, encoding=encoding))

    async def reply(
        self, bot_sms_url: str, *, from_: str, body: str, public_url: str | None = None, to: str | None = None
    ) -> WebhookResult:
        """A person texts the bot: POST to ``bot_sms_url``, signed over ``public_url`` (the URL configured
        in Twilio, i.e. ``PUBLIC_URL`` + ``/twilio/sms``) when it differs from where the bot listens.

        ``to`` defaults to the number that last paged this person. The TwiML ``<Message>`` answer is
        recorded as an SMS to them, since Twilio sends it.
        """
        if to is None:
            last = next((m for m in reversed(self.messages) if m.to == from_), None)
            to = last.from_ if last else next(iter(sorted(self.from_numbers or [])), DEFAULT_FROM)
        segments, encoding = sms_segments(body)
        sms = SandboxSms(sid="SM" + secrets.token_hex(16), account_sid=self.account_sid, to=to, from_=from_,
                         body=body, status="received", direction="inbound", date_created=self._clock.now(),
                         segments=segments, encoding=encoding)
        await self._add(sms)
        await self._opt_out_keyword(sms)
        params = {
            "ToCountry": "US", "ToState": "", "SmsMessageSid": sms.sid, "NumMedia": "0", "ToCity": "",
            "FromZip": "", "SmsSid": sms.sid, "FromState": "", "SmsStatus": "received", "FromCity": "",
            "Body": body, "FromCountry": "US", "To": to, "ToZip": "", "NumSegments": str(segments),
            "ReferralNumMedia": "0", "MessageSid": sms.sid, "AccountSid": self.account_sid, "From": from_,
            "ApiVersion": API_VERSION,
        }
        result = await self._post_signed(connect_url=bot_sms_url, signed_url=public_url or bot_sms_url, params=params)
        for text in result.messages:
            reply_segments, reply_encoding = sms_segments(text)
            await self._add(SandboxSms(sid="SM" + secrets.token_hex(16), account_sid=self.account_sid, to=from_,
                                       from_=to, body=text, status="sent", direction="outbound-reply",
                                       date_created=self._clock.now(), date_sent=self._clock.now(),
                                       segments=reply_segments, encoding=reply_encoding))
        return result
