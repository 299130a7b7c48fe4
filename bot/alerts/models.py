"""Stored alerts.

An :class:`AlertGroup` is what people see and act on: one Slack message, one acknowledgement, one
escalation. It holds one or more :class:`Alert` rows (Alertmanager sends several alerts under one
``groupKey``; every other source makes a group of one). :class:`AlertEvent` is the history — who did
what when — that the thread replies, post-mortems and the weekly summary are built from.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.alerts.events import AnyEventDetail, EventKind, parse_detail
from bot.alerts.incoming import AlertStatus
from bot.db import Base, EnumString
from bot.severity import Severity

OPEN = text(f"status != '{AlertStatus.RESOLVED}'")
SNOOZED = text("snoozed_until IS NOT NULL")
ACK_TIMING = text("ack_timeout_at IS NOT NULL")
UNSYNCED = text("version > posted_version")  # the Slack message is behind: the dispatcher's work


class AlertGroup(Base):
    __tablename__ = "alert_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    integration: Mapped[str] = mapped_column(String(64))
    group_key: Mapped[str] = mapped_column(String(512))
    team: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(128))
    title: Mapped[str] = mapped_column(String(300))
    severity: Mapped[Severity] = mapped_column(EnumString(Severity, 16))
    status: Mapped[AlertStatus] = mapped_column(EnumString(AlertStatus, 16), default=AlertStatus.FIRING)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(128))
    acknowledged_via: Mapped[str | None] = mapped_column(String(32))
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(128))
    resolved_via: Mapped[str | None] = mapped_column(String(32))
    snoozed_until: Mapped[datetime | None]
    # Set while acknowledged under a severity with ``ack_timeout``: then it fires again, unless resolved.
    ack_timeout_at: Mapped[datetime | None]
    silence_id: Mapped[int | None] = mapped_column(ForeignKey("silences.id"))
    playbook: Mapped[str | None] = mapped_column(String(64))
    # The Slack message: version counts changes, posted_version what Slack shows.
    slack_channel_id: Mapped[str | None] = mapped_column(String(32))
    slack_ts: Mapped[str | None] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(default=1)
    posted_version: Mapped[int] = mapped_column(default=0)
    sync_attempts: Mapped[int] = mapped_column(default=0)
    sync_claimed_until: Mapped[datetime | None]
    sync_error: Mapped[str | None] = mapped_column(Text)
    # Set when the group arrived during an alert storm: shown in the storm message, not on its own.
    storm_id: Mapped[int | None] = mapped_column(ForeignKey("alert_storms.id"))

    alerts: Mapped[list[Alert]] = relationship(back_populates="group", order_by="Alert.id")

    __table_args__ = (
        Index("uq_alert_groups_open_key", "integration", "group_key", unique=True,
              sqlite_where=OPEN, postgresql_where=OPEN),
        Index("ix_alert_groups_sync", "posted_version", "version"),
        # Partial indexes hold only the few rows the loops look for, so an idle pass over 10,000
        # open alerts reads an empty index instead of the table.
        Index("ix_alert_groups_snoozed", "snoozed_until", sqlite_where=SNOOZED, postgresql_where=SNOOZED),
        Index("ix_alert_groups_ack_timeout", "ack_timeout_at", sqlite_where=ACK_TIMING, postgresql_where=ACK_TIMING),
        Index("ix_alert_groups_unsynced", "id", sqlite_where=UNSYNCED, postgresql_where=UNSYNCED),
        Index("ix_alert_groups_created", "created_at"),
        Index("ix_alert_groups_message", "slack_channel_id", "slack_ts"),
    )


STORM_OPEN = text("ended_at IS NULL")


class AlertStorm(Base):
    """Many new alerts at once in one channel: one message, edited in place, instead of a queue of
    posts that Slack's one-message-per-second limit would take hours to deliver.

    Like an alert group, the message is due work while ``version`` is above ``posted_version``,
    claimed with a lease (``sync_claimed_until``, which also holds Slack's ``Retry-After``). At most
    one storm per channel is open (``ended_at`` unset), also with several replicas: a unique index."""

    __tablename__ = "alert_storms"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(128))
    started_at: Mapped[datetime]
    last_added_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    slack_channel_id: Mapped[str | None] = mapped_column(String(32))
    slack_ts: Mapped[str | None] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(default=1)
    posted_version: Mapped[int] = mapped_column(default=0)
    sync_attempts: Mapped[int] = mapped_column(default=0)
    sync_claimed_until: Mapped[datetime | None]
    sync_error: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("uq_alert_storms_open_channel", "channel", unique=True, sqlite_where=STORM_OPEN,
              postgresql_where=STORM_OPEN),
    )


class ChannelPause(Base):
    """Slack is rate limiting this channel until ``until``. Slack's limit is per app and channel, so
    every replica waits it out and folds new alerts into the storm, not only the one Slack refused."""

    __tablename__ = "slack_channel_pauses"

    channel: Mapped[str] = mapped_column(String(128), primary_key=True)
    until: Mapped[datetime]


class Alert(Base):
    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("alert_groups.id"), index=True)
    integration: Mapped[str] = mapped_column(String(64))
    fingerprint: Mapped[str] = mapped_column(String(512))
    status: Mapped[AlertStatus] = mapped_column(EnumString(AlertStatus, 16), default=AlertStatus.FIRING)
    title: Mapped[str] = mapped_column(String(300))
    severity: Mapped[Severity] = mapped_column(EnumString(Severity, 16))
    description: Mapped[str] = mapped_column(Text, default="")
    service: Mapped[str | None] = mapped_column(String(200))
    labels: Mapped[dict[str, Any]] = mapped_column(default=dict)
    annotations: Mapped[dict[str, Any]] = mapped_column(default=dict)
    links: Mapped[list[Any]] = mapped_column(default=list)
    source_url: Mapped[str | None] = mapped_column(Text)
    runbook_url: Mapped[str | None] = mapped_column(Text)
    dashboard_url: Mapped[str | None] = mapped_column(Text)
    metric: Mapped[str | None] = mapped_column(String(300))
    threshold: Mapped[str | None] = mapped_column(String(100))
    value: Mapped[str | None] = mapped_column(String(100))
    starts_at: Mapped[datetime]
    received_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    count: Mapped[int] = mapped_column(default=1)

    group: Mapped[AlertGroup] = relationship(back_populates="alerts")

    __table_args__ = (
        Index("uq_alerts_open_fingerprint", "integration", "fingerprint", unique=True,
              sqlite_where=OPEN, postgresql_where=OPEN),
        Index("ix_alerts_received", "received_at"),
    )


class AlertEvent(Base):
    """One thing that happened to an alert group, with who did it and how."""

    __tablename__ = "alert_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("alert_groups.id"))
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"))
    at: Mapped[datetime]
    kind: Mapped[EventKind] = mapped_column(EnumString(EventKind, 32))
    actor: Mapped[str | None] = mapped_column(String(128))
    via: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)  # the kind's model, see details()

    group: Mapped[AlertGroup] = relationship()
    alert: Mapped[Alert | None] = relationship()

    @classmethod
    def of(cls, group: AlertGroup, detail: AnyEventDetail, at: datetime, *, actor: str | None = None,
           via: str | None = None, alert: Alert | None = None) -> AlertEvent:
        """A new event; its kind is the detail's."""
        return cls(group=group, alert=alert, at=at, kind=detail.KIND, actor=actor, via=via, detail=detail.stored())

    def details(self) -> AnyEventDetail:
        """The detail as its kind's model, validated (``pydantic.ValidationError`` if it is not one)."""
        return parse_detail(self.kind, self.detail)

    __table_args__ = (
        Index("ix_alert_events_group_at", "group_id", "at"),
        Index("ix_alert_events_kind_at", "kind", "at"),
    )


class Silence(Base):
    """Matchers that keep alerts quiet (stored, not notified) until ``ends_at``."""

    __tablename__ = "silences"

    id: Mapped[int] = mapped_column(primary_key=True)
    matchers: Mapped[dict[str, Any]]
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text, default="")
    ended_early_at: Mapped[datetime | None]
    ended_by: Mapped[str | None] = mapped_column(String(128))
