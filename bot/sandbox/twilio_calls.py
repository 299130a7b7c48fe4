"""The voice half of the Twilio stand-in: the Calls API, and Twilio's side of a call's webhooks.

``POST /2010-04-01/Accounts/<sid>/Calls.json`` records a call (``queued``) and answers like
Twilio (201 and the Call resource; 400 and Twilio's error JSON for a bad To, From or Url); ``GET
Calls.json`` lists them (newest first, filtered by To, From, Status and StartTime as Twilio does:
a call that has not started has no start time). Nothing then happens by itself: the test drives
the call, each step a real, signed HTTP request to the bot —

- :meth:`VoiceStandIn.answer` fetches the TwiML from the call's ``Url`` (``CallStatus=in-progress``,
  ``AnsweredBy`` when machine detection was asked for), and the ``answered`` status callback if asked;
- :meth:`VoiceStandIn.press` POSTs the waiting ``<Gather>``'s action with ``Digits``;
- :meth:`VoiceStandIn.outcome` ends the call (``completed``, ``no-answer``, ``busy``, ``failed``,
  ``canceled``) and POSTs the status callback.

Every answer is parsed as Twilio would (``<Response>``, ``<Say>``, ``<Gather>``, ``<Pause>``,
``<Hangup>``, ``<Redirect>``); what the person heard is kept on the call. Phone numbers are never
logged here.
"""

from __future__ import annotations

import re
import secrets
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

import aiohttp
from aiohttp import web
from twilio.request_validator import RequestValidator

from bot.clock import Clock
from bot.sandbox.sms_format import parse_twilio_date, rfc2822

JSON = dict[str, Any]
API_VERSION = "2010-04-01"
_E164 = re.compile(r"^\+[1-9]\d{1,14}$")
EVENTS = frozenset({"initiated", "ringing", "answered", "completed"})
ENDINGS = frozenset({"completed", "no-answer", "busy", "failed", "canceled"})
ANSWERS = frozenset({"human", "machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other",
                     "fax", "unknown"})
VERBS = frozenset({"Say", "Gather", "Pause", "Hangup", "Redirect", "Play"})
_REFUSALS = {
    21211: "Invalid 'To' Phone Number: {to}",
    21215: "Account not authorized to call {to}. Perhaps you need to enable some international permissions: "
           "https://www.twilio.com/console/voice/calls/geo-permissions/low-risk",
    21216: "Call blocked by Twilio blocklist",
    21217: "Phone number does not appear to be valid",
}


def twilio_error(status: int, code: int, message: str) -> web.Response:
    body = {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status}
    return web.json_response(body, status=status)


@dataclass
class SandboxCall:
    """One call the bot placed, and what happened on it so far."""

    sid: str
    account_sid: str
    to: str
    from_: str
    url: str
    date_created: datetime
    status: str = "queued"
    status_callback: str | None = None
    events: frozenset[str] = frozenset({"completed"})
    machine_detection: str | None = None
    answered_by: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    date_updated: datetime | None = None
    heard: list[str] = field(default_factory=list)  # every <Say> the phone played, in order
    gather: str | None = None  # the action of the <Gather> waiting for a key, if any
    callbacks: list[str] = field(default_factory=list)  # the status callbacks sent: "answered", "no-answer"…

    def to_twilio(self) -> JSON:
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Calls/{self.sid}"
        duration = (str(int((self.end_time - self.start_time).total_seconds()))
                    if self.end_time and self.start_time else None)
        return {
            "account_sid": self.account_sid, "annotation": None, "answered_by": self.answered_by,
            "api_version": API_VERSION, "caller_name": None, "date_created": rfc2822(self.date_created),
            "date_updated": rfc2822(self.date_updated or self.date_created), "direction": "outbound-api",
            "duration": duration, "end_time": rfc2822(self.end_time) if self.end_time else None,
            "forwarded_from": None, "from": self.from_, "from_formatted": self.from_, "group_sid": None,
            "parent_call_sid": None, "phone_number_sid": None, "price": None, "price_unit": "USD",
            "queue_time": "0", "sid": self.sid, "start_time": rfc2822(self.start_time) if self.start_time else None,
            "status": self.status, "to": self.to, "to_formatted": self.to, "trunk_sid": None, "uri": f"{uri}.json",
            "subresource_uris": {k: f"{uri}/{v}.json" for k, v in (
                ("notifications", "Notifications"), ("recordings", "Recordings"), ("payments", "Payments"),
                ("events", "Events"), ("siprec", "Siprec"), ("streams", "Streams"))},
        }

    @property
    def speech(self) -> str:
        return " ".join(self.heard)


@dataclass(frozen=True)
class CallTurn:
    """The bot's answer to one request about a call: the HTTP status and body, and, for TwiML, what
    was said (``<Say>`` texts in order, those inside a ``<Gather>`` too), the ``<Gather>`` (its action,
    absolute, and its attributes) and whether the answer hangs up."""

    status: int
    text: str
    said: list[str] = field(default_factory=list)
    gathers: list[Mapping[str, str]] = field(default_factory=list)
    hangs_up: bool = False

    @property
    def speech(self) -> str:
        return " ".join(self.said)


def parse_voice_twiml(text: str, base_url: str) -> tuple[list[str], list[dict[str, str]], bool]:
    """(what is said, the gathers' attributes with ``action`` made absolute, ``<Hangup>``), or ValueError."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise ValueError(f"the bot answered with malformed TwiML: {exc}") from None
    if root.tag != "Response":
        raise ValueError(f"TwiML must have a <Response> root, got <{root.tag}>")
    said: list[str] = []
    gathers: list[dict[str, str]] = []
    hangs_up = False
    for verb in root:
        if verb.tag not in VERBS:
            raise ValueError(f"<{verb.tag}> is not a TwiML voice verb")
        if verb.tag == "Gather":
            attrs = dict(verb.attrib)
            if "numDigits" in attrs and not attrs["numDigits"].isdigit():
                raise ValueError(f"<Gather numDigits={attrs['numDigits']!r}> is not a number")
            attrs["action"] = urljoin(base_url, attrs.get("action", base_url))
            gathers.append(attrs)
            said += [(s.text or "").strip() for s in verb if s.tag == "Say"]
        elif verb.tag == "Say":
            if not (verb.text or "").strip():
                raise ValueError("<Say> with nothing to say")
            said.append((verb.text or "").strip())
        hangs_up = hangs_up or verb.tag == "Hangup"
    return said, gathers, hangs_up


class VoiceStandIn:
    def __init__(self, *, account_sid: str, auth_token: str, clock: Clock,
                 authenticate: Callable[[web.Request], web.Response | None],
                 changed: Callable[[], Awaitable[None]], from_numbers: set[str] | None) -> None:
        self.account_sid = account_sid
        self.calls: list[SandboxCall] = []
        self.failing_numbers: dict[str, int] = {}  # To numbers the Calls API refuses, with Twilio's code
        self.updates: list[tuple[str, str]] = []  # (sid, Status) of every call update the bot asked for
        self._reach: dict[str, str] = {}
        self._clock = clock
        self._authenticate = authenticate
        self._changed = changed
        self._from_numbers = from_numbers
        self._validator = RequestValidator(auth_token)

    def add_routes(self, app: web.Application) -> None:
        base = f"/{API_VERSION}/Accounts/{{account}}/Calls"
        app.router.add_post(f"{base}.json", self._handle_create)
        app.router.add_get(f"{base}.json", self._handle_list)
        app.router.add_get(f"{base}/{{sid}}.json", self._handle_fetch)
        app.router.add_post(f"{base}/{{sid}}.json", self._handle_update)

    def reach(self, public_url: str, actual_url: str) -> None:
        """Connect to ``actual_url`` for URLs under ``public_url`` (the bot's PUBLIC_URL, which the test
        cannot resolve); requests are still signed over the public URL, as Twilio signs them."""
        self._reach[public_url.rstrip("/")] = actual_url.rstrip("/")

    # --- the REST API -------------------------------------------------------------------------

    def _refusal(self, form: Mapping[str, str], events: list[str]) -> web.Response | None:
        to, from_, url = form.get("To", ""), form.get("From", ""), form.get("Url", "")
        if not to:
            return twilio_error(400, 21201, "No 'To' number is specified")
        if not from_:
            return twilio_error(400, 21213, "No 'From' number is specified")
        if not url and not form.get("Twiml") and not form.get("ApplicationSid"):
            return twilio_error(400, 21205, "Url parameter is required.")
        if url and not url.startswith(("http://", "https://")):
            return twilio_error(400, 21205, f"Url is not a valid URL: {url}")
        if not _E164.match(to):
            return twilio_error(400, 21211, _REFUSALS[21211].format(to=to))
        if not _E164.match(from_) or (self._from_numbers is not None and from_ not in self._from_numbers):
            return twilio_error(400, 21210, f"The source phone number provided, {from_}, is not yet verified for "
                                            "your account. You may only make calls from phone numbers that you've "
                                            "verified or purchased from Twilio.")
        callback = form.get("StatusCallback")
        if callback and not callback.startswith(("http://", "https://")):
            return twilio_error(400, 21609, "Invalid StatusCallback")
        if unknown := [e for e in events if e not in EVENTS]:
            return twilio_error(400, 21626, f"Invalid StatusCallbackEvent: {unknown[0]}")
        if form.get("MachineDetection") not in (None, "Enable", "DetectMessageEnd"):
            return twilio_error(400, 21635, "MachineDetection must be Enable or DetectMessageEnd")
        if to in self.failing_numbers:
            code = self.failing_numbers[to]
            return twilio_error(400, code, _REFUSALS.get(code, "Call could not be created").format(to=to))
        return None

    async def _handle_create(self, request: web.Request) -> web.Response:
        if (denied := self._authenticate(request)) is not None:
            return denied
        posted = await request.post()
        form = {k: v for k, v in posted.items() if isinstance(v, str)}
        events = [e for e in posted.getall("StatusCallbackEvent", []) if isinstance(e, str)]
        if (refused := self._refusal(form, events)) is not None:
            return refused
        call = SandboxCall(sid="CA" + secrets.token_hex(16), account_sid=self.account_sid, to=form["To"],
                           from_=form["From"], url=form.get("Url", ""), date_created=self._clock.now(),
                           status_callback=form.get("StatusCallback") or None,
                           events=frozenset(events) or frozenset({"completed"}),
                           machine_detection=form.get("MachineDetection"))
        self.calls.append(call)
        await self._changed()
        return web.json_response(call.to_twilio(), status=201)

    async def _handle_list(self, request: web.Request) -> web.Response:
        if (denied := self._authenticate(request)) is not None:
            return denied
        query = request.query
        try:
            page = int(query.get("Page", "0"))
            size = max(1, min(int(query.get("PageSize", "50")), 1000))
            bounds = {op: parse_twilio_date(query[f"StartTime{op}"]).date()
                      for op in ("<", ">", "") if f"StartTime{op}" in query}
        except ValueError:
            return twilio_error(400, 20001, "Invalid parameter")

        def matches(call: SandboxCall) -> bool:
            started = call.start_time.date() if call.start_time else None
            if bounds and started is None:
                return False  # Twilio filters StartTime by day; a call not started yet has none
            return (query.get("To", call.to) == call.to and query.get("From", call.from_) == call.from_
                    and query.get("Status", call.status) == call.status
                    and (started is None or (("<" not in bounds or started <= bounds["<"])
                                             and (">" not in bounds or started >= bounds[">"])
                                             and ("" not in bounds or started == bounds[""]))))

        found = sorted((c for c in self.calls if matches(c)), key=lambda c: c.date_created, reverse=True)
        chunk = found[page * size:(page + 1) * size]
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Calls.json"
        filters = "".join(f"&{k}={v}" for k, v in query.items() if k not in ("Page", "PageSize", "PageToken"))
        has_next = (page + 1) * size < len(found)
        return web.json_response({
            "calls": [c.to_twilio() for c in chunk], "page": page, "page_size": size, "start": page * size,
            "end": page * size + max(len(chunk) - 1, 0), "uri": str(request.rel_url),
            "first_page_uri": f"{uri}?PageSize={size}&Page=0{filters}",
            "next_page_uri": f"{uri}?PageSize={size}&Page={page + 1}{filters}" if has_next else None,
            "previous_page_uri": f"{uri}?PageSize={size}&Page={page - 1}{filters}" if page > 0 else None,
        })

    async def _handle_fetch(self, request: web.Request) -> web.Response:
        if (denied := self._authenticate(request)) is not None:
            return denied
        call = next((c for c in self.calls if c.sid == request.match_info["sid"]), None)
        if call is None:
            return twilio_error(404, 20404, f"The requested resource {request.path} was not found")
        return web.json_response(call.to_twilio())

    async def _handle_update(self, request: web.Request) -> web.Response:
        """Twilio's call update with ``Status``: ``canceled`` ends a call that is queued or ringing and
        leaves any other as it is; ``completed`` hangs up one in progress. Either end is reported to
        the status callback, as Twilio does."""
        if (denied := self._authenticate(request)) is not None:
            return denied
        call = next((c for c in self.calls if c.sid == request.match_info["sid"]), None)
        if call is None:
            return twilio_error(404, 20404, f"The requested resource {request.path} was not found")
        given = (await request.post()).get("Status")
        status = given if isinstance(given, str) else ""
        if status not in ("canceled", "completed"):
            return twilio_error(400, 21218, f"Invalid value for Status: {status}")
        self.updates.append((call.sid, status))
        if (status == "canceled" and call.status in ("queued", "ringing")) or (
                status == "completed" and call.status == "in-progress"):
            await self.outcome(call, status)
        return web.json_response(call.to_twilio())

    # --- Twilio calling the bot about a call --------------------------------------------------

    def calls_to(self, number: str) -> list[SandboxCall]:
        return [c for c in self.calls if c.to == number]

    def _params(self, call: SandboxCall, **extra: str) -> dict[str, str]:
        params = {"AccountSid": self.account_sid, "ApiVersion": API_VERSION, "CallSid": call.sid,
                  "CallStatus": call.status, "Direction": "outbound-api", "From": call.from_, "To": call.to,
                  "Called": call.to, "Caller": call.from_, **extra}
        if call.answered_by and call.machine_detection:
            params["AnsweredBy"] = call.answered_by
        return params

    async def _post(self, url: str, params: Mapping[str, str]) -> tuple[int, str]:
        connect = url
        for public, actual in self._reach.items():
            if url.startswith(public):
                connect = actual + url[len(public):]
        headers = {"X-Twilio-Signature": str(self._validator.compute_signature(url, dict(params))),
                   "User-Agent": "TwilioProxy/1.1", "I-Twilio-Idempotency-Token": str(uuid.uuid4()),
                   "Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"}
        async with aiohttp.ClientSession() as session, session.post(connect, data=dict(params),
                                                                    headers=headers) as resp:
            return resp.status, await resp.text()

    async def _turn(self, call: SandboxCall, url: str, params: Mapping[str, str]) -> CallTurn:
        status, text = await self._post(url, params)
        if status != 200:  # Twilio would say "an application error has occurred" and hang up
            return CallTurn(status, text)
        said, gathers, hangs_up = parse_voice_twiml(text, url)
        call.heard += said
        call.gather = gathers[0]["action"] if gathers and not hangs_up else None
        await self._changed()
        return CallTurn(status, text, said, list(gathers), hangs_up)

    async def answer(self, call: SandboxCall, answered_by: str = "human") -> CallTurn:
        """The phone is picked up (``human``) or a voicemail answers (``machine_start``…): fetch the TwiML."""
        if call.status not in ("queued", "ringing"):
            raise ValueError(f"{call.sid} is {call.status}; only a queued or ringing call can be answered")
        if answered_by not in ANSWERS:
            raise ValueError(f"AnsweredBy is one of {sorted(ANSWERS)}")
        now = self._clock.now()
        call.status, call.start_time, call.date_updated = "in-progress", now, now
        call.answered_by = answered_by
        turn = await self._turn(call, call.url, self._params(call))
        if "answered" in call.events:
            await self.send_status(call, "answered")
        return turn

    async def press(self, call: SandboxCall, digits: str) -> CallTurn:
        """Keys pressed while a ``<Gather>`` listens: POST its action with ``Digits``, as Twilio does."""
        if call.gather is None or call.status != "in-progress":
            raise ValueError(f"nothing on {call.sid} is waiting for a key press")
        return await self._turn(call, call.gather, self._params(call, Digits=digits, FinishedOnKey="",
                                                                msg="Gather End"))

    async def outcome(self, call: SandboxCall, status: str) -> CallTurn:
        """The call ends with ``status`` and Twilio tells the status callback (the ``completed`` event)."""
        if status not in ENDINGS:
            raise ValueError(f"a call ends as one of {sorted(ENDINGS)}")
        if status == "completed" and call.status != "in-progress":
            raise ValueError(f"{call.sid} was never answered; it ends as no-answer, busy, failed or canceled")
        now = self._clock.now()
        call.status, call.end_time, call.date_updated, call.gather = status, now, now, None
        await self._changed()
        if call.status_callback is None or "completed" not in call.events:
            return CallTurn(204, "")
        return await self.send_status(call, status)

    async def send_status(self, call: SandboxCall, event: str) -> CallTurn:
        """POST the call's status callback as it stands (``outcome`` and ``answer`` do; a test may
        call it again, as Twilio sometimes does)."""
        assert call.status_callback is not None
        extra = {"CallbackSource": "call-progress-events", "SequenceNumber": str(len(call.callbacks)),
                 "Timestamp": rfc2822(self._clock.now())}
        if call.end_time and call.start_time:
            extra["CallDuration"] = extra["Duration"] = str(int((call.end_time - call.start_time).total_seconds()))
        call.callbacks.append(event)
        status, text = await self._post(call.status_callback, self._params(call, **extra))
        return CallTurn(status, text)
