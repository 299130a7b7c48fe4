"""Durable intents to notify someone, written in the same transaction as the change they report.

A dispatcher (``bot.notify.dispatch``) sends them. ``key`` makes an intent unique, so a retried
transaction or a second replica cannot create the same notification twice.

Every row ends either sent (``sent_at``) or failed after its attempts (``failed_at``, with
``last_error``); the dispatcher refuses to start unless every :class:`OutboxKind` has a handler.

Each kind's payload has a model below (:func:`payload_type` says which): :func:`enqueue` takes the
model and refuses one of another kind, and a handler reads its row back with ``Model.of(row)``,
which validates it. A new kind without a payload model is a type error (``payload_type`` ends in
``assert_never``).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any, Self, assert_never

from pydantic import BaseModel, ConfigDict
from sqlalchemy import ForeignKey, Index, String, Text, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, EnumString


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
    PAGE_EMAIL = "page_email"                      # a page by email
    PAGE_CALL = "page_call"                        # a page by phone call (Twilio voice)
    CALL_CANCEL = "call_cancel"                    # stop a page's call still ringing: its alert was settled
    ALERT_EMAIL = "alert_email"                    # an alert's copy by email (no page), or its resolved follow-up
    DIGEST_EMAIL = "digest_email"                  # the weekly summary or the daily digest by email
    HANDLE_SYNC = "handle_sync"                    # make a team's Slack user group hold its on-call
    PAGE_GROUP = "page_group"                      # a page to a Slack user group: its mention in the thread

    @classmethod
    def page(cls, via: str) -> OutboxKind:
        """The kind of a page sent by ``via`` (``slack``, ``sms``, ``call``, ``channel``, ``email`` or ``group``)."""
        return cls(f"page_{via}")


class OutboxMessage(Base):
    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    # A row of a kind this version does not know (a newer replica's) cannot be loaded as an object;
    # the dispatcher reads such a row's columns and fails it visibly (see bot.notify.outbox_sender).
    kind: Mapped[OutboxKind] = mapped_column(EnumString(OutboxKind, 32))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("alert_groups.id"))
    payload: Mapped[dict[str, Any]]  # the kind's payload model, see payload_type()
    created_at: Mapped[datetime]
    due_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)

    __table_args__ = (Index("ix_outbox_pending", "sent_at", "failed_at", "due_at"),)


class KnownChannel(Base):
    """A channel name the config uses, with the id Slack answered a post to it with.

    Looking a post up again (``conversations.history``) takes the channel's id, and the config may
    name channels by name; the bot learns each id from its own posts rather than listing channels.
    """

    __tablename__ = "known_channels"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(32))
    learned_at: Mapped[datetime]


# --- payloads ------------------------------------------------------------------------------------


class OutboxPayload(BaseModel):
    """What one kind of row carries. Fields the producer did not set are not stored."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    def stored(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_unset=True)

    @classmethod
    def of(cls, item: OutboxMessage) -> Self:
        """The row's payload as this model, validated (``pydantic.ValidationError`` if it is not one)."""
        if payload_type(item.kind) is not cls:
            raise ValueError(f"an outbox row of kind {item.kind} carries no {cls.__name__}")
        return cls.model_validate(item.payload)


class ThreadReply(OutboxPayload):
    """``alert_thread``: the reply for one alert event (``bot.alerts.events``)."""

    event_id: int


class SlackContent(OutboxPayload):
    """``text`` is required (notifications and screen readers use it); ``blocks`` are optional;
    ``what`` labels the notification in the metrics."""

    text: str
    blocks: list[dict[str, Any]] | None = None
    what: str | None = None


class ChannelPost(SlackContent):
    """``channel_post``: a channel by name or id, optionally in a thread."""

    channel: str
    thread_ts: str | None = None


class DirectMessage(SlackContent):
    """``dm``: a direct message to a Slack user id."""

    user: str


class Chart(BaseModel):
    """What a chart of alerts per day shows (``bot.reports.chart`` draws it)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    days: list[tuple[date, dict[str, int]]]  # alerts per severity, per local day
    title: str
    zone: str
    filename: str
    first_from: str | None = None  # the first day is covered from this local time on
    last_until: str | None = None  # the last day up to this local time


class SummaryChart(Chart, OutboxPayload):
    """``summary_chart``: the chart of a weekly summary, in the thread of the post with ``post_key``."""

    post_key: str


class IncidentRef(OutboxPayload):
    """``incident_setup``, ``incident_nudge``, ``incident_postmortem_reminder``: the incident."""

    incident_id: int


class IncidentEntryPost(OutboxPayload):
    """``incident_entry``: one timeline entry of an incident."""

    incident_id: int
    entry_id: int


class PostmortemDraft(OutboxPayload):
    """``incident_postmortem``: the draft, asked for by a person (or None: on resolve)."""

    incident_id: int
    requested_by: str | None = None


class PageSend(OutboxPayload):
    """``page_slack``, ``page_sms``, ``page_channel``, ``page_email``…: the page row to send; for
    ``call_cancel``, the page whose ringing call to stop."""

    page_id: int


class AlertEmail(OutboxPayload):
    """``alert_email``: one email of an alert's email thread (``bot.alerts.emails``)."""

    thread_id: int
    part: str  # EmailPart: "alert" (a route's copy) or "resolved" (the follow-up)
    event_id: int | None = None  # the follow-up's Resolved event: its Message-ID is built from it


class DigestEmail(OutboxPayload):
    """``digest_email``: a summary by email, rendered when queued; the chart drawn when sent."""

    to: list[str]
    subject: str
    text: str
    html: str
    chart: Chart | None = None  # the weekly summary's day counts, inline as a PNG


class HandleSync(OutboxPayload):
    """``handle_sync``: the team whose user group (``handle``) to bring up to date; the members are
    read when the row is sent (``bot.oncall.handle``)."""

    team: str
    handle: str


def payload_type(kind: OutboxKind) -> type[OutboxPayload]:
    match kind:
        case OutboxKind.ALERT_THREAD:
            return ThreadReply
        case OutboxKind.CHANNEL_POST:
            return ChannelPost
        case OutboxKind.DM:
            return DirectMessage
        case OutboxKind.SUMMARY_CHART:
            return SummaryChart
        case OutboxKind.INCIDENT_SETUP | OutboxKind.INCIDENT_NUDGE | OutboxKind.INCIDENT_POSTMORTEM_REMINDER:
            return IncidentRef
        case OutboxKind.INCIDENT_ENTRY:
            return IncidentEntryPost
        case OutboxKind.INCIDENT_POSTMORTEM:
            return PostmortemDraft
        case (OutboxKind.PAGE_SLACK | OutboxKind.PAGE_SMS | OutboxKind.PAGE_CHANNEL | OutboxKind.PAGE_EMAIL
              | OutboxKind.PAGE_GROUP | OutboxKind.PAGE_CALL | OutboxKind.CALL_CANCEL):
            return PageSend
        case OutboxKind.ALERT_EMAIL:
            return AlertEmail
        case OutboxKind.DIGEST_EMAIL:
            return DigestEmail
        case OutboxKind.HANDLE_SYNC:
            return HandleSync
        case never:
            assert_never(never)


def outbox_row(*, key: str, kind: OutboxKind, payload: OutboxPayload, now: datetime, group_id: int | None = None,
               due_at: datetime | None = None) -> OutboxMessage:
    """A new row; refuses a payload of another kind's model."""
    if type(payload) is not payload_type(kind):
        raise TypeError(f"an outbox row of kind {kind} carries a {payload_type(kind).__name__}, "
                        f"not a {type(payload).__name__}")
    return OutboxMessage(key=key, kind=kind, payload=payload.stored(), group_id=group_id, created_at=now,
                         due_at=due_at or now)


async def enqueue(session: AsyncSession, *, key: str, kind: OutboxKind, payload: OutboxPayload, now: datetime,
                  group_id: int | None = None, due_at: datetime | None = None) -> OutboxMessage | None:
    """Add an intent unless one with this key exists. Returns the new row, or None if it existed."""
    existing = await session.scalar(select(OutboxMessage.id).where(OutboxMessage.key == key))
    if existing is not None:
        return None
    msg = outbox_row(key=key, kind=kind, payload=payload, now=now, group_id=group_id, due_at=due_at)
    session.add(msg)
    return msg
