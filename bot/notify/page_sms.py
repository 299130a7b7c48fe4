"""SMS pages through Twilio's Messages API, with the official ``twilio`` package's async client.

Phone numbers must never reach the logs: twilio-python logs every request (with ``To=``) at
INFO, so its logger is held at WARNING unless ``LOG_LIBRARY_LEVEL`` says otherwise (the log
scrubber in ``bot.logs`` hides the numbers either way), and ``TwilioRestException``'s text (which
quotes numbers) is never logged — only its numeric code.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

import aiohttp
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from bot.config import Settings
from bot.delivery import DeliveryError
from bot.escalation.sms_text import page_text
from bot.notify.page_sender import PageDelivery, PageRefused, Sent

log = logging.getLogger(__name__)

TIMEOUT = 10.0  # seconds per Twilio API request
LOOKBACK = timedelta(minutes=1)  # clock skew allowance: a page's message cannot predate the page


class TwilioError(DeliveryError):
    """Twilio did not take an SMS; ``code`` is Twilio's error code or what went wrong, never a number."""

    def __init__(self, code: str) -> None:
        super().__init__(code, f"twilio.messages: {code}")


class SmsUnavailable(TwilioError):
    """Twilio could not be reached or is overloaded (5xx, 429, timeout): the outbox tries again
    later; the code says what happened (``twilio_20500``, ``connection_error:TimeoutError``)."""

    transient = True


class _TimedHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]
    """Two fixes to twilio-python's async client: it accepts a ``timeout`` but passes None on to
    aiohttp, which means "wait forever" (a page must not hang on a dead connection); and it hands
    aiohttp the credentials as ``auth=``, which aiohttp deprecates, so we send the header ourselves."""

    async def request(self, method: str, url: str, params: dict[str, object] | None = None,
                      data: dict[str, object] | None = None, headers: dict[str, str] | None = None,
                      auth: tuple[str, str] | None = None, timeout: float | None = None,  # noqa: ASYNC109  (twilio's signature)
                      allow_redirects: bool = False) -> Response:
        if auth is not None:
            basic = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            headers = {**(headers or {}), "Authorization": f"Basic {basic}"}
        return await super().request(method, url, params=params, data=data, headers=headers, auth=None,
                                     timeout=timeout or self.timeout, allow_redirects=allow_redirects)


@contextmanager
def twilio_answers(unavailable: Callable[[str], DeliveryError]) -> Iterator[None]:
    """What Twilio's answer means for a page, for SMS and calls alike: busy or down (429, 5xx, no
    connection, a failed look-up) is ``unavailable(code)``, retried by the outbox; any other 4xx is a
    final :class:`PageRefused` with Twilio's code. Never the exception's text: it quotes numbers."""
    try:
        yield
    except TwilioRestException as exc:
        code = str(exc.code or exc.status)
        if exc.status == 429 or exc.status >= 500:
            raise unavailable(f"twilio_{code}") from None
        raise PageRefused(code) from None
    except TwilioException:  # the list call's "Unable to fetch page" (any HTTP error while looking)
        raise unavailable("twilio_lookup_failed") from None
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise unavailable(f"connection_error:{type(exc).__name__}") from None


def page_body(delivery: PageDelivery) -> str:
    group, lead = delivery.group, delivery.alert.lead
    return page_text(severity=group.severity, title=group.title, service=lead.service if lead else None,
                     description=lead.description if lead else "", code=delivery.page.code or 0)


class SmsNotifier:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._http: AsyncTwilioHttpClient | None = None
        self._client: Client | None = None

    async def start(self) -> None:
        """Create the HTTP client inside the running event loop (aiohttp sessions belong to one loop)."""
        s = self._settings
        if not s.twilio_configured:
            return
        self._http = _TimedHttpClient(timeout=TIMEOUT)
        self._client = Client(s.twilio_account_sid, s.twilio_auth_token, http_client=self._http)
        self._client.api.base_url = s.twilio_api_url.rstrip("/")

    @property
    def client(self) -> Client | None:
        """Twilio's REST client once started (None while Twilio is not set up), shared with calls."""
        return self._client

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def send(self, delivery: PageDelivery) -> Sent:
        if self._client is None:
            raise PageRefused("not_configured")
        if not delivery.phone:
            raise PageRefused("no_phone")
        body = page_body(delivery)
        with twilio_answers(lambda code: self._unavailable(delivery, code)):
            if delivery.retried:
                found = await self._find(delivery, body)
                if found is not None:
                    return found
            msg = await self._client.messages.create_async(
                to=delivery.phone, from_=self._settings.twilio_from_number, body=body,
                status_callback=f"{self._settings.base_public_url}/twilio/status?page={delivery.page.id}")
        return Sent(str(msg.sid), msg.status)

    @staticmethod
    def _unavailable(delivery: PageDelivery, code: str) -> SmsUnavailable:
        log.warning("SMS page #%s not sent yet, will retry: %s", delivery.page.id, code)  # no numbers, no texts
        return SmsUnavailable(code)

    async def _find(self, delivery: PageDelivery, body: str) -> Sent | None:
        """After a crash between sending and recording, find the message we sent instead of paging twice."""
        assert self._client is not None
        since = delivery.page.created_at - LOOKBACK
        for msg in await self._client.messages.list_async(to=delivery.phone, from_=self._settings.twilio_from_number,
                                                            date_sent_after=since, limit=100):
            if msg.body == body:
                return Sent(str(msg.sid), msg.status)
        return None
