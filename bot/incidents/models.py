"""Stored incidents.

An :class:`Incident` is one declared incident and the Slack objects that belong to it (its
channel, pinned header, announcement). Everything that happens during it is a
:class:`TimelineEntry` — written in the same transaction as the change, with the actor and the full
timestamp, so the post-mortem is a query rather than someone's memory. Severity history is the
``declared`` and ``severity`` entries; role history the ``role`` entries.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, EnumString
from bot.incidents.entries import AnyEntryDetail, EntryKind, parse_entry_detail


class Incident(Base):
    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    severity: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default="investigating")
    summary: Mapped[str] = mapped_column(Text, default="")
    affected_service: Mapped[str | None] = mapped_column(String(200))
    team: Mapped[str | None] = mapped_column(String(64))
    commander: Mapped[str] = mapped_column(String(32))
    reporter: Mapped[str] = mapped_column(String(32))
    playbook: Mapped[str | None] = mapped_column(String(64))
    origin_channel_id: Mapped[str | None] = mapped_column(String(32))  # where it was declared from
    channel_name: Mapped[str] = mapped_column(String(80))  # wanted; Slack may make it -2, -3…
    channel_id: Mapped[str | None] = mapped_column(String(32))
    header_ts: Mapped[str | None] = mapped_column(String(32))
    announcement_channel_id: Mapped[str | None] = mapped_column(String(32))
    announcement_ts: Mapped[str | None] = mapped_column(String(32))
    # Progress of the channel set-up and where the checklist messages are, so a retried set-up
    # resumes instead of inviting, bookmarking or posting twice.
    slack_state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    declared_at: Mapped[datetime]
    detected_at: Mapped[datetime | None]  # first linked alert received, else the declaration
    acknowledged_at: Mapped[datetime | None]  # snapshot at resolve; live value is computed
    mitigated_at: Mapped[datetime | None]  # first status update that said monitoring / mitigated
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(32))
    last_status_at: Mapped[datetime | None]
    last_nudge_at: Mapped[datetime | None]
    postmortem_done_at: Mapped[datetime | None]
    postmortem_done_by: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (
        Index("ix_incidents_status", "status"),
        Index("uq_incidents_channel", "channel_id", unique=True),
    )

    @property
    def is_resolved(self) -> bool:
        return self.resolved_at is not None


class IncidentRole(Base):
    """Who holds a role other than commander (comms, scribe); the commander is on the incident."""

    __tablename__ = "incident_roles"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    role: Mapped[str] = mapped_column(String(32))
    person: Mapped[str] = mapped_column(String(32))
    assigned_at: Mapped[datetime]
    assigned_by: Mapped[str] = mapped_column(String(32))

    __table_args__ = (Index("uq_incident_roles_role", "incident_id", "role", unique=True),)


class TimelineEntry(Base):
    """One dated thing that happened in an incident.

    ``text`` is what a person typed or pinned (status text, note, pinned message); ``detail``
    holds the structured part (``{"from": "SEV2", "to": "SEV1"}``). A pinned or 📌-marked message
    keeps ``source_channel``/``source_ts`` so edits and deletes of that message reach its entry;
    one message makes at most one entry however often it is pinned or marked.
    """

    __tablename__ = "incident_timeline"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    at: Mapped[datetime]
    kind: Mapped[EntryKind] = mapped_column(EnumString(EntryKind, 32))
    actor: Mapped[str | None] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text, default="")
    permalink: Mapped[str | None] = mapped_column(Text)
    source_channel: Mapped[str | None] = mapped_column(String(32))
    source_ts: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)

    def details(self) -> AnyEntryDetail:
        """The detail as its kind's model, validated (``pydantic.ValidationError`` if it is not one)."""
        return parse_entry_detail(self.kind, self.detail)

    __table_args__ = (
        Index("ix_incident_timeline_incident_at", "incident_id", "at"),
        Index("uq_incident_timeline_source", "incident_id", "source_ts", unique=True),
        Index("ix_incident_timeline_message", "source_channel", "source_ts"),
    )


class ActionItem(Base):
    """A follow-up (``/incident action``) that goes into the post-mortem."""

    __tablename__ = "incident_action_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(32))
    done_at: Mapped[datetime | None]


class IncidentAlert(Base):
    """An alert group linked to an incident: its events join the incident's timeline."""

    __tablename__ = "incident_alerts"

    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("alert_groups.id"), primary_key=True)
    linked_at: Mapped[datetime]
    linked_by: Mapped[str] = mapped_column(String(128))

    __table_args__ = (Index("ix_incident_alerts_group", "group_id"),)


class ChecklistTick(Base):
    """The current state of one playbook step in one incident; each change is also a timeline entry."""

    __tablename__ = "incident_checklist"

    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    item_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    done: Mapped[bool]
    changed_at: Mapped[datetime]
    changed_by: Mapped[str] = mapped_column(String(32))
