"""From a parsed webhook to stored alerts: dedup, grouping, routing, silences.

Runs inside the caller's transaction; the webhook answers 2xx only after that commits, so every
accepted alert is durable. Changes that Slack must show bump ``AlertGroup.version``; the Slack
dispatcher notices and edits the message — ingest itself never talks to Slack.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.alerts.actions import acknowledge_group, resolve_group, touch
from bot.alerts.emails import copy_addresses, queue_copies
from bot.alerts.events import AlertResolved, AnyEventDetail, Received, Repeated, Silenced
from bot.alerts.incoming import AlertStatus, IncomingAlert, ParsedNotification
from bot.alerts.matchers import labels_match
from bot.alerts.models import Alert, AlertEvent, AlertGroup, Silence
from bot.config import OWN_INTEGRATION, Config, Integration
from bot.db import dialect_of
from bot.severity import Severity

# Alertmanager HA pairs deliver the same notification once per replica, seconds apart; a repeat
# inside this window with unchanged content is the same delivery, not news.
DUPLICATE_WINDOW = timedelta(seconds=60)
SEVERITY_ORDER = [Severity.INFO, Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL]
SOURCE_NAMES = {
    "alertmanager": "Alertmanager", "grafana": "Grafana", "sentry": "Sentry",
    "pagerduty": "PagerDuty event", "generic": "webhook",
}


StartEscalation = Callable[[AsyncSession, Config, AlertGroup, datetime], Awaitable[object]]
"""Start escalating a group a new alert joined, when its severity escalates (the composition root
passes ``bot.escalation.engine.start_escalation``; the alert pipeline does not import escalation)."""

PlaybookFor = Callable[[Mapping[str, str]], str | None]
"""The id of the playbook for an alert with these routing labels, or None (the composition root
matches the loaded playbooks; the alert pipeline does not import incidents)."""


def no_playbook(labels: Mapping[str, str]) -> None:
    return None


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


@dataclass(frozen=True)
class Routed:
    team: str | None
    channel: str
    email: tuple[str, ...] = ()  # the matching route's addresses for an email copy


def route(config: Config, integration: Integration, labels: dict[str, str]) -> Routed:
    """Team and channel for an alert: first matching route, else the integration's team, else none."""
    matched = next((r for r in config.routes if labels_match(r.match, labels)), None)
    team_name = matched.team if matched else integration.team
    team = config.team(team_name) if team_name else None
    email = tuple(matched.email) if matched else ()
    if team is None:
        return Routed(None, config.slack.alerts_channel, email)
    return Routed(team.name, team.channel, email)


def max_severity(severities: list[Severity]) -> Severity:
    return max(severities, key=SEVERITY_ORDER.index) if severities else Severity.HIGH


@dataclass(frozen=True)
class Delivery:
    """One webhook delivery waiting to be stored."""

    integration: Integration
    notification: ParsedNotification


async def ingest(session: AsyncSession, *, config: Config, integration: Integration,
                 notification: ParsedNotification, now: datetime, escalate: StartEscalation,
                 playbook_for: PlaybookFor = no_playbook) -> IngestResult:
    """Store one webhook delivery."""
    [result] = await ingest_many(session, config=config, deliveries=[Delivery(integration, notification)], now=now,
                                 escalate=escalate, playbook_for=playbook_for)
    return result


async def ingest_many(session: AsyncSession, *, config: Config, deliveries: list[Delivery],
                      now: datetime, escalate: StartEscalation,
                      playbook_for: PlaybookFor = no_playbook) -> list[IngestResult]:
    """Store several deliveries in one transaction (group commit), with a handful of batched
    statements in all: one look-up of open alerts per integration, one insert per table."""
    batches: dict[str, _Batch] = {}
    for d in deliveries:
        batches.setdefault(d.integration.name, _Batch(session, config, d.integration, now, playbook_for))
    for name, batch in batches.items():
        mine = [d for d in deliveries if d.integration.name == name]
        await batch.load([a.fingerprint for d in mine for a in d.notification.alerts],
                         [d.notification.group_key or a.fingerprint for d in mine for a in d.notification.alerts])
    tallies = []
    with session.no_autoflush:  # everything goes out in the one flush below
        for d in deliveries:
            tally = _Tally()
            batch = batches[d.integration.name]
            for incoming in d.notification.alerts:
                alert = await batch.apply(incoming, d.notification.group_key, tally)
                if alert is not None:
                    tally.touched.append(alert)
            tallies.append(tally)
    await _number_new_rows(session)
    await session.flush()
    joined = {id(g): g for t in tallies for g in t.joined}
    for group in joined.values():  # a group a new alert joined may now need to escalate
        await escalate(session, config, group, now)
    for group, addresses in (copy for t in tallies for copy in t.copies):
        await queue_copies(session, group, addresses, now)
    return [IngestResult(accepted=len(d.notification.alerts), new_groups=[g.id for g in t.new_groups],
                         changed_groups={g.id for g in t.changed_groups}, alert_ids=[a.id for a in t.touched])
            for d, t in zip(deliveries, tallies, strict=True)]


@dataclass
class _Tally:
    """What one delivery changed, for its webhook's answer."""

    new_groups: list[AlertGroup] = field(default_factory=list)
    changed_groups: list[AlertGroup] = field(default_factory=list)
    joined: list[AlertGroup] = field(default_factory=list)
    touched: list[Alert] = field(default_factory=list)
    copies: list[tuple[AlertGroup, list[str]]] = field(default_factory=list)  # new groups copied by email

    def changed(self, group: AlertGroup) -> None:
        if group not in self.changed_groups and group not in self.new_groups:
            self.changed_groups.append(group)


async def _number_new_rows(session: AsyncSession) -> None:
    """Give new groups, alerts and events their ids before the flush, on SQLite only.

    SQLite cannot promise the order of ids RETURNING gives for a multi-row INSERT, so SQLAlchemy
    would insert such rows one statement (one thread hop through aiosqlite) at a time. Writers
    are serialized (``bot.db.transaction``), so numbering after the current maximum is safe and
    lets each table's rows go in one executemany.
    """
    if dialect_of(session) != "sqlite":
        return
    tables: list[type[AlertGroup] | type[Alert] | type[AlertEvent]] = [AlertGroup, Alert, AlertEvent]
    rows = {t: [o for o in session.new if isinstance(o, t) and o.id is None] for t in tables}
    if sum(len(r) for r in rows.values()) < 2:
        return
    with session.no_autoflush:  # a flush here would insert them the slow way first
        top = (await session.execute(select(*(select(func.max(t.id)).scalar_subquery() for t in tables)))).one()
    for table, start in zip(tables, top, strict=True):
        for offset, row in enumerate(rows[table], start=1):
            row.id = (start or 0) + offset


class _Batch:
    """One integration's alerts in a transaction: open alerts and groups looked up once."""

    def __init__(self, session: AsyncSession, config: Config, integration: Integration, now: datetime,
                 playbook_for: PlaybookFor) -> None:
        self.session, self.config, self.integration, self.now = session, config, integration, now
        self.playbook_for = playbook_for
        own = integration.name == OWN_INTEGRATION  # a check's, heartbeat's or the Watchdog's own alert
        self.source = "Watchstander" if own else SOURCE_NAMES.get(integration.type, integration.name)
        self.open_alerts: dict[str, Alert] = {}
        self.groups_by_key: dict[str, AlertGroup | None] = {}
        self.silences: list[Silence] | None = None

    async def load(self, fingerprints: list[str], group_keys: list[str]) -> None:
        """The open alerts and open groups these deliveries may touch: two queries, however many."""
        wanted = sorted(set(fingerprints))
        for i in range(0, len(wanted), 500):
            rows = await self.session.scalars(
                select(Alert).where(Alert.integration == self.integration.name,
                                    Alert.fingerprint.in_(wanted[i:i + 500]), Alert.status != AlertStatus.RESOLVED)
                .options(selectinload(Alert.group).selectinload(AlertGroup.alerts))
            )
            self.open_alerts.update((a.fingerprint, a) for a in rows)
        for alert in self.open_alerts.values():
            self.groups_by_key.setdefault(alert.group.group_key, alert.group)
        keys = sorted(set(group_keys) - set(self.groups_by_key))
        for i in range(0, len(keys), 500):
            groups = await self.session.scalars(
                select(AlertGroup).where(AlertGroup.integration == self.integration.name,
                                         AlertGroup.group_key.in_(keys[i:i + 500]),
                                         AlertGroup.status != AlertStatus.RESOLVED)
                .options(selectinload(AlertGroup.alerts))
            )
            found = {g.group_key: g for g in groups}
            for key in keys[i:i + 500]:
                self.groups_by_key[key] = found.get(key)  # None: known to have no open group

    def _event(self, group: AlertGroup, detail: AnyEventDetail, alert: Alert | None) -> None:
        self.session.add(AlertEvent.of(group, detail, self.now, actor=self.source, via="source", alert=alert))

    async def apply(self, incoming: IncomingAlert, group_key: str | None, tally: _Tally) -> Alert | None:
        existing = self.open_alerts.get(incoming.fingerprint)
        now = self.now
        if incoming.resolved:
            if existing is None:
                return None  # already resolved, or never seen: a late or duplicate resolve changes nothing
            group = existing.group
            existing.status = AlertStatus.RESOLVED
            existing.resolved_at = incoming.ends_at if incoming.ends_at and incoming.ends_at <= now else now
            existing.last_seen_at = now
            del self.open_alerts[incoming.fingerprint]
            self._event(group, AlertResolved(), existing)
            if all(a.status == AlertStatus.RESOLVED for a in group.alerts):
                await self.session.flush()
                await resolve_group(self.session, group, now, actor=self.source, via="source")
                self.groups_by_key.pop(group.group_key, None)
            else:
                touch(group, now)
            tally.changed(group)
            return existing

        if incoming.acknowledge:
            # A PagerDuty-style "acknowledge" event carries no alert content: it only acknowledges.
            if existing is not None and existing.group.status == AlertStatus.FIRING:
                await self.session.flush()
                await acknowledge_group(self.session, existing.group, now, actor=self.source, via="source",
                                        severities=self.config.severities)
                tally.changed(existing.group)
            return existing

        if existing is not None:
            if _is_duplicate(existing, incoming, now):
                return existing
            _apply(existing, incoming)
            existing.count += 1
            existing.last_seen_at = now
            self._event(existing.group, Repeated(count=existing.count), existing)
            touch(existing.group, now)
            tally.changed(existing.group)
            return existing

        group = await self._group_for(incoming, group_key, tally)
        alert = Alert(
            integration=self.integration.name, fingerprint=incoming.fingerprint,
            status=AlertStatus.ACKNOWLEDGED if group.status == AlertStatus.ACKNOWLEDGED else AlertStatus.FIRING,
            starts_at=incoming.starts_at or now, received_at=now, last_seen_at=now, count=1,
            title=incoming.title, severity=incoming.severity,
        )
        _apply(alert, incoming)
        group.alerts.append(alert)
        if group not in tally.joined:
            tally.joined.append(group)
        self.open_alerts[incoming.fingerprint] = alert
        group.severity = max_severity([group.severity, alert.severity])
        self._event(group, Received(severity=alert.severity, title=alert.title), alert)
        return alert

    async def _group_for(self, incoming: IncomingAlert, group_key: str | None, tally: _Tally) -> AlertGroup:
        key = group_key or incoming.fingerprint
        if key not in self.groups_by_key:
            self.groups_by_key[key] = await self.session.scalar(
                select(AlertGroup).where(AlertGroup.integration == self.integration.name,
                                         AlertGroup.group_key == key, AlertGroup.status != AlertStatus.RESOLVED)
                .options(selectinload(AlertGroup.alerts))
            )
        group = self.groups_by_key[key]
        if group is not None:
            touch(group, self.now)
            tally.changed(group)
            return group
        labels = routing_labels(incoming)
        routed = route(self.config, self.integration, labels)
        if self.silences is None:
            self.silences = list(await self.session.scalars(
                select(Silence).where(Silence.starts_at <= self.now, Silence.ends_at > self.now,
                                      Silence.ended_early_at.is_(None))))
        silence = next((s for s in self.silences if labels_match(s.matchers, labels)), None)
        group = AlertGroup(
            integration=self.integration.name, group_key=key, team=routed.team, channel=routed.channel,
            title=incoming.title,
            severity=incoming.severity, status=AlertStatus.FIRING, created_at=self.now,
            updated_at=self.now, silence_id=silence.id if silence else None, version=1, posted_version=0,
            alerts=[],
        )
        group.playbook = self.playbook_for(labels)
        self.session.add(group)
        self.groups_by_key[key] = group
        tally.new_groups.append(group)
        if silence is None and (emails := copy_addresses(self.config, labels, incoming.severity, routed.email)):
            tally.copies.append((group, emails))
        if silence is not None:
            self.session.add(AlertEvent.of(group, Silenced(silence_id=silence.id), self.now,
                                           actor=silence.created_by))
        return group


def _apply(alert: Alert, incoming: IncomingAlert) -> None:
    alert.title = incoming.title
    alert.severity = incoming.severity
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
