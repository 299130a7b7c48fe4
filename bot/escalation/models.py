"""Escalation state per alert group, and the pages it sent.

An :class:`Escalation` is one alert's run through its team's policy: the policy snapshot, where the
run stands, and the deadline of its next step. ``next_at`` is set exactly while the run waits for
a step, so "what is due" and "when is the next deadline" are both one index lookup.

A :class:`PageRecord` is one person (or channel) paged at one step. It is created in the same
transaction as the step's claim and the outbox intent that sends it, and it carries the write-ahead
marker (``send_attempts``) that lets a retried send look for its earlier attempt instead of paging
twice.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from bot.alerts.models import AlertGroup
from bot.db import Base, EnumString
from bot.escalation.policy import PolicyJson


class RunStatus(StrEnum):
    ACTIVE = "active"        # waiting for next_at
    SNOOZED = "snoozed"      # paused; the snooze's end restarts it
    DONE = "done"            # every step of every round ran
    STOPPED = "stopped"      # acknowledged or resolved
    UNOWNED = "unowned"      # no team owns the alert: nobody to page


class Via(StrEnum):
    SLACK = "slack"
    SMS = "sms"
    CHANNEL = "channel"
    EMAIL = "email"
    GROUP = "group"  # a Slack user group: its mention in the alert's thread (address = its handle)
    CALL = "call"  # a Twilio voice call


class PageStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"  # acknowledged or resolved before it went out


class Escalation(Base):
    __tablename__ = "escalations"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("alert_groups.id"), unique=True)
    team: Mapped[str | None] = mapped_column(String(64))
    policy: Mapped[PolicyJson] = mapped_column(JSON)
    started_at: Mapped[datetime]
    round: Mapped[int] = mapped_column(default=0)
    next_step: Mapped[int] = mapped_column(default=0)
    next_at: Mapped[datetime | None]
    status: Mapped[RunStatus] = mapped_column(EnumString(RunStatus, 16), default=RunStatus.ACTIVE)
    steps_run: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime]

    __table_args__ = (Index("ix_escalations_next_at", "next_at"),)


class PageRecord(Base):
    __tablename__ = "pages"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("alert_groups.id"))
    person: Mapped[str | None] = mapped_column(String(32))
    via: Mapped[Via] = mapped_column(EnumString(Via, 16))
    step: Mapped[int | None]   # 1-based; None for a page someone asked for by name
    round: Mapped[int | None]  # 1-based
    code: Mapped[int | None]   # the SMS short code, unique among the person's open pages
    status: Mapped[PageStatus] = mapped_column(EnumString(PageStatus, 16), default=PageStatus.PENDING)
    send_attempts: Mapped[int] = mapped_column(default=0)
    twilio_sid: Mapped[str | None] = mapped_column(String(64))
    slack_ref: Mapped[str | None] = mapped_column(String(64))  # "<channel id>:<ts>" of the DM or @here post
    address: Mapped[str | None] = mapped_column(String(254))  # an email page's address
    delivery_status: Mapped[str | None] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(String(64))
    requested_by: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    acked_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_pages_group_id", "group_id"),
        Index("ix_pages_person_code", "person", "code"),
        Index("ix_pages_twilio_sid", "twilio_sid"),
    )


# Snoozes end on their own; the runner sleeps until the earliest one, so it needs this index.
SNOOZE_INDEX = Index("ix_alert_groups_snoozed_until", AlertGroup.snoozed_until)


def on_postgres(session: AsyncSession) -> bool:
    """Row locks (``FOR UPDATE [SKIP LOCKED]``) matter only where several replicas share the database."""
    return session.get_bind().dialect.name == "postgresql"
