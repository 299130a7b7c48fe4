"""Pages by phone call, through Twilio's Voice API with the official ``twilio`` package's async client.

The call is placed with the URL Twilio fetches its words from (``/twilio/voice?page=<id>``, see
``bot.web.twilio_voice``), a status callback for how it ended, and machine detection, so a
voicemail is told apart from a person. The REST client is the SMS notifier's (one per process).

At most one call per page id, also across a crash: :class:`~bot.notify.page_sender.PageSender`
marks the attempt before this is called, and a retried attempt looks for the call first — the
page's call sid, if one of the call's webhooks (which name the page) already stored it, else
Twilio's list of calls from our number to theirs since the page was created, less the calls other
pages already own. That list is not filtered by ``StartTime``: Twilio filters it by day, and a
call still queued or ringing has no start time yet — just the call a crash may have cut short.

Phone numbers never reach the logs (see ``bot.notify.page_sms``): only page ids and Twilio's codes.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from twilio.rest import Client

from bot.config import Settings
from bot.delivery import DeliveryError
from bot.escalation.models import PageRecord
from bot.notify.dispatch import Dispatcher
from bot.notify.page_sender import PageDelivery, PageRefused, Sent
from bot.notify.page_sms import SmsNotifier, twilio_answers
from bot.outbox import OutboxKind, OutboxMessage, PageSend

log = logging.getLogger(__name__)

LOOKBACK = timedelta(minutes=1)  # clock skew allowance: a page's call cannot predate the page
LOOKUP_LIMIT = 50  # the newest calls to that number from ours; one page of Twilio's list
STATUS_EVENTS = ["answered", "completed"]  # "completed" carries every end: no-answer, busy, failed, canceled


class CallUnavailable(DeliveryError):
    """Twilio could not be reached or is overloaded (5xx, 429, timeout): the outbox tries again
    later; the code says what happened (``twilio_20503``, ``connection_error:TimeoutError``)."""

    transient = True

    def __init__(self, code: str) -> None:
        super().__init__(code, f"twilio.calls: {code}")


def voice_url(base: str, page_id: int) -> str:
    """Where Twilio fetches the call's TwiML; it signs its requests over exactly this URL."""
    return f"{base}/twilio/voice?page={page_id}"


class CallNotifier:
    def __init__(self, settings: Settings, twilio: SmsNotifier, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._settings = settings
        self._twilio = twilio
        self._sessions = sessions

    async def send(self, delivery: PageDelivery) -> Sent:
        client = self._twilio.client
        if client is None or not self._settings.public_url:
            raise PageRefused("not_configured")
        if not delivery.phone:
            raise PageRefused("no_phone")
        base, page_id = self._settings.base_public_url, delivery.page.id
        with twilio_answers(lambda code: self._unavailable(delivery, code)):
            if delivery.retried:
                found = await self._find(client, delivery)
                if found is not None:
                    return found
            call = await client.calls.create_async(
                to=delivery.phone, from_=self._settings.twilio_from_number, url=voice_url(base, page_id),
                status_callback=f"{base}/twilio/voice/status?page={page_id}", status_callback_event=STATUS_EVENTS,
                machine_detection="Enable")
        return Sent(str(call.sid), call.status)

    @staticmethod
    def _unavailable(delivery: PageDelivery, code: str) -> CallUnavailable:
        log.warning("call page #%s not placed yet, will retry: %s", delivery.page.id, code)  # no numbers
        return CallUnavailable(code)

    def register(self, dispatcher: Dispatcher) -> None:
        dispatcher.handlers[OutboxKind.CALL_CANCEL] = self.cancel

    async def cancel(self, item: OutboxMessage) -> dict[str, object]:
        """``call_cancel``: ask Twilio to stop a call that is still ringing (``Status=canceled`` leaves a
        call someone already answered alone). Twilio then reports it ``canceled`` to the status callback."""
        client = self._twilio.client
        async with self._sessions() as s:
            page = await s.get(PageRecord, PageSend.of(item).page_id)
        if client is None or page is None or not page.twilio_sid:
            return {"skipped": "no call to stop"}
        try:
            with twilio_answers(lambda code: CallUnavailable(code)):  # busy or down: the outbox tries again
                call = await client.calls(page.twilio_sid).update_async(status="canceled")
        except PageRefused as exc:  # e.g. 20404: the call is over and gone
            log.info("call page #%s could not be stopped (%s); it rings out", page.id, exc.code)
            return {"refused": exc.code}
        log.info("call page #%s stopped ringing: its alert was settled", page.id)
        return {"status": str(call.status)}

    async def _find(self, client: Client, delivery: PageDelivery) -> Sent | None:
        """After a crash between placing and recording, find the call we placed instead of calling twice."""
        page = delivery.page
        if page.twilio_sid:  # a webhook of the call told us already
            return Sent(page.twilio_sid, page.delivery_status)
        since = page.created_at - LOOKBACK
        calls = [c for c in await client.calls.list_async(to=delivery.phone, from_=self._settings.twilio_from_number,
                                                            limit=LOOKUP_LIMIT, page_size=LOOKUP_LIMIT)
                 if c.date_created is not None and c.date_created >= since]
        if not calls:
            return None
        async with self._sessions() as s:
            owned = set(await s.scalars(select(PageRecord.twilio_sid).where(
                PageRecord.twilio_sid.in_([str(c.sid) for c in calls]), PageRecord.id != page.id)))
        mine = [c for c in calls if str(c.sid) not in owned]
        if not mine:
            return None
        first = mine[-1]  # Twilio lists the newest first
        log.info("call page #%s was placed before an interruption; not calling again", page.id)
        return Sent(str(first.sid), first.status)
