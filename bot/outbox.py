"""Durable intents to notify someone, written in the same transaction as the change they report.

A dispatcher (``bot.notify.dispatch``) sends them. ``key`` makes an intent unique, so a retried
transaction or a second replica cannot create the same notification twice.

Every row ends either sent (``sent_at``) or failed after its attempts (``failed_at``, with
``last_error``); the dispatcher refuses to start unless every :class:`OutboxKind` has a handler.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base


class OutboxKind(StrEnum):
    """What an outbox row asks for; the value is what the ``kind`` column stores."""

    ALERT_THREAD = "alert_thread"                  # a reply in an alert message's thread
    CHANNEL_POST = "channel_post"                  # a plain post in a channel (handoffs, summaries…)
    DM = "dm"                                      # a plain direct message
    SUMMARY_CHART = "summary_chart"                # the weekly chart, in its summary's thread
    INCIDENT_SETUP = "incident_setup"              # channel, header, invites… of a declared incident
    INCIDENT_ENTRY = "incident_entry"              # a timeline entry shown in the incident channel
    INCIDENT_POSTMORTEM = "incident_postmortem"    # the post-mortem draft upload
    INCIDENT_NUDGE = "incident_nudge"              # "no update for a while" reminder
    INCIDENT_POSTMORTEM_REMINDER = "incident_postmortem_reminder"
    PAGE_SLACK = "page_slack"                      # a page by Slack DM
    PAGE_SMS = "page_sms"                          # a page by SMS
    PAGE_CHANNEL = "page_channel"                  # an @here call for help in the team channel

    @classmethod
    def page(cls, via: str) -> OutboxKind:
        """The kind of a page sent by ``via`` (``slack``, ``sms`` or ``channel``)."""
        return cls(f"page_{via}")


class OutboxMessage(Base):
    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("alert_groups.id"))
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    due_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)

    __table_args__ = (Index("ix_outbox_pending", "sent_at", "failed_at", "due_at"),)


async def enqueue(session: AsyncSession, *, key: str, kind: OutboxKind, payload: dict[str, Any], now: datetime,
                  group_id: int | None = None, due_at: datetime | None = None) -> OutboxMessage | None:
    """Add an intent unless one with this key exists. Returns the new row, or None if it existed."""
    existing = await session.scalar(select(OutboxMessage.id).where(OutboxMessage.key == key))
    if existing is not None:
        return None
    msg = OutboxMessage(key=key, kind=kind, payload=payload, group_id=group_id, created_at=now,
                        due_at=due_at or now)
    session.add(msg)
    return msg
