"""Who was emailed about an alert, so every email about it lands in one conversation.

An :class:`EmailThread` is one alert and one address: created with the first email queued to that
address about the alert (a page by email, or a route's copy), and naming that first message
(``root``), which every later one (a repeat page, the follow-up when the alert resolves) answers
with ``In-Reply-To`` and ``References``. Message-IDs are built from these stored names (see
``bot/notify/email_pages.py``), one per page or follow-up, so a retried send carries the same id.

Queuing is part of the transaction that decides to email: the thread row and the outbox row are
written together, and the outbox key makes each email unique.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from bot.alerts.models import AlertGroup
from bot.config import Config
from bot.db import Base
from bot.outbox import AlertEmail, OutboxKind, enqueue
from bot.severity import Severity

log = logging.getLogger(__name__)

COPY_BURST = 20  # route and severity copies per address …
BURST_WINDOW = timedelta(minutes=10)  # … within this long; the rest of a storm is in Slack
_warned: dict[str, datetime] = {}  # when this process last logged holding copies to an address


class EmailPart(StrEnum):
    ALERT = "alert"        # the alert itself (a route's copy)
    RESOLVED = "resolved"  # the short follow-up once it is resolved


class EmailThread(Base):
    __tablename__ = "email_threads"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("alert_groups.id"))
    address: Mapped[str] = mapped_column(String(254))
    person: Mapped[str | None] = mapped_column(String(32))  # the Slack user id, when it is a person's address
    root: Mapped[str] = mapped_column(String(64))  # the first message's name, e.g. "page-12" or "copy-3"
    created_at: Mapped[datetime]
    first_sent_at: Mapped[datetime | None]  # when an email of this thread first left; a follow-up needs one

    __table_args__ = (UniqueConstraint("group_id", "address", name="uq_email_threads_group_address"),
                      Index("ix_email_threads_address_created", "address", "created_at"))


async def thread_for(session: AsyncSession, group: AlertGroup, address: str, *, person: str | None,
                     root: str | None, now: datetime) -> EmailThread:
    """The alert's thread with ``address``, started now if there is none yet; its first message is
    ``root`` (a page's ``page-<id>``), or the thread's own copy (``copy-<thread id>``) when None."""
    found = await session.scalar(select(EmailThread).where(EmailThread.group_id == group.id,
                                                           EmailThread.address == address))
    if found is not None:
        return found
    thread = EmailThread(group_id=group.id, address=address, person=person, root=root or "", created_at=now)
    session.add(thread)
    await session.flush()
    if root is None:
        thread.root = f"copy-{thread.id}"
    return thread


def copy_addresses(config: Config, labels: dict[str, str], severity: Severity, route_email: Iterable[str]) -> list[str]:
    """Where a new alert is copied by email (no page): its route's ``email`` and its severity's."""
    policy = config.severities.get(severity)
    wanted = [*route_email, *(policy.email if policy else [])]
    return list(dict.fromkeys(wanted))


async def queue_copies(session: AsyncSession, group: AlertGroup, addresses: Iterable[str], now: datetime) -> None:
    """An email copy of a new alert to each address, each in its own thread; in an alert storm at
    most :data:`COPY_BURST` per address per :data:`BURST_WINDOW` (Slack folds the storm into one
    message; an inbox would get thousands)."""
    for address in addresses:
        recent = await session.scalar(select(func.count()).select_from(EmailThread).where(
            EmailThread.address == address, EmailThread.person.is_(None), EmailThread.created_at > now - BURST_WINDOW))
        if (recent or 0) >= COPY_BURST:
            if now - _warned.get(address, now - BURST_WINDOW) >= BURST_WINDOW:  # one line per address and window
                _warned[address] = now
                log.warning("%s alerts copied to one address within %s: holding further copies (alert #%s)",
                            COPY_BURST, BURST_WINDOW, group.id)
            continue
        thread = await thread_for(session, group, address, person=None, root=None, now=now)
        await enqueue(session, key=f"email:{thread.id}:alert", kind=OutboxKind.ALERT_EMAIL, group_id=group.id,
                      payload=AlertEmail(thread_id=thread.id, part=EmailPart.ALERT.value), now=now)


async def queue_follow_ups(session: AsyncSession, group: AlertGroup, event_id: int, now: datetime) -> None:
    """The alert resolved (event ``event_id``): a short follow-up in each of its email threads."""
    for thread_id in await session.scalars(select(EmailThread.id).where(EmailThread.group_id == group.id)):
        await enqueue(session, key=f"email:{thread_id}:resolved:{event_id}", kind=OutboxKind.ALERT_EMAIL,
                      group_id=group.id, payload=AlertEmail(thread_id=thread_id, part=EmailPart.RESOLVED.value,
                                         event_id=event_id),
                      now=now)
