"""SMS hygiene: who replied STOP, and how many informational answers a number got this hour.

Twilio's opt-out keywords (``STOP``, ``START``, ``HELP`` and their synonyms) are Twilio's own: on
a real number with Advanced Opt-Out, Twilio confirms ``STOP``/``START`` itself and blocks messages
to a number that sent ``STOP`` (error 21610). The bot records them (:class:`SmsOptOut`, keyed by
the number, as Twilio's block is) so that an SMS step skips that person with a note in the
alert's thread instead of failing, and reaches them by the step's other targets.

Informational answers — help, "not understood", "this number is not on the list", "nothing to
acknowledge" — are counted per number and clock hour (:class:`SmsReplyCount`, the number stored
as a hash only) with one atomic upsert, so replicas and restarts share the count; past
:data:`INFO_REPLIES_PER_HOUR` the bot answers nothing, so a phone that auto-replies, or someone
scripting the webhook, cannot make it send SMS in a loop. Answers that report an action taken
(acknowledged, escalated, resolved) are never held back.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta

from sqlalchemy import String, delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, upsert

log = logging.getLogger(__name__)

INFO_REPLIES_PER_HOUR = 5
COUNTS_KEPT = timedelta(days=1)  # an hour's count is needed for that hour only; retention prunes older


class SmsOptOut(Base):
    """A number that replied STOP; deleted when it replies START."""

    __tablename__ = "sms_opt_outs"

    phone: Mapped[str] = mapped_column(String(32), primary_key=True)
    at: Mapped[datetime]


class SmsReplyCount(Base):
    """How many informational answers went to one number (its hash) in one clock hour."""

    __tablename__ = "sms_reply_counts"

    number: Mapped[str] = mapped_column(String(64), primary_key=True)
    hour: Mapped[datetime] = mapped_column(primary_key=True)
    count: Mapped[int] = mapped_column(default=0)


async def opt_out(session: AsyncSession, phone: str, now: datetime) -> None:
    stmt = upsert(session, SmsOptOut).values(phone=phone, at=now)
    await session.execute(stmt.on_conflict_do_nothing(index_elements=[SmsOptOut.phone]))


async def opt_in(session: AsyncSession, phone: str) -> None:
    await session.execute(delete(SmsOptOut).where(SmsOptOut.phone == phone))


async def opted_out(session: AsyncSession, phone: str) -> bool:
    return await session.scalar(select(SmsOptOut.phone).where(SmsOptOut.phone == phone)) is not None


def _number_key(phone: str) -> str:
    return hashlib.sha256(phone.encode("utf-8", "surrogatepass")).hexdigest()


async def may_inform(session: AsyncSession, phone: str, now: datetime) -> bool:
    """Count one informational answer to ``phone`` this hour; False once past the hour's allowance.

    The hour's first refused answer is logged, once, without the number.
    """
    hour = now.replace(minute=0, second=0, microsecond=0)
    stmt = upsert(session, SmsReplyCount).values(number=_number_key(phone), hour=hour, count=1)
    stmt = stmt.on_conflict_do_update(index_elements=[SmsReplyCount.number, SmsReplyCount.hour],
                                      set_={"count": SmsReplyCount.count + 1}).returning(SmsReplyCount.count)
    count = int((await session.execute(stmt)).scalar_one())
    if count == INFO_REPLIES_PER_HOUR + 1:
        log.warning("SMS replies from one number got %s informational answers this hour; answering nothing more "
                    "to it until the hour is over", INFO_REPLIES_PER_HOUR)
    return count <= INFO_REPLIES_PER_HOUR
