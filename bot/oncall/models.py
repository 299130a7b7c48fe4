"""Stored on-call overrides (``/oncall override``, ``/oncall take``), announced handoffs and shift swaps.

Rotations themselves are config; only what people change at run time, and what the bot has
already told them, is stored.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, EnumString


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


class SwapStatus(StrEnum):
    PENDING = "pending"      # asked, not answered
    ACCEPTED = "accepted"    # both shifts swapped (the two overrides below)
    DECLINED = "declined"
    EXPIRED = "expired"      # answered after one of the shifts had begun


class ShiftSwapRow(Base):
    """``/oncall swap @bob mon 7 dec``: the asker's shift and the other person's, as they were when
    asked. On accept the pair is swapped as two overrides (``asker_override_id``: the asker covering
    the other's shift, ``other_override_id``: the other covering the asker's)."""

    __tablename__ = "shift_swaps"

    id: Mapped[int] = mapped_column(primary_key=True)
    team: Mapped[str] = mapped_column(String(64))
    asker: Mapped[str] = mapped_column(String(32))
    other: Mapped[str] = mapped_column(String(32))
    asker_start: Mapped[datetime]
    asker_end: Mapped[datetime]
    other_start: Mapped[datetime]
    other_end: Mapped[datetime]
    status: Mapped[SwapStatus] = mapped_column(EnumString(SwapStatus, 16), default=SwapStatus.PENDING)
    created_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    asker_override_id: Mapped[int | None] = mapped_column(ForeignKey("oncall_overrides.id"))
    other_override_id: Mapped[int | None] = mapped_column(ForeignKey("oncall_overrides.id"))
