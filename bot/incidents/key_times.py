"""The numbers and the record of an incident, read from the database: key times, durations, and the
post-mortem context the template renders.

Time to detect runs from the impact's start (the earliest linked alert's ``startsAt``) to
detection (the first linked alert reaching Watchstander, or the declaration); acknowledge,
mitigate and resolve run from detection. Acknowledged is the first acknowledgement of a linked
alert, or the declaration when that came first (declaring is acting on it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.alerts.events import EventKind, Paged, detail_as
from bot.alerts.models import Alert, AlertEvent
from bot.incidents.entries import Declared, EntryKind, SeverityChanged
from bot.incidents.lifecycle import action_items, roles_of
from bot.incidents.models import Incident, IncidentAlert, TimelineEntry
from bot.incidents.postmortem_context import (
    ActionItem,
    Durations,
    ImpactWindow,
    IncidentFacts,
    LinkedAlert,
    PersonPaged,
    PostmortemContext,
    RoleAssignment,
    SeverityChange,
    TimelineItem,
    elapsed,
)
from bot.incidents.timeline import alert_events, linked_groups, timeline_rows

BOT_NAME = "Watchstander"


@dataclass(frozen=True)
class KeyTimes:
    impact_start: datetime | None
    detected_at: datetime | None
    acknowledged_at: datetime | None
    mitigated_at: datetime | None
    resolved_at: datetime | None

    @property
    def durations(self) -> Durations:
        return Durations.measure(impact_start=self.impact_start, detected_at=self.detected_at,
                                 acknowledged_at=self.acknowledged_at, mitigated_at=self.mitigated_at,
                                 resolved_at=self.resolved_at)


async def first_acknowledgement(session: AsyncSession, incident_id: int) -> datetime | None:
    at: datetime | None = await session.scalar(
        select(func.min(AlertEvent.at)).join(IncidentAlert, IncidentAlert.group_id == AlertEvent.group_id)
        .where(IncidentAlert.incident_id == incident_id, AlertEvent.kind == EventKind.ACKNOWLEDGED)
    )
    return at


async def key_times(session: AsyncSession, incident: Incident) -> KeyTimes:
    impact_start: datetime | None = await session.scalar(
        select(func.min(Alert.starts_at)).join(IncidentAlert, IncidentAlert.group_id == Alert.group_id)
        .where(IncidentAlert.incident_id == incident.id)
    )
    acked = incident.acknowledged_at
    if acked is None:
        first = await first_acknowledgement(session, incident.id)
        acked = min(t for t in (first, incident.declared_at) if t is not None)
    detected = incident.detected_at or incident.declared_at
    return KeyTimes(impact_start=impact_start, detected_at=detected, acknowledged_at=acked,
                    mitigated_at=incident.mitigated_at, resolved_at=incident.resolved_at)


def _name(names: Mapping[str, str], who: str | None) -> str:
    return BOT_NAME if not who else names.get(who, who)


def _severity_change(entry: TimelineEntry, names: Mapping[str, str]) -> SeverityChange:
    """A ``declared`` entry sets the first severity, a ``severity`` entry changes it."""
    match entry.details():
        case SeverityChanged(previous=previous, to=to):
            return SeverityChange(at=entry.at, from_severity=previous, to_severity=to, by=_name(names, entry.actor))
        case Declared(severity=severity):
            return SeverityChange(at=entry.at, from_severity=None, to_severity=severity, by=_name(names, entry.actor))
    raise ValueError(f"a {entry.kind} entry changes no severity")


async def people_paged(session: AsyncSession, incident_id: int,
                       names: Mapping[str, str]) -> tuple[PersonPaged, ...]:
    groups = {g.id: g for g in await linked_groups(session, incident_id)}
    pages = []
    for event in await alert_events(session, list(groups), frozenset({EventKind.PAGED})):
        how: Literal["slack", "sms", "call"] = ("sms" if event.via == "sms" else "call" if event.via == "call"
                                                else "slack")
        paged = detail_as(Paged, event.kind, event.detail)
        pages.append(PersonPaged(who=_name(names, event.actor), how=how, at=event.at,
                                 step=paged.step, alert=groups[event.group_id].title))
    return tuple(pages)


async def postmortem_context(session: AsyncSession, incident: Incident, *, names: Mapping[str, str],
                             timezone: str, now: datetime) -> PostmortemContext:
    """Everything the post-mortem template shows, from the database as it is now."""
    times = await key_times(session, incident)
    history = await session.scalars(
        select(TimelineEntry).where(TimelineEntry.incident_id == incident.id,
                                    TimelineEntry.kind.in_([EntryKind.DECLARED, EntryKind.SEVERITY]))
        .order_by(TimelineEntry.at, TimelineEntry.id)
    )
    severity_history = tuple(_severity_change(e, names) for e in history)
    roles = tuple(RoleAssignment(role=r.role, person=_name(names, r.person))
                  for r in await roles_of(session, incident.id))
    groups = await linked_groups(session, incident.id)
    links = incident.slack_state.get("alert_links", {})
    alerts = []
    services = []
    for group in groups:
        lead = await session.scalar(select(Alert).where(Alert.group_id == group.id).order_by(Alert.id).limit(1))
        service = lead.service if lead else None
        if service and service not in services:
            services.append(service)
        alerts.append(LinkedAlert(
            title=group.title, severity=group.severity, service=service,
            started_at=lead.starts_at if lead else group.created_at,
            acknowledged_by=_name(names, group.acknowledged_by) if group.acknowledged_by else None,
            acknowledged_at=group.acknowledged_at, resolved_at=group.resolved_at,
            link=links.get(str(group.id)) or (lead.source_url if lead else None),
        ))
    if incident.affected_service and incident.affected_service not in services:
        services.insert(0, incident.affected_service)
    impact_start = times.impact_start or times.detected_at  # without alerts: from the declaration
    impact_end = incident.mitigated_at or incident.resolved_at
    rows = await timeline_rows(session, incident, person=lambda u: _name(names, u), quote=lambda t: t)
    return PostmortemContext(
        incident=IncidentFacts(
            id=incident.id, title=incident.title, severity=incident.severity, status=incident.status,
            channel=incident.channel_name, declared_at=incident.declared_at,
            commander=_name(names, incident.commander), severity_history=severity_history, roles=roles,
            detected_at=times.detected_at, acknowledged_at=times.acknowledged_at,
            mitigated_at=times.mitigated_at, resolved_at=times.resolved_at, summary=incident.summary,
            affected_service=incident.affected_service,
        ),
        impact=ImpactWindow(start=impact_start, end=impact_end, duration=elapsed(impact_start, impact_end),
                            services=tuple(services)),
        durations=times.durations,
        timezone=timezone,
        people_paged=await people_paged(session, incident.id, names),
        timeline=tuple(TimelineItem(at=r.at, kind=r.kind, actor=_name(names, r.actor), text=r.text,
                                    permalink=r.permalink) for r in rows),
        alerts=tuple(alerts),
        action_items=tuple(ActionItem(text=a.text, owner=_name(names, a.owner) if a.owner else None,
                                      done=a.done_at is not None)
                           for a in await action_items(session, incident.id)),
        generated_at=now,
    )


async def people_mentioned(session: AsyncSession, incident: Incident) -> set[str]:
    """Slack IDs the post-mortem will name, so the caller can look up those it has no name for."""
    ids = {incident.commander, incident.reporter}
    ids |= {r.person for r in await roles_of(session, incident.id)}
    ids |= {a.owner for a in await action_items(session, incident.id) if a.owner}
    for entry in await session.scalars(select(TimelineEntry).where(TimelineEntry.incident_id == incident.id)):
        if entry.actor:
            ids.add(entry.actor)
        ids |= entry.details().people()
    groups = [g.id for g in await linked_groups(session, incident.id)]
    ids |= {e.actor for e in await alert_events(session, groups) if e.actor}
    return ids
