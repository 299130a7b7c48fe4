"""Stored on-call overrides (``/oncall override``, ``/oncall take``) and announced handoffs.

Rotations themselves are config; only what people change at run time, and what the bot has
already told them, is stored.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base


class OverrideRow(Base):
    """One override. ``cancelled_at`` marks one withdrawn before it began (it never counted);
    one ended early keeps ``cancelled_at`` empty, gets ``ends_at`` = the moment it was ended and
    ``cancelled_by`` = who ended it, so the record of who actually held the pager stays true."""

    __tablename__ = "oncall_overrides"

    id: Mapped[int] = mapped_column(primary_key=True)
    team: Mapped[str] = mapped_column(String(64))
    person: Mapped[str] = mapped_column(String(32))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text, default="")
    cancelled_at: Mapped[datetime | None]
    cancelled_by: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (Index("ix_oncall_overrides_team_span", "team", "ends_at", "starts_at"),)


class HandoffRow(Base):
    """A handoff the bot has announced. ``(team, at)`` is unique: a restart, a retry or a second
    replica finds the row and does not post the same handoff twice."""

    __tablename__ = "oncall_handoffs"

    id: Mapped[int] = mapped_column(primary_key=True)
    team: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    primary: Mapped[str | None] = mapped_column(String(32))
    backup: Mapped[str | None] = mapped_column(String(32))
    announced_at: Mapped[datetime]

    __table_args__ = (Index("uq_oncall_handoffs_team_at", "team", "at", unique=True),)
