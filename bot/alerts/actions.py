"""What people (and sources) do to an alert group: acknowledge, resolve, snooze, silence similar.

Each function is safe under concurrency: the state change is a conditional UPDATE, so two people
clicking Acknowledge at once, or one person clicking twice, yields exactly one acknowledgement.

Acknowledging under a severity with ``ack_timeout`` sets ``ack_timeout_at``, the deadline at which
the escalation runner fires the alert again (``bot.escalation.ack_timeout``); every acknowledgement
sets it afresh, and resolving or taking the acknowledgement back clears it. So each acknowledging
path is handed the config's ``severities``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.alerts.emails import queue_follow_ups
from bot.alerts.events import (
    Acknowledged,
    AnyEventDetail,
    EventKind,
    Resolved,
    SilencedSimilar,
    Snoozed,
    Unacknowledged,
)
from bot.alerts.incoming import AlertStatus
from bot.alerts.models import Alert, AlertEvent, AlertGroup, Silence
from bot.config import SeverityPolicy
from bot.outbox import OutboxKind, ThreadReply, enqueue
from bot.severity import Severity

# The config's ``severities``: what acknowledging needs to know (each severity's ``ack_timeout``).
Severities = Mapping[Severity, SeverityPolicy]

# Events that also get a short reply in the alert message's thread.
THREAD_EVENTS = frozenset({
    EventKind.ACKNOWLEDGED, EventKind.UNACKNOWLEDGED, EventKind.RESOLVED, EventKind.SNOOZED,
    EventKind.SILENCED_SIMILAR, EventKind.REOPENED, EventKind.ACK_TIMED_OUT,
    # escalation (bot.escalation)
    EventKind.PAGED, EventKind.PAGE_FAILED, EventKind.PAGE_SKIPPED, EventKind.NOT_ESCALATED,
})


class Unchanged(StrEnum):
    """Why an action changed nothing; the value is the words the person who asked is told."""

    ALREADY_ACKNOWLEDGED = "already acknowledged"
    ALREADY_RESOLVED = "already resolved"
    NOT_ACKNOWLEDGED = "not acknowledged"


@dataclass(frozen=True)
class ActionOutcome:
    group: AlertGroup
    unchanged: Unchanged | None = None  # None: the action changed the alert
    renewed: bool = False  # acknowledged again while acknowledged: the ack timeout started over

    @property
    def renewal(self) -> str:
        """What the person who acknowledged again is told besides "already acknowledged"."""
        return " Its acknowledgement timeout starts again now." if self.renewed else ""

    @property
    def changed(self) -> bool:
        return self.unchanged is None


class AlertNotFound(LookupError):
    pass


async def record(session: AsyncSession, group: AlertGroup, detail: AnyEventDetail, now: datetime, *,
                 actor: str | None = None, via: str | None = None, alert: Alert | None = None) -> AlertEvent:
    """Add the event (its kind is the detail's); kinds in :data:`THREAD_EVENTS` also get a thread reply."""
    event = AlertEvent.of(group, detail, now, actor=actor, via=via, alert=alert)
    session.add(event)
    if detail.KIND in THREAD_EVENTS:
        await reply_in_thread(session, group, event, now)
    if detail.KIND == EventKind.RESOLVED:
        await session.flush()
        await queue_follow_ups(session, group, event.id, now)  # whoever was emailed hears it is over
    return event


async def reply_in_thread(session: AsyncSession, group: AlertGroup, event: AlertEvent, now: datetime) -> None:
    """Queue the event's short reply in the alert message's thread (for kinds only sometimes shown)."""
    has_message = group.silence_id is None or group.posted_version > 0  # silenced at birth: never posted
    if has_message:
        await session.flush()
        await enqueue(session, key=f"thread:{event.id}", kind=OutboxKind.ALERT_THREAD, group_id=group.id,
                      payload=ThreadReply(event_id=event.id), now=now)


def ack_deadline(severities: Severities, severity: Severity, now: datetime) -> datetime | None:
    """When an acknowledgement given ``now`` runs out: None if the severity has no ``ack_timeout``."""
    policy = severities.get(severity)
    timeout = policy.ack_timeout if policy is not None else None
    return now + timeout if timeout is not None else None


def touch(group: AlertGroup, now: datetime) -> None:
    """Mark the group changed so its Slack message is edited."""
    group.version += 1
    group.updated_at = now


async def _set_members(session: AsyncSession, group: AlertGroup, status: AlertStatus, now: datetime) -> None:
    values: dict[str, object] = {"status": status}
    if status == AlertStatus.RESOLVED:
        values["resolved_at"] = now
    await session.execute(
        update(Alert).where(Alert.group_id == group.id, Alert.status != AlertStatus.RESOLVED).values(**values)
    )


async def acknowledge_group(session: AsyncSession, group: AlertGroup, now: datetime, *, actor: str,
                            via: str, severities: Severities) -> None:
    group.status = AlertStatus.ACKNOWLEDGED
    group.acknowledged_at = now
    group.acknowledged_by = actor
    group.acknowledged_via = via
    group.snoozed_until = None
    group.ack_timeout_at = ack_deadline(severities, group.severity, now)
    touch(group, now)
    await _set_members(session, group, AlertStatus.ACKNOWLEDGED, now)
    await record(session, group, Acknowledged(), now, actor=actor, via=via)


async def resolve_group(session: AsyncSession, group: AlertGroup, now: datetime, *, actor: str, via: str) -> None:
    group.status = AlertStatus.RESOLVED
    group.resolved_at = now
    group.resolved_by = actor
    group.resolved_via = via
    group.snoozed_until = None
    group.ack_timeout_at = None
    touch(group, now)
    await _set_members(session, group, AlertStatus.RESOLVED, now)
    await record(session, group, Resolved(), now, actor=actor, via=via)


async def _claim(session: AsyncSession, group_id: int, allowed: tuple[AlertStatus, ...], values: dict[str, object],
                 now: datetime) -> AlertGroup | None:
    """Conditionally move a group out of ``allowed`` states; None if someone else got there first."""
    result = await session.execute(
        update(AlertGroup)
        .where(AlertGroup.id == group_id, AlertGroup.status.in_(allowed))
        .values(version=AlertGroup.version + 1, updated_at=now, **values)
        .execution_options(synchronize_session=False)
    )
    group = await session.get(AlertGroup, group_id, populate_existing=True)
    if group is None:
        raise AlertNotFound(f"alert #{group_id} is not stored: it may be from another install, or resolved and since pruned")
    return group if result.rowcount == 1 else None  # type: ignore[attr-defined]


async def _load(session: AsyncSession, group_id: int) -> AlertGroup:
    group = await session.get(AlertGroup, group_id)
    if group is None:
        raise AlertNotFound(f"alert #{group_id} is not stored: it may be from another install, or resolved and since pruned")
    return group


def _already(group: AlertGroup) -> Unchanged:
    if group.status == AlertStatus.RESOLVED:
        return Unchanged.ALREADY_RESOLVED
    return Unchanged.ALREADY_ACKNOWLEDGED


async def acknowledge(session: AsyncSession, group_id: int, *, actor: str, via: str, now: datetime,
                      severities: Severities) -> ActionOutcome:
    group = await _claim(session, group_id, (AlertStatus.FIRING,), {
        "status": AlertStatus.ACKNOWLEDGED, "acknowledged_at": now, "acknowledged_by": actor,
        "acknowledged_via": via, "snoozed_until": None,
    }, now)
    if group is None:
        group = await _load(session, group_id)
        renewed = await _renew(session, group, now, severities)
        return ActionOutcome(group, _already(group), renewed=renewed)
    group.ack_timeout_at = ack_deadline(severities, group.severity, now)  # the row is ours until commit
    await _set_members(session, group, AlertStatus.ACKNOWLEDGED, now)
    await record(session, group, Acknowledged(), now, actor=actor, via=via)
    return ActionOutcome(group)


async def _renew(session: AsyncSession, group: AlertGroup, now: datetime, severities: Severities) -> bool:
    """Acknowledging an alert that is acknowledged already says "still on it": under an ``ack_timeout``
    the timer starts again from now (as PagerDuty's re-acknowledge does), and the message shows the new time."""
    deadline = ack_deadline(severities, group.severity, now)
    if group.status != AlertStatus.ACKNOWLEDGED or deadline is None:
        return False
    result = await session.execute(update(AlertGroup).where(AlertGroup.id == group.id,
                                                   AlertGroup.status == AlertStatus.ACKNOWLEDGED)
                          .values(ack_timeout_at=deadline, version=AlertGroup.version + 1, updated_at=now)
                          .execution_options(synchronize_session=False))
    await session.refresh(group)
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def unacknowledge(session: AsyncSession, group_id: int, *, actor: str, via: str,
                        now: datetime) -> ActionOutcome:
    group = await _claim(session, group_id, (AlertStatus.ACKNOWLEDGED,), {
        "status": AlertStatus.FIRING, "acknowledged_at": None, "acknowledged_by": None, "acknowledged_via": None,
        "ack_timeout_at": None,
    }, now)
    if group is None:
        group = await _load(session, group_id)
        return ActionOutcome(group, Unchanged.NOT_ACKNOWLEDGED if group.status == AlertStatus.FIRING
                             else Unchanged.ALREADY_RESOLVED)
    await _set_members(session, group, AlertStatus.FIRING, now)
    await record(session, group, Unacknowledged(), now, actor=actor, via=via)
    return ActionOutcome(group)


async def resolve(session: AsyncSession, group_id: int, *, actor: str, via: str, now: datetime) -> ActionOutcome:
    group = await _claim(session, group_id, (AlertStatus.FIRING, AlertStatus.ACKNOWLEDGED), {
        "status": AlertStatus.RESOLVED, "resolved_at": now, "resolved_by": actor, "resolved_via": via,
        "snoozed_until": None, "ack_timeout_at": None,
    }, now)
    if group is None:
        return ActionOutcome(await _load(session, group_id), Unchanged.ALREADY_RESOLVED)
    await _set_members(session, group, AlertStatus.RESOLVED, now)
    await record(session, group, Resolved(), now, actor=actor, via=via)
    return ActionOutcome(group)


async def snooze(session: AsyncSession, group_id: int, *, actor: str, via: str, duration: timedelta,
                 now: datetime) -> ActionOutcome:
    """Quiet a firing alert until ``now + duration``; it notifies again when the snooze ends."""
    until = now + duration
    group = await _claim(session, group_id, (AlertStatus.FIRING,), {"snoozed_until": until}, now)
    if group is None:
        group = await _load(session, group_id)
        return ActionOutcome(group, _already(group))
    await record(session, group, Snoozed(until=until, minutes=int(duration.total_seconds() // 60)), now,
                 actor=actor, via=via)
    return ActionOutcome(group)


def similar_matchers(alert: Alert) -> dict[str, str]:
    """What "similar" means: same alert name, and same service when the alert names one."""
    matchers = {"alertname": alert.labels.get("alertname", alert.title)}
    service = alert.service or alert.labels.get("service")
    if service:
        matchers["service"] = service
    return matchers


async def silence_similar(session: AsyncSession, group_id: int, *, actor: str, duration: timedelta,
                          now: datetime) -> tuple[ActionOutcome, Silence]:
    group = await _load(session, group_id)
    first = await session.scalar(select(Alert).where(Alert.group_id == group.id).order_by(Alert.id).limit(1))
    if first is None:
        raise AlertNotFound(f"alert #{group_id} has no alerts")
    silence = await create_silence(session, matchers=similar_matchers(first), duration=duration, actor=actor,
                                   now=now, reason=f"similar to alert #{group.id}")
    if group.status != AlertStatus.RESOLVED and group.silence_id is None:
        group.silence_id = silence.id
        touch(group, now)
    detail = SilencedSimilar(silence_id=silence.id, until=silence.ends_at, matchers=silence.matchers)
    await record(session, group, detail, now, actor=actor, via="slack")
    return ActionOutcome(group), silence


async def create_silence(session: AsyncSession, *, matchers: dict[str, str], duration: timedelta, actor: str,
                         now: datetime, reason: str = "") -> Silence:
    silence = Silence(matchers=matchers, starts_at=now, ends_at=now + duration, created_by=actor,
                      created_at=now, reason=reason)
    session.add(silence)
    await session.flush()
    return silence
