"""Status-update nudges and the post-mortem reminder, as durable outbox rows with a due time.

A reminder is an :class:`~bot.outbox.OutboxMessage` whose key names the incident and the moment
it is due, so a restart neither loses nor repeats it and two schedulings of the same moment are
one row. When a nudge comes due it is checked against the incident as it is *then*: an update
posted meanwhile, or a nudge sent by an earlier row, moves it to later instead of sending it, so
at most one nudge goes out per ``update_every`` however often the severity changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.incidents.models import Incident
from bot.outbox import IncidentRef, OutboxKind, enqueue

NUDGE_KIND = OutboxKind.INCIDENT_NUDGE
POSTMORTEM_REMINDER_KIND = OutboxKind.INCIDENT_POSTMORTEM_REMINDER
POSTMORTEM_REMINDER_AFTER = timedelta(hours=24)


def nudge_due(incident: Incident, update_every: timedelta) -> datetime:
    """When the next status update is expected: ``update_every`` after the last update, nudge or
    the declaration, whichever was last."""
    times = (incident.declared_at, incident.last_status_at, incident.last_nudge_at)
    last = max(t for t in times if t is not None)
    return last + update_every


async def schedule_nudge(session: AsyncSession, incident: Incident, *, update_every: timedelta,
                         now: datetime) -> datetime:
    due = nudge_due(incident, update_every)
    await enqueue(session, key=f"incident-nudge:{incident.id}:{due.isoformat()}", kind=NUDGE_KIND,
                  payload=IncidentRef(incident_id=incident.id), now=now, due_at=due)
    return due


@dataclass(frozen=True)
class NudgeDecision:
    send: bool
    later: datetime | None = None  # when to look again, if not now


def decide_nudge(incident: Incident | None, *, update_every: timedelta, now: datetime) -> NudgeDecision:
    if incident is None or incident.is_resolved:
        return NudgeDecision(send=False)
    due = nudge_due(incident, update_every)
    if now < due:
        return NudgeDecision(send=False, later=due)
    return NudgeDecision(send=True)


async def nudge_sent(session: AsyncSession, incident: Incident, *, update_every: timedelta,
                     now: datetime) -> None:
    """Record the nudge and schedule the next, should the silence go on."""
    incident.last_nudge_at = now
    await schedule_nudge(session, incident, update_every=update_every, now=now)


async def schedule_postmortem_reminder(session: AsyncSession, incident: Incident, *, now: datetime) -> None:
    await enqueue(session, key=f"incident-postmortem-reminder:{incident.id}", kind=POSTMORTEM_REMINDER_KIND,
                  payload=IncidentRef(incident_id=incident.id), now=now,
                  due_at=now + POSTMORTEM_REMINDER_AFTER)


def postmortem_reminder_wanted(incident: Incident | None) -> bool:
    return incident is not None and incident.is_resolved and incident.postmortem_done_at is None
