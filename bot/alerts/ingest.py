"""From a parsed webhook to stored alerts: dedup, grouping, routing, silences.

Runs inside the caller's transaction; the webhook answers 2xx only after that commits, so every
accepted alert is durable. Changes that Slack must show bump ``AlertGroup.version``; the Slack
dispatcher notices and edits the message — ingest itself never talks to Slack.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.alerts.actions import acknowledge_group, record, resolve_group, touch
from bot.alerts.incoming import AlertStatus, IncomingAlert, ParsedNotification, Severity
from bot.alerts.matchers import labels_match
from bot.alerts.models import Alert, AlertGroup, Silence
from bot.config import Config, Integration

# Alertmanager HA pairs deliver the same notification once per replica, seconds apart; a repeat
# inside this window with unchanged content is the same delivery, not news.
DUPLICATE_WINDOW = timedelta(seconds=60)
SEVERITY_ORDER = [Severity.INFO, Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL]
SOURCE_NAMES = {
    "alertmanager": "Alertmanager", "grafana": "Grafana", "sentry": "Sentry",
    "pagerduty": "PagerDuty event", "generic": "webhook",
}


@dataclass
class IngestResult:
    accepted: int = 0
    new_groups: list[int] = field(default_factory=list)
    changed_groups: set[int] = field(default_factory=set)
    alert_ids: list[int] = field(default_factory=list)


def routing_labels(alert: IncomingAlert) -> dict[str, str]:
    labels = dict(alert.labels)
    if alert.service:
        labels.setdefault("service", alert.service)
    labels.setdefault("severity", alert.severity.value)
    labels.setdefault("alertname", alert.title)
    return labels


def route(config: Config, integration: Integration, labels: dict[str, str]) -> tuple[str | None, str]:
    """(team, channel) for an alert: first matching route, else the integration's team, else none."""
    team_name = next((r.team for r in config.routes if labels_match(r.match, labels)), integration.team)
    team = config.team(team_name) if team_name else None
    if team is None:
        return None, config.slack.alerts_channel
    return team.name, team.channel


def max_severity(severities: list[str]) -> str:
    return max(severities, key=lambda s: SEVERITY_ORDER.index(Severity(s))) if severities else "high"


async def active_silence(session: AsyncSession, labels: dict[str, str], now: datetime) -> Silence | None:
    rows = await session.scalars(
        select(Silence).where(Silence.starts_at <= now, Silence.ends_at > now, Silence.ended_early_at.is_(None))
    )
    return next((s for s in rows if labels_match(s.matchers, labels)), None)


async def ingest(session: AsyncSession, *, config: Config, integration: Integration,
                 notification: ParsedNotification, now: datetime) -> IngestResult:
    result = IngestResult()
    for incoming in notification.alerts:
        await _ingest_one(session, config, integration, notification.group_key, incoming, now, result)
        result.accepted += 1
    await session.flush()
    return result


async def _open_alert(session: AsyncSession, integration: str, fingerprint: str) -> Alert | None:
    return await session.scalar(
        select(Alert).where(Alert.integration == integration, Alert.fingerprint == fingerprint,
                            Alert.status != AlertStatus.RESOLVED)
    )


async def _open_group(session: AsyncSession, integration: str, key: str) -> AlertGroup | None:
    return await session.scalar(
        select(AlertGroup).where(AlertGroup.integration == integration, AlertGroup.group_key == key,
                                 AlertGroup.status != AlertStatus.RESOLVED)
    )


async def _ingest_one(session: AsyncSession, config: Config, integration: Integration, group_key: str | None,
                      incoming: IncomingAlert, now: datetime, result: IngestResult) -> None:
    existing = await _open_alert(session, integration.name, incoming.fingerprint)
    source = SOURCE_NAMES.get(integration.type, integration.name)
    if incoming.resolved:
        if existing is None:
            return  # already resolved, or never seen: a late or duplicate resolve changes nothing
        group = await session.get_one(AlertGroup, existing.group_id)
        existing.status = AlertStatus.RESOLVED
        existing.resolved_at = incoming.ends_at if incoming.ends_at and incoming.ends_at <= now else now
        existing.last_seen_at = now
        await record(session, group, "alert_resolved", now, actor=source, via="source", alert=existing)
        await session.flush()
        if all(a.status == AlertStatus.RESOLVED for a in await _members(session, group)):
            await resolve_group(session, group, now, actor=source, via="source")
        else:
            touch(group, now)
        result.changed_groups.add(group.id)
        result.alert_ids.append(existing.id)
        return

    if incoming.acknowledge:
        # A PagerDuty-style "acknowledge" event carries no alert content: it only acknowledges.
        if existing is not None:
            group = await session.get_one(AlertGroup, existing.group_id)
            if group.status == AlertStatus.FIRING:
                await acknowledge_group(session, group, now, actor=source, via="source")
                result.changed_groups.add(group.id)
            result.alert_ids.append(existing.id)
        return

    if existing is not None:
        group = await session.get_one(AlertGroup, existing.group_id)
        if _is_duplicate(existing, incoming, now):
            result.alert_ids.append(existing.id)
            return
        _apply(existing, incoming)
        existing.count += 1
        existing.last_seen_at = now
        await record(session, group, "repeated", now, actor=source, via="source", alert=existing, count=existing.count)
        touch(group, now)
        result.changed_groups.add(group.id)
        result.alert_ids.append(existing.id)
        return

    labels = routing_labels(incoming)
    key = group_key or incoming.fingerprint
    group = await _open_group(session, integration.name, key)
    if group is None:
        team, channel = route(config, integration, labels)
        silence = await active_silence(session, labels, now)
        group = AlertGroup(
            integration=integration.name, group_key=key, team=team, channel=channel, title=incoming.title,
            severity=incoming.severity.value, status=AlertStatus.FIRING, created_at=now, updated_at=now,
            silence_id=silence.id if silence else None, version=1, posted_version=0,
        )
        session.add(group)
        await session.flush()
        result.new_groups.append(group.id)
        if silence is not None:
            await record(session, group, "silenced", now, actor=silence.created_by, silence_id=silence.id)
    else:
        touch(group, now)
        result.changed_groups.add(group.id)
    alert = Alert(
        group_id=group.id, integration=integration.name, fingerprint=incoming.fingerprint,
        status=AlertStatus.ACKNOWLEDGED if group.status == AlertStatus.ACKNOWLEDGED else AlertStatus.FIRING,
        starts_at=incoming.starts_at or now, received_at=now, last_seen_at=now, count=1,
        title=incoming.title, severity=incoming.severity.value,
    )
    _apply(alert, incoming)
    session.add(alert)
    await session.flush()
    group.severity = max_severity([group.severity, alert.severity])
    await record(session, group, "received", now, actor=source, via="source", alert=alert,
           severity=alert.severity, title=alert.title)
    result.alert_ids.append(alert.id)


def _apply(alert: Alert, incoming: IncomingAlert) -> None:
    alert.title = incoming.title
    alert.severity = incoming.severity.value
    alert.description = incoming.description
    alert.service = incoming.service
    alert.labels = dict(incoming.labels)
    alert.annotations = dict(incoming.annotations)
    alert.links = [{"href": link.href, "text": link.text} for link in incoming.links]
    alert.source_url = incoming.source_url
    alert.runbook_url = incoming.runbook_url
    alert.dashboard_url = incoming.dashboard_url
    alert.metric = incoming.metric
    alert.threshold = incoming.threshold
    alert.value = incoming.value


def _is_duplicate(alert: Alert, incoming: IncomingAlert, now: datetime) -> bool:
    same = (
        alert.title == incoming.title and alert.description == incoming.description
        and alert.labels == dict(incoming.labels) and alert.annotations == dict(incoming.annotations)
        and alert.value == incoming.value and alert.severity == incoming.severity.value
    )
    return same and now - alert.last_seen_at < DUPLICATE_WINDOW


async def _members(session: AsyncSession, group: AlertGroup) -> list[Alert]:
    return list(await session.scalars(select(Alert).where(Alert.group_id == group.id)))
