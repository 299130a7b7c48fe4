"""Creating pages: the row, its SMS short code, its history event and its send intent, in one go.

A page is only ever created inside the transaction that decided to page (a claimed step, an
Escalate click, ``/oncall page``), together with the outbox row that sends it. So either both
exist or neither does, and the outbox key (``page:<id>``) makes the send unique.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.alerts.actions import record
from bot.alerts.emails import thread_for
from bot.alerts.events import Paged, PageFailed
from bot.alerts.incoming import AlertStatus
from bot.alerts.models import AlertGroup
from bot.escalation.models import PageRecord, PageStatus, Via, on_postgres
from bot.escalation.targets import Recipient
from bot.outbox import OutboxKind, PageSend, outbox_row

# Two digits are quick to type on a phone at 3 a.m.; longer codes only for someone with many open pages.
CODE_RANGES = (range(10, 100), range(100, 1000), range(1000, 10000), range(10000, 100000))
_TRIES = 12
_random = random.SystemRandom()


@dataclass(frozen=True)
class OpenCode:
    code: int
    group_id: int
    title: str
    status: str


async def open_codes(session: AsyncSession, person: str) -> list[OpenCode]:
    """The person's SMS codes for alerts that are not resolved yet, lowest first."""
    rows = await session.execute(
        select(PageRecord.code, AlertGroup.id, AlertGroup.title, AlertGroup.status)
        .join(AlertGroup, AlertGroup.id == PageRecord.group_id)
        .where(PageRecord.person == person, PageRecord.code.is_not(None),
               AlertGroup.status != AlertStatus.RESOLVED)
        .distinct().order_by(PageRecord.code)
    )
    return [OpenCode(code, gid, title, status) for code, gid, title, status in rows if code is not None]


async def _lock_person(session: AsyncSession, person: str) -> None:
    """Serialise code choice per person across PostgreSQL replicas (SQLite has one writer anyway)."""
    if on_postgres(session):
        await session.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"page-code:{person}"))))


def _open_sms_pages(person: str) -> Select[int | None]:
    return (select(PageRecord.code).join(AlertGroup, AlertGroup.id == PageRecord.group_id)
            .where(PageRecord.person == person, PageRecord.code.is_not(None),
                   AlertGroup.status != AlertStatus.RESOLVED))


async def short_code(session: AsyncSession, person: str, group_id: int) -> int:
    """The person's code for this alert: the one they already have for it, else a free random one.

    Random rather than the lowest free code, so a late reply to an old page is unlikely to hit
    the alert that happens to reuse its number. The range is the shortest one at most half full,
    so a random pick is usually free at the first try; each try is one indexed lookup.
    """
    await _lock_person(session, person)
    mine = await session.scalar(select(PageRecord.code).where(
        PageRecord.group_id == group_id, PageRecord.person == person, PageRecord.code.is_not(None)).limit(1))
    if mine is not None:
        return mine
    held = await session.scalar(select(func.count()).select_from(_open_sms_pages(person).subquery())) or 0
    for codes in CODE_RANGES:
        if held * 2 > len(codes):
            continue
        for _ in range(_TRIES):
            code = _random.choice(codes)
            taken = await session.scalar(_open_sms_pages(person).where(PageRecord.code == code).limit(1))
            if taken is None:
                return code
        used = set(await session.scalars(_open_sms_pages(person).where(PageRecord.code.in_(codes))))
        free = [c for c in codes if c not in used]
        if free:
            return _random.choice(free)
    raise RuntimeError(f"{person} has {held} open pages; no short code is free")


async def create_page(session: AsyncSession, group: AlertGroup, recipient: Recipient, now: datetime, *,
                      step: int | None, round_: int | None, requested_by: str | None = None) -> PageRecord:
    """Store a page, record it in the alert's history (and thread), and queue its sending — now, or
    ``recipient.after`` later (a person's later channel: a row due then, cancelled if the alert is
    acknowledged or resolved by then, like any page)."""
    code = None
    if recipient.via == Via.SMS and recipient.person:
        code = await short_code(session, recipient.person, group.id)
    page = PageRecord(group_id=group.id, person=recipient.person, via=recipient.via, step=step, round=round_,
                      code=code, created_at=now, requested_by=requested_by, address=recipient.address)
    session.add(page)
    await session.flush()
    if recipient.via == Via.EMAIL and recipient.address:  # later emails about the alert answer this one
        await thread_for(session, group, recipient.address, person=recipient.person, root=f"page-{page.id}", now=now)
    goes_at = now + recipient.after if recipient.after > timedelta(0) else None
    await record(session, group, Paged(step=step, round=round_, page_id=page.id, by=requested_by, goes_at=goes_at,
                                       quiet=recipient.held_until is not None), now,
                 actor=recipient.person or recipient.address, via=recipient.via)
    # The page id is new, so its key cannot exist yet: no need for enqueue()'s look-before-insert.
    session.add(outbox_row(key=f"page:{page.id}", kind=OutboxKind.page(recipient.via), group_id=group.id,
                           payload=PageSend(page_id=page.id), now=now, due_at=goes_at))
    return page


async def record_delivery_status(session: AsyncSession, *, page_id: int | None, sid: str, status: str,
                                 error_code: str | None, now: datetime) -> PageRecord | None:
    """A Twilio status callback: remember the delivery status; a failure goes into the alert's history
    and thread once (callbacks may repeat), and the policy carries on regardless.

    The callback URL names the page, because Twilio may call back before we have stored the sid.
    """
    page = await session.get(PageRecord, page_id) if page_id is not None else None
    if page is None or (page.twilio_sid not in (None, sid)):
        page = await session.scalar(select(PageRecord).where(PageRecord.twilio_sid == sid))
    if page is None or page.via != Via.SMS:
        return None
    page.twilio_sid = sid
    failed = status in ("failed", "undelivered")
    first_failure = failed and page.status != PageStatus.FAILED
    page.delivery_status = status
    if failed:
        page.status, page.error = PageStatus.FAILED, error_code or status
    if first_failure:
        group = await session.get_one(AlertGroup, page.group_id)
        await record(session, group, PageFailed(error=error_code or status, page_id=page.id, status=status), now,
                     actor=page.person, via=page.via)
    return page
