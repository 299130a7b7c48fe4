"""What people do to an incident: declare it, change its severity, hand out roles, post updates,
note things, add follow-ups, link alerts, resolve it and close its post-mortem.

Each function takes the session and keyword arguments, changes the rows, appends a dated
:class:`~bot.incidents.models.TimelineEntry` with the actor, and queues what Slack must show in the
same transaction. Refusals are :class:`IncidentError` subclasses whose message is written for the
person who asked; a refused call changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.alerts.models import Alert, AlertGroup
from bot.incidents.entries import (
    ActionAdded,
    AlertLinked,
    ChecklistTicked,
    Declared,
    DeclaredFrom,
    IncidentResolved,
    Note,
    PostmortemDone,
    RoleAssigned,
    SeverityChanged,
    StatusUpdate,
)
from bot.incidents.models import (
    ActionItem,
    ChecklistTick,
    Incident,
    IncidentAlert,
    IncidentRole,
    TimelineEntry,
)
from bot.incidents.naming import channel_name
from bot.incidents.playbooks import ChecklistItem, Playbook, match_playbook
from bot.incidents.policy import MITIGATED, IncidentPolicy, UnknownSeverity
from bot.incidents.reminders import schedule_nudge, schedule_postmortem_reminder
from bot.incidents.timeline import record
from bot.outbox import IncidentRef, OutboxKind, PostmortemDraft, enqueue

SETUP_OUTBOX_KIND = OutboxKind.INCIDENT_SETUP
POSTMORTEM_OUTBOX_KIND = OutboxKind.INCIDENT_POSTMORTEM
MAX_TITLE = 300


class IncidentError(Exception):
    """A refusal; the message is shown to the person as is."""


class IncidentNotFound(IncidentError):
    pass


class BadIncidentInput(IncidentError):
    pass


class NothingToDo(IncidentError):
    pass


class NotAllowed(IncidentError):
    pass


@dataclass(frozen=True)
class SourceMessage:
    """The message an incident was declared from (message shortcut)."""

    channel: str
    ts: str
    author: str | None
    text: str
    permalink: str | None = None


# --- lookups -------------------------------------------------------------------------------------


async def get_incident(session: AsyncSession, incident_id: int, *, lock: bool = False) -> Incident:
    query = select(Incident).where(Incident.id == incident_id)
    incident = await session.scalar(query.with_for_update() if lock else query)
    if incident is None:
        raise IncidentNotFound(f"Incident #{incident_id} does not exist.")
    return incident


async def incident_for_channel(session: AsyncSession, channel_id: str) -> Incident | None:
    return await session.scalar(select(Incident).where(Incident.channel_id == channel_id))


async def open_incidents(session: AsyncSession) -> list[Incident]:
    """Incidents not resolved yet, oldest first (handoff DMs, App Home, ``/incident list``)."""
    return list(await session.scalars(select(Incident).where(Incident.resolved_at.is_(None))
                                      .order_by(Incident.declared_at, Incident.id)))


async def resolved_since(session: AsyncSession, since: datetime) -> list[Incident]:
    return list(await session.scalars(select(Incident).where(Incident.resolved_at >= since)
                                      .order_by(Incident.resolved_at.desc())))


async def roles_of(session: AsyncSession, incident_id: int) -> list[IncidentRole]:
    return list(await session.scalars(select(IncidentRole).where(IncidentRole.incident_id == incident_id)
                                      .order_by(IncidentRole.role)))


async def action_items(session: AsyncSession, incident_id: int) -> list[ActionItem]:
    return list(await session.scalars(select(ActionItem).where(ActionItem.incident_id == incident_id)
                                      .order_by(ActionItem.id)))


async def checklist_state(session: AsyncSession, incident_id: int) -> dict[str, ChecklistTick]:
    rows = await session.scalars(select(ChecklistTick).where(ChecklistTick.incident_id == incident_id))
    return {t.item_id: t for t in rows}


def _open(incident: Incident, what: str) -> None:
    if incident.is_resolved:
        raise NothingToDo(f"Incident #{incident.id} is already resolved; {what} no longer applies.")


def _text(text: str, usage: str) -> str:
    text = text.strip()
    if not text:
        raise BadIncidentInput(f"Say what to record: {usage}")
    return text


# --- declaring -------------------------------------------------------------------------------------


def choose_playbook(playbooks: Sequence[Playbook], alerts: Sequence[Alert], title: str,
                    service: str | None) -> Playbook | None:
    """The linked alerts' playbook, else one whose matchers fit the title as an alert name."""
    for alert in alerts:
        labels = {k: str(v) for k, v in alert.labels.items()}
        labels.setdefault("alertname", alert.title)
        if alert.service:
            labels.setdefault("service", alert.service)
        found = match_playbook(playbooks, labels)
        if found is not None:
            return found
    return match_playbook(playbooks, {"alertname": title, **({"service": service} if service else {})})


async def declare(session: AsyncSession, *, policy: IncidentPolicy, title: str, severity: str, reporter: str,
                  commander: str, now: datetime, summary: str = "", affected_service: str | None = None,
                  team: str | None = None, origin_channel_id: str | None = None, group_ids: Sequence[int] = (),
                  source: SourceMessage | None = None) -> Incident:
    """Store a new incident and queue its channel set-up (``incident_setup``)."""
    title = " ".join(title.split())[:MAX_TITLE]
    if not title:
        raise BadIncidentInput("An incident needs a title: say in a few words what is broken.")
    try:
        severity = policy.severity(severity)
    except UnknownSeverity as exc:
        raise BadIncidentInput(str(exc)) from None
    groups = list(await session.scalars(select(AlertGroup).where(AlertGroup.id.in_(list(group_ids)))))
    alerts = list(await session.scalars(select(Alert).where(Alert.group_id.in_([g.id for g in groups]))
                                        .order_by(Alert.id)))
    playbook = choose_playbook(policy.playbooks, alerts, title, affected_service)
    incident = Incident(
        title=title, severity=severity, status="investigating", summary=summary.strip(),
        affected_service=(affected_service or "").strip() or None, team=team, commander=commander,
        reporter=reporter, playbook=playbook.id if playbook else None, origin_channel_id=origin_channel_id,
        channel_name=channel_name(policy.channel_prefix, title, now, policy.zone), slack_state={},
        declared_at=now, detected_at=min((g.created_at for g in groups), default=now),
    )
    session.add(incident)
    await session.flush()
    detail = Declared(severity=severity, commander=commander, reporter=reporter)
    if source is not None:
        detail = Declared(severity=severity, commander=commander, reporter=reporter,
                          from_message=DeclaredFrom(channel=source.channel, ts=source.ts, author=source.author))
    await record(session, incident, detail, at=now, actor=reporter, text=title,
                 permalink=source.permalink if source else None, post=False)
    for group in groups:
        await _link(session, incident, group, actor=reporter, now=now)
    await enqueue(session, key=f"incident-setup:{incident.id}", kind=SETUP_OUTBOX_KIND,
                  payload=IncidentRef(incident_id=incident.id), now=now)
    await schedule_nudge(session, incident, update_every=policy.update_every(severity), now=now)
    return incident


async def _link(session: AsyncSession, incident: Incident, group: AlertGroup, *, actor: str,
                now: datetime) -> bool:
    exists = await session.get(IncidentAlert, (incident.id, group.id))
    if exists is not None:
        return False
    session.add(IncidentAlert(incident_id=incident.id, group_id=group.id, linked_at=now, linked_by=actor))
    if incident.detected_at is None or group.created_at < incident.detected_at:
        incident.detected_at = group.created_at
    await record(session, incident, AlertLinked(group_id=group.id, severity=group.severity), at=now, actor=actor,
                 text=group.title, post=False)
    return True


async def link_alert(session: AsyncSession, *, incident_id: int, group_id: int, actor: str,
                     now: datetime) -> bool:
    """Link an alert group; its acknowledgements and pages join the timeline. False if already linked."""
    incident = await get_incident(session, incident_id, lock=True)
    group = await session.get(AlertGroup, group_id)
    if group is None:
        raise IncidentNotFound(f"Alert #{group_id} does not exist.")
    return await _link(session, incident, group, actor=actor, now=now)


# --- while it runs ---------------------------------------------------------------------------------


async def change_severity(session: AsyncSession, *, policy: IncidentPolicy, incident_id: int, severity: str,
                          actor: str, now: datetime) -> TimelineEntry:
    try:
        severity = policy.severity(severity)
    except UnknownSeverity as exc:
        raise BadIncidentInput(str(exc)) from None
    incident = await get_incident(session, incident_id, lock=True)
    _open(incident, "a severity change")
    if incident.severity == severity:
        raise NothingToDo(f"Incident #{incident.id} is already {severity}; nothing changed.")
    previous, incident.severity = incident.severity, severity
    entry = await record(session, incident, SeverityChanged(previous=previous, to=severity), at=now, actor=actor)
    # A more urgent severity wants updates sooner; the nudge already queued re-checks itself.
    await schedule_nudge(session, incident, update_every=policy.update_every(severity), now=now)
    return entry


async def assign_role(session: AsyncSession, *, incident_id: int, role: str, person: str, actor: str,
                      now: datetime) -> TimelineEntry:
    incident = await get_incident(session, incident_id, lock=True)
    _open(incident, "a role change")
    held = None
    if role == "commander":
        previous: str | None = incident.commander
    else:
        held = await session.scalar(select(IncidentRole).where(IncidentRole.incident_id == incident.id,
                                                               IncidentRole.role == role))
        previous = held.person if held else None
    if previous == person:
        raise NothingToDo(f"<@{person}> is already {role} of incident #{incident.id}; nothing changed.")
    if role == "commander":
        incident.commander = person
    elif held is None:
        session.add(IncidentRole(incident_id=incident.id, role=role, person=person, assigned_at=now,
                                 assigned_by=actor))
    else:
        held.person, held.assigned_at, held.assigned_by = person, now, actor
    return await record(session, incident, RoleAssigned(role=role, person=person, previous=previous), at=now,
                        actor=actor)


async def post_status(session: AsyncSession, *, incident_id: int, text: str, actor: str, now: datetime,
                      status: str | None = None, public: bool = False) -> TimelineEntry:
    """A status update; ``status`` (investigating, identified, monitoring) moves the incident on.
    The first update that says monitoring marks the impact mitigated. A ``public`` update is
    published on the status page (the incident's title with it); no other entry ever is."""
    text = _text(text, "`/incident status [investigating|identified|monitoring] <what is happening>`")
    incident = await get_incident(session, incident_id, lock=True)
    _open(incident, "a status update")
    if status is not None:
        incident.status = status
        if status == MITIGATED and incident.mitigated_at is None:
            incident.mitigated_at = now
    incident.last_status_at = now
    fields: dict[str, str | bool] = {"status": status} if status else {}
    if public:
        fields["public"] = True  # set only when true, so an internal update stores what it always did
    return await record(session, incident, StatusUpdate.model_validate(fields), at=now, actor=actor, text=text)


async def add_note(session: AsyncSession, *, incident_id: int, text: str, actor: str,
                   now: datetime) -> TimelineEntry:
    text = _text(text, "`/incident note <what happened or what you found>`")
    incident = await get_incident(session, incident_id)
    return await record(session, incident, Note(), at=now, actor=actor, text=text)


async def add_action(session: AsyncSession, *, incident_id: int, text: str, actor: str, now: datetime,
                     owner: str | None = None) -> ActionItem:
    text = _text(text, "`/incident action <follow-up to do after the incident> [@owner]`")
    incident = await get_incident(session, incident_id)
    item = ActionItem(incident_id=incident.id, text=text, owner=owner, created_at=now, created_by=actor)
    session.add(item)
    await session.flush()
    await record(session, incident, ActionAdded(owner=owner, action_item_id=item.id), at=now, actor=actor,
                 text=text)
    return item


async def tick_checklist(session: AsyncSession, *, incident_id: int, item: ChecklistItem, done: bool, actor: str,
                         now: datetime) -> TimelineEntry | None:
    """Tick or untick a playbook step; None when it already was in that state (a double click)."""
    incident = await get_incident(session, incident_id, lock=True)
    tick = await session.get(ChecklistTick, (incident.id, item.id))
    if tick is not None and tick.done == done:
        return None
    if tick is None:
        session.add(ChecklistTick(incident_id=incident.id, item_id=item.id, done=done, changed_at=now,
                                  changed_by=actor))
    else:
        tick.done, tick.changed_at, tick.changed_by = done, now, actor
    step = item.id.rsplit("-", 1)[-1]
    return await record(session, incident, ChecklistTicked(item=item.id, group=item.group.value, step=step,
                                                           done=done), at=now, actor=actor, text=item.text)


# --- the end ---------------------------------------------------------------------------------------


def may_resolve(incident: Incident, roles: Sequence[IncidentRole], person: str, policy: IncidentPolicy) -> bool:
    """The commander, the reporter, anyone holding a role, and the config's admins."""
    involved = {incident.commander, incident.reporter, *(r.person for r in roles)}
    return person in involved or person in policy.admins


async def resolve(session: AsyncSession, *, policy: IncidentPolicy, incident_id: int, actor: str, now: datetime,
                  summary: str | None = None, acknowledged_at: datetime | None = None) -> TimelineEntry:
    """Resolve; queues the durations post, the post-mortem draft and the 24 h reminder.

    ``acknowledged_at`` is the first acknowledgement of a linked alert, if the caller knows it
    (see :func:`bot.incidents.key_times.first_acknowledgement`); the declaration counts otherwise.
    """
    incident = await get_incident(session, incident_id, lock=True)
    if incident.is_resolved:
        raise NothingToDo(f"Incident #{incident.id} is already resolved.")
    if not may_resolve(incident, await roles_of(session, incident.id), actor, policy):
        raise NotAllowed(f"Only the commander (<@{incident.commander}>), the reporter, role holders or an admin "
                         f"can resolve incident #{incident.id}.")
    if summary and summary.strip():
        incident.summary = summary.strip()
    incident.status = "resolved"
    incident.resolved_at, incident.resolved_by = now, actor
    incident.mitigated_at = incident.mitigated_at or now
    incident.acknowledged_at = min(t for t in (acknowledged_at, incident.declared_at) if t is not None)
    entry = await record(session, incident, IncidentResolved(), at=now, actor=actor, text=(summary or "").strip())
    await request_postmortem(session, incident_id=incident.id, now=now, reason=f"resolved:{entry.id}")
    await schedule_postmortem_reminder(session, incident, now=now)
    return entry


async def request_postmortem(session: AsyncSession, *, incident_id: int, now: datetime, reason: str,
                             requested_by: str | None = None) -> None:
    """Queue a (re-)render of the post-mortem draft; ``reason`` makes the request unique."""
    await enqueue(session, key=f"incident-postmortem:{incident_id}:{reason}", kind=POSTMORTEM_OUTBOX_KIND,
                  payload=PostmortemDraft(incident_id=incident_id, requested_by=requested_by), now=now)


async def mark_postmortem_done(session: AsyncSession, *, incident_id: int, actor: str,
                               now: datetime) -> TimelineEntry:
    incident = await get_incident(session, incident_id, lock=True)
    if not incident.is_resolved:
        raise NothingToDo(f"Incident #{incident.id} is not resolved yet; resolve it before closing its "
                          "post-mortem.")
    if incident.postmortem_done_at is not None:
        raise NothingToDo(f"The post-mortem of incident #{incident.id} is already marked done.")
    incident.postmortem_done_at, incident.postmortem_done_by = now, actor
    return await record(session, incident, PostmortemDone(), at=now, actor=actor)
