"""Raising and resolving the alerts of what Watchstander watches, through the alert pipeline.

A monitor's alert is stored exactly as a webhook's is (``bot.alerts.ingest``), under the
integration ``watchstander``, so routing, the Block Kit message, escalation, SMS and the weekly
summary treat it like any other. It is written in the same transaction as the monitor's state
row, so "the alert is raised" and "the row says so" cannot disagree after a crash.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.alerts.incoming import AlertStatus, IncomingAlert, ParsedNotification
from bot.alerts.ingest import PlaybookFor, StartEscalation, ingest
from bot.alerts.models import Alert
from bot.config import OWN_INTEGRATION, Config, own_integration
from bot.monitors.models import CheckOutage, MonitorState
from bot.severity import Severity

MONITOR_KINDS = ("check", "heartbeat", "watchdog")  # key prefixes; test alerts (test/…) are not monitors


@dataclass(frozen=True)
class Raise:
    """An alert to raise (or, with ``resolved``, to resolve) for the monitor ``key``."""

    key: str  # check/<name>, heartbeat/<name>, watchdog/<integration>, and a suffix for a second alert
    title: str
    severity: Severity
    alertname: str
    description: str = ""
    labels: tuple[tuple[str, str], ...] = ()
    team: str | None = None
    service: str | None = None  # the check's or job's name: what the message's Service field shows
    source_url: str | None = None


@dataclass
class AlertSink:
    """Where monitors raise alerts: the pipeline's ingest, with the composition root's escalation
    and playbook matching. ``changes`` counts the alerts raised or resolved, so a pass that changed
    none need not wake the senders."""

    config: Config
    escalate: StartEscalation
    playbook_for: PlaybookFor
    changes: int = 0

    def local(self, when: datetime, spec: str = "%H:%M:%S") -> str:
        """``when`` as the team reads it: in the config's time zone, the zone named."""
        return f"{when.astimezone(self.config.zone()):{spec} %Z}"

    async def fire(self, session: AsyncSession, alert: Raise, now: datetime) -> None:
        labels = {"alertname": alert.alertname, "source": OWN_INTEGRATION, **dict(alert.labels)}
        incoming = IncomingAlert(fingerprint=alert.key, title=alert.title, severity=alert.severity,
                                 description=alert.description, labels=labels, starts_at=now, service=alert.service,
                                 source_url=alert.source_url)
        await self._ingest(session, incoming, alert.team, now)

    async def resolve(self, session: AsyncSession, key: str, now: datetime, *, note: str | None = None,
                      team: str | None = None) -> None:
        """Resolve the open alert ``key`` if there is one; ``note`` is added to its description
        (the downtime, the beat that ended it), so the edited message says how it ended."""
        if note:
            open_alert = await session.scalar(
                select(Alert).where(Alert.integration == OWN_INTEGRATION, Alert.fingerprint == key,
                                    Alert.status != AlertStatus.RESOLVED))
            if open_alert is not None:
                open_alert.description = f"{open_alert.description}\n{note}".strip()
        incoming = IncomingAlert(fingerprint=key, title=key, severity=Severity.INFO, resolved=True, ends_at=now)
        await self._ingest(session, incoming, team, now)

    async def _ingest(self, session: AsyncSession, incoming: IncomingAlert, team: str | None, now: datetime) -> None:
        self.changes += 1
        result = await ingest(session, config=self.config, integration=own_integration(team),
                              notification=ParsedNotification(alerts=(incoming,), group_key=incoming.fingerprint),
                              now=now, escalate=self.escalate, playbook_for=self.playbook_for)
        del result  # the dispatcher finds changed groups by their version


async def retire_unwatched(session: AsyncSession, sink: AlertSink, watched: set[str], now: datetime) -> list[str]:
    """Resolve the open alerts of checks, heartbeats and Watchdogs no longer in the config, and forget
    their state (re-adding one later starts afresh). A removed monitor's alert would otherwise stay
    open for good, with nothing left to end it. Returns the keys retired."""
    open_keys = set((await session.scalars(
        select(Alert.fingerprint).where(Alert.integration == OWN_INTEGRATION,
                                        Alert.status != AlertStatus.RESOLVED))).all())
    states = set((await session.scalars(select(MonitorState.key))).all())
    gone = sorted(k for k in open_keys | states if k.split("/")[0] in MONITOR_KINDS and _root(k) not in watched)
    for key in gone:
        if key in open_keys:
            await sink.resolve(session, key, now, note="No longer watched: removed from the config.")
    stale = [k for k in gone if k in states]
    if stale:
        await session.execute(delete(MonitorState).where(MonitorState.key.in_(stale)))
    checks = [k.split("/")[1] for k in stale if k.startswith("check/")]
    if checks:  # an outage left open would count as downtime for good if the check came back
        await session.execute(update(CheckOutage).where(CheckOutage.check.in_(checks), CheckOutage.ended_at.is_(None))
                              .values(ended_at=now))
    return gone


def _root(key: str) -> str:
    """``check/api/slow`` → ``check/api``: the monitor a key belongs to."""
    return "/".join(key.split("/")[:2])
