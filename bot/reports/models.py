"""The weekly summaries the bot has committed to post.

One row per covered week, unique on the week's start, written in the same transaction as the
outbox rows that post the summary and its chart. A restart, a retried job or a second replica
finds the row and posts nothing; a crash after the commit still posts, because the outbox does.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base


class WeeklySummaryRecord(Base):
    __tablename__ = "weekly_summaries"

    id: Mapped[int] = mapped_column(primary_key=True)
    week_start: Mapped[datetime]
    week_end: Mapped[datetime]  # the scheduled instant the summary was due at
    channel: Mapped[str] = mapped_column(String(128))
    recorded_at: Mapped[datetime]  # later than week_end when it was a catch-up after downtime

    __table_args__ = (Index("uq_weekly_summaries_week_start", "week_start", unique=True),)
