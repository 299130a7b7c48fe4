"""Sending pages: the outbox handlers behind ``page_slack``, ``page_sms``, ``page_call``, ``page_channel``
and ``page_email``.

Each page row was written together with its outbox intent when a step was claimed. Sending is
made idempotent here, per page id: before calling a provider, the page's ``send_attempts`` is
bumped and committed (a write-ahead mark); an attempt that finds the mark already set knows an
earlier attempt may have reached the provider before a crash, and has the notifier look for that
message before sending again. A page for an alert acknowledged or resolved in the meantime is
cancelled, not sent.

Notifiers (:class:`Notifier`) know one medium each — Slack (DMs and ``@here`` posts), Twilio SMS and
calls, email. They raise :class:`PageRefused` for a final "no" (a Twilio 4xx, a Slack ``user_not_found``),
which is recorded on the alert and in its thread while the policy goes on; anything transient is
left to the dispatcher's retries.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import crashpoints
from bot.alerts.actions import record
from bot.alerts.current import CurrentAlert, load_current
from bot.alerts.emails import EmailThread
from bot.alerts.events import PageFailed
from bot.alerts.incoming import AlertStatus
from bot.alerts.models import Alert, AlertGroup
from bot.clock import Clock
from bot.config import Config
from bot.db import transaction
from bot.escalation.models import PageRecord, PageStatus, Via
from bot.metrics import Metrics
from bot.notify.dispatch import Deferred, Dispatcher
from bot.notify.outbox_sender import Done
from bot.notify.storms import storm_message
from bot.outbox import OutboxKind, OutboxMessage, PageSend

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ShownIn:
    channel_id: str
    ts: str
    storm: bool  # the alert is one of many in an alert storm message


@dataclass(frozen=True)
class PageDelivery:
    """One page to send, with what the notifier needs to word it (plain stored values: each
    notifier words it for its medium)."""

    page: PageRecord
    alert: CurrentAlert
    phone: str | None
    retried: bool  # an earlier attempt may have reached the provider: look before sending
    # Where the alert is shown in its channel: its own message, or the storm message it is folded into.
    shown_in: ShownIn | None = None
    email_root: str | None = None  # an email page: the first email of its thread, which it answers

    @property
    def group(self) -> AlertGroup:
        return self.alert.group

    @property
    def alerts(self) -> Sequence[Alert]:
        return self.alert.alerts


@dataclass(frozen=True)
class Sent:
    ref: str                     # Twilio message sid, or "<channel id>:<ts>" in Slack
    status: str | None = None    # the provider's delivery status, when it says


class PageRefused(Exception):
    """The provider said no for good; ``code`` is its error code, never a phone number."""

    def __init__(self, code: str, status: str = "refused") -> None:
        super().__init__(f"{status} ({code})")
        self.code = code
        self.status = status


class Notifier(Protocol):
    async def send(self, delivery: PageDelivery) -> Sent: ...


async def _shown_in(s: AsyncSession, group: AlertGroup) -> ShownIn | None:
    if group.slack_ts and group.slack_channel_id:
        return ShownIn(group.slack_channel_id, group.slack_ts, storm=False)
    posted = await storm_message(s, group)
    return ShownIn(*posted, storm=True) if posted else None


class PageSender:
    def __init__(self, *, sessions: async_sessionmaker[AsyncSession], clock: Clock, config: Config,
                 metrics: Metrics, notifiers: Mapping[Via, Notifier], wake: Callable[[], None]) -> None:
        self._sessions = sessions
        self._clock = clock
        self._config = config
        self._metrics = metrics
        self._notifiers = notifiers
        self._wake = wake

    def register(self, dispatcher: Dispatcher) -> None:
        for via in Via:
            dispatcher.handlers[OutboxKind.page(via)] = self.send

    async def _load(self, s: AsyncSession, page_id: int) -> tuple[PageRecord, CurrentAlert]:
        page = await s.get_one(PageRecord, page_id)
        return page, await load_current(s, page.group_id)

    async def send(self, item: OutboxMessage) -> dict[str, object] | Done:
        page_id = PageSend.of(item).page_id
        async with transaction(self._sessions) as s:
            page, alert = await self._load(s, page_id)
            group = alert.group
            if page.status != PageStatus.PENDING:
                return {"page_id": page_id, "status": page.status}
            if group.status == AlertStatus.RESOLVED or (group.status == AlertStatus.ACKNOWLEDGED
                                                         and page.requested_by is None):
                page.status = PageStatus.CANCELLED
                return {"page_id": page_id, "status": PageStatus.CANCELLED}
            shown_in = await _shown_in(s, group)
            if page.via in (Via.CHANNEL, Via.GROUP) and shown_in is None:
                raise Deferred()  # the @here post links to, a group's mention replies to, the alert (or storm) message
            retried = page.send_attempts > 0
            page.send_attempts += 1  # the write-ahead mark, committed before the provider is called
            email_root = await s.scalar(select(EmailThread.root).where(
                EmailThread.group_id == group.id, EmailThread.address == page.address)) if page.address else None
        crashpoints.reached(crashpoints.Point.PAGE_MARKED)
        person = self._config.person(page.person) if page.person else None
        delivery = PageDelivery(page=page, alert=alert, phone=person.phone if person else None, retried=retried,
                                shown_in=shown_in, email_root=email_root)
        try:
            sent = await self._notifiers[Via(page.via)].send(delivery)
        except PageRefused as exc:
            log.warning("page #%s by %s refused: %s", page_id, page.via, exc)
            await self._refused(page_id, exc)
            return {"page_id": page_id, "error": exc.code}
        crashpoints.reached(crashpoints.Point.PAGE_SENT)
        self._metrics.notifications.labels(page.via, "page").inc()

        async def record_sent(s: AsyncSession) -> None:
            await self._sent(s, page, sent)

        return Done({"page_id": page_id, "ref": sent.ref}, record_sent)  # recorded with the row's sent_at

    async def _sent(self, s: AsyncSession, page: PageRecord, sent: Sent) -> None:
        # An email's Message-ID is rebuilt from the page id whenever it is needed; nothing to keep.
        ref = ({"twilio_sid": sent.ref} if page.via in (Via.SMS, Via.CALL) else {} if page.via == Via.EMAIL
               else {"slack_ref": sent.ref})
        # One statement; Twilio's status callback may have come first (and said "failed"):
        # what it said is kept.
        await s.execute(update(PageRecord).where(PageRecord.id == page.id).values(
            sent_at=self._clock.now(), delivery_status=func.coalesce(PageRecord.delivery_status, sent.status),
            status=case((PageRecord.status == PageStatus.PENDING, PageStatus.SENT), else_=PageRecord.status),
            **ref))

    async def _refused(self, page_id: int, refusal: PageRefused) -> None:
        """Recorded in the alert's history and thread; the escalation carries on regardless."""
        now = self._clock.now()
        async with transaction(self._sessions) as s:
            page = await s.get_one(PageRecord, page_id)
            page.status, page.error = PageStatus.FAILED, refusal.code
            group = await s.get_one(AlertGroup, page.group_id)
            actor = page.address if page.via == Via.GROUP else page.person  # a group is named by its handle
            await record(s, group, PageFailed(error=refusal.code, page_id=page.id, status=refusal.status), now,
                         actor=actor, via=page.via)
        self._wake()
