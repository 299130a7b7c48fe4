"""Requests we have already acted on (Slack event retries), so a retry never acts twice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base


class SeenRequest(Base):
    __tablename__ = "seen_requests"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    at: Mapped[datetime]


async def first_time(session: AsyncSession, key: str, now: datetime) -> bool:
    """Record ``key``; True the first time it is seen."""
    if await session.scalar(select(SeenRequest.key).where(SeenRequest.key == key)) is not None:
        return False
    session.add(SeenRequest(key=key, at=now))
    await session.flush()
    return True

