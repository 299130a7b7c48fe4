"""The incident timeline: recording entries, and reading it back merged with the alerts' history.

Entries are written in the same transaction as the change they describe, and each one that
people should see in the channel gets an outbox intent (``incident_entry``) in that transaction,
so a crash can neither lose the post nor make it twice. Reading merges the linked alert groups'
:class:`~bot.alerts.models.AlertEvent` rows (acknowledgements, pages, escalations — recorded by
the alert and escalation code, which knows nothing of incidents) in time order.

Text is rendered by :func:`describe` with two functions supplied by the caller — how to show a
person and how to quote text people typed — so Slack (``<@U123>``, escaped) and the Markdown
post-mortem (display names) share one wording.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import assert_never

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.alerts.events import (
    Acknowledged,
    AckTimedOut,
    AlertResolved,
    Escalated,
    EventKind,
    NotEscalated,
    Paged,
    PageFailed,
    PageSkipped,
    Received,
    Reopened,
    Repeated,
    Resolved,
    Silenced,
    SilencedSimilar,
    Snoozed,
    Unacknowledged,
)
from bot.alerts.models import AlertEvent, AlertGroup
from bot.incidents.entries import (
    ActionAdded,
    AlertLinked,
    AnyEntryDetail,
    ChecklistTicked,
    Declared,
    IncidentResolved,
    Note,
    Pinned,
    PostmortemDone,
    RoleAssigned,
    SeverityChanged,
    StatusUpdate,
)
from bot.incidents.models import Incident, IncidentAlert, TimelineEntry
from bot.outbox import IncidentEntryPost, OutboxKind, enqueue

ENTRY_OUTBOX_KIND = OutboxKind.INCIDENT_ENTRY
MAX_TEXT = 3000  # what a person typed or pinned, as kept on the timeline

# Alert history worth reading in an incident's timeline, and the kind it shows as.
ALERT_EVENT_KINDS: dict[EventKind, str] = {
    EventKind.RECEIVED: "alert", EventKind.ACKNOWLEDGED: "ack", EventKind.UNACKNOWLEDGED: "ack",
    EventKind.RESOLVED: "alert resolved", EventKind.ALERT_RESOLVED: "alert resolved", EventKind.PAGED: "page",
    EventKind.ESCALATED: "escalation", EventKind.PAGE_FAILED: "page", EventKind.SNOOZED: "alert",
    EventKind.SILENCED_SIMILAR: "alert", EventKind.ACK_TIMED_OUT: "ack",
}

Person = Callable[[str], str]
Quote = Callable[[str], str]


@dataclass(frozen=True)
class TimelineRow:
    """One line of the merged timeline, already worded; ``actor`` is a Slack ID, a source name or
    None for Watchstander itself."""

    at: datetime
    kind: str
    actor: str | None
    text: str
    permalink: str | None = None


async def record(session: AsyncSession, incident: Incident, detail: AnyEntryDetail, *, at: datetime,
                 actor: str | None, text: str = "", permalink: str | None = None, source_channel: str | None = None,
                 source_ts: str | None = None, post: bool = True) -> TimelineEntry:
    """Append an entry (its kind is the detail's); ``post`` also queues its message in the incident channel."""
    entry = TimelineEntry(incident_id=incident.id, at=at, kind=detail.KIND, actor=actor, text=text[:MAX_TEXT],
                          detail=detail.stored(), permalink=permalink, source_channel=source_channel,
                          source_ts=source_ts)
    session.add(entry)
    await session.flush()
    if post:
        await enqueue(session, key=f"incident-entry:{entry.id}", kind=ENTRY_OUTBOX_KIND,
                      payload=IncidentEntryPost(incident_id=incident.id, entry_id=entry.id), now=at)
    return entry


# --- messages people pin or mark with 📌 -----------------------------------------------------------


async def record_message(session: AsyncSession, incident: Incident, *, channel: str, ts: str, author: str | None,
                         text: str, permalink: str | None, actor: str, how: str,
                         now: datetime) -> TimelineEntry | None:
    """A pinned or 📌-marked message joins the timeline once; None if it is already there."""
    existing = await session.scalar(select(TimelineEntry.id).where(TimelineEntry.incident_id == incident.id,
                                                                   TimelineEntry.source_ts == ts))
    if existing is not None:
        return None
    return await record(session, incident, Pinned(author=author, how=how, message_ts=ts), at=now, actor=actor,
                        text=text, permalink=permalink, source_channel=channel, source_ts=ts, post=False)


async def message_edited(session: AsyncSession, *, channel: str, ts: str, text: str) -> int:
    """Someone edited a message on a timeline: the entry shows the new text. Returns entries changed."""
    result = await session.execute(
        update(TimelineEntry).where(TimelineEntry.source_channel == channel, TimelineEntry.source_ts == ts)
        .values(text=text[:MAX_TEXT]).execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def message_deleted(session: AsyncSession, *, channel: str, ts: str) -> int:
    """Someone deleted a message on a timeline: its entry goes too (it may have been pasted by mistake)."""
    result = await session.execute(
        delete(TimelineEntry).where(TimelineEntry.source_channel == channel, TimelineEntry.source_ts == ts)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


# --- reading ---------------------------------------------------------------------------------------


def describe(entry: TimelineEntry, person: Person, quote: Quote) -> str:
    """The entry in words, e.g. ``Severity SEV2 → SEV1`` or ``Carol is now comms (was Bob)``."""
    match entry.details():
        case Declared(severity=severity):
            return f"Declared {severity}: {quote(entry.text)}"
        case SeverityChanged(previous=previous, to=to):
            return f"Severity {previous} → {to}"
        case RoleAssigned(role=role, person=who, previous=previous):
            was = f" (was {person(previous)})" if previous else ""
            return f"{person(who)} is now {role}{was}"
        case StatusUpdate(status=status, public=public):
            state = f"{status.capitalize()} — " if status else ""
            published = " (published on the status page)" if public else ""
            return f"Status update{published}: {state}{quote(entry.text)}"
        case Note():
            return f"Note: {quote(entry.text)}"
        case ActionAdded(owner=owner):
            shown = f" (owner: {person(owner)})" if owner else ""
            return f"Follow-up: {quote(entry.text)}{shown}"
        case AlertLinked(severity=severity):
            return f"Linked alert: {quote(entry.text)} ({severity})"
        case Pinned(how=how, author=author):
            said = "Marked with 📌" if how == "pushpin" else "Pinned"
            by = f" from {person(author)}" if author else ""
            return f"{said}: message{by}: {quote(entry.text)}"
        case ChecklistTicked(group=group, step=step, done=done):
            state = "Done" if done else "Not done any more"
            return f"{state}: {group.capitalize()} step {step} — {quote(entry.text)}"
        case IncidentResolved():
            return f"Resolved: {quote(entry.text)}" if entry.text else "Resolved"
        case PostmortemDone():
            return "Post-mortem marked done"
        case never:
            assert_never(never)


def describe_alert_event(event: AlertEvent, title: str, person: Person, quote: Quote) -> str:
    """An alert's event in an incident's timeline (the kinds in :data:`ALERT_EVENT_KINDS`)."""
    match event.details():
        case Received():
            return f"Alert fired: {quote(title)}"
        case Acknowledged():
            return f"Acknowledged alert {quote(title)}"
        case Unacknowledged():
            return f"Took back the acknowledgement of {quote(title)}"
        case Resolved() | AlertResolved():
            return f"Alert resolved: {quote(title)}"
        case Paged(step=step):
            who = person(event.actor) if event.actor else "someone"
            how = {"sms": "SMS", "email": "email", "call": "phone call", "channel": "a channel post"}.get(event.via or "", "Slack")
            return f"Paged {who} by {how}{_step(step)} for {quote(title)}"
        case Escalated(step=step):
            return f"Escalated {quote(title)}{_step(step)}"
        case PageFailed(error=error):
            who = person(event.actor) if event.actor else "someone"
            why = f": {quote(error)}" if error else ""
            return f"Page to {who} failed{why} ({quote(title)})"
        case Snoozed():
            return f"Snoozed alert {quote(title)}"
        case AckTimedOut():
            return f"Acknowledged and not resolved in time; firing again: {quote(title)}"
        case SilencedSimilar() | Repeated() | Silenced() | Reopened() | PageSkipped() | NotEscalated():
            return f"{event.kind.replace('_', ' ').capitalize()}: {quote(title)}"
        case never:
            assert_never(never)


def _step(step: int | None) -> str:
    return f" (step {step})" if step else ""


async def linked_groups(session: AsyncSession, incident_id: int) -> list[AlertGroup]:
    rows = await session.scalars(
        select(AlertGroup).join(IncidentAlert, IncidentAlert.group_id == AlertGroup.id)
        .where(IncidentAlert.incident_id == incident_id).order_by(AlertGroup.created_at, AlertGroup.id)
    )
    return list(rows)


async def alert_events(session: AsyncSession, group_ids: list[int],
                       kinds: frozenset[EventKind] | None = None) -> list[AlertEvent]:
    if not group_ids:
        return []
    wanted = kinds if kinds is not None else frozenset(ALERT_EVENT_KINDS)
    rows = await session.scalars(select(AlertEvent).where(AlertEvent.group_id.in_(group_ids),
                                                          AlertEvent.kind.in_(sorted(wanted)))
                                 .order_by(AlertEvent.at, AlertEvent.id))
    return list(rows)


async def timeline_rows(session: AsyncSession, incident: Incident, *, person: Person,
                        quote: Quote) -> list[TimelineRow]:
    """Every entry and every linked alert event, oldest first (ties: alerts first, then entries
    in the order they were recorded)."""
    entries = await session.scalars(select(TimelineEntry).where(TimelineEntry.incident_id == incident.id)
                                    .order_by(TimelineEntry.at, TimelineEntry.id))
    groups = {g.id: g for g in await linked_groups(session, incident.id)}
    keyed: list[tuple[datetime, int, int, TimelineRow]] = []
    for event in await alert_events(session, list(groups)):
        text = describe_alert_event(event, groups[event.group_id].title, person, quote)
        # A page's actor is the person paged; Watchstander is who did it.
        actor = None if event.kind in (EventKind.PAGED, EventKind.PAGE_FAILED) else event.actor
        row = TimelineRow(at=event.at, kind=ALERT_EVENT_KINDS.get(event.kind, "alert"), actor=actor, text=text)
        keyed.append((event.at, 0, event.id, row))
    for entry in entries:
        row = TimelineRow(at=entry.at, kind=entry.kind, actor=entry.actor, text=describe(entry, person, quote),
                          permalink=entry.permalink)
        keyed.append((entry.at, 1, entry.id, row))
    keyed.sort(key=lambda k: k[:3])
    return [row for *_, row in keyed]
