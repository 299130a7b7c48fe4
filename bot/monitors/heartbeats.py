"""Heartbeats from jobs (``/heartbeat/<name>``) and Alertmanager's Watchdog: things that must keep
reporting in. Silence is the failure: a missed deadline raises one alert, the next report resolves it.

Each watched thing has a :class:`~bot.monitors.models.MonitorState` row; its ``next_due_at`` is the
deadline (``every + grace`` after the last beat, ``every`` after the last Watchdog). The row is
locked while a beat or the deadline pass changes it, and the alert is written in that same
transaction, so two replicas, or a beat racing the deadline, raise it once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.config import Config, HeartbeatMonitor, Watchdog
from bot.db import run_again_if_lost, transaction
from bot.durations import format_config_duration, format_duration
from bot.monitors.models import MonitorState, ensure_states
from bot.monitors.raising import AlertSink, Raise
from bot.severity import Severity

MAX_REASON = 2000  # characters of a failure body kept (Slack shows the description's start anyway)
RESTART_GRACE = timedelta(minutes=5)  # at least, for a heartbeat whose deadline passed while the bot was down


@dataclass(frozen=True)
class Watched:
    """One thing that must report in: its state row's key, and how long silence may last."""

    key: str
    name: str
    deadline: timedelta  # after the last report (or the start of watching)
    restart_grace: timedelta  # a deadline that passed while the bot was down is this far from its start
    team: str | None
    severity: Severity
    kind: str  # "heartbeat" | "watchdog"


def heartbeat_key(name: str) -> str:
    return f"heartbeat/{name}"


def watchdog_key(integration: str) -> str:
    return f"watchdog/{integration}"


def watched(config: Config) -> list[Watched]:
    found = [Watched(key=heartbeat_key(h.name), name=h.name, deadline=h.every + h.grace,
                     restart_grace=max(h.grace, RESTART_GRACE), team=h.team, severity=h.severity, kind="heartbeat")
             for h in config.heartbeats]
    if (dog := config.watchdog) is not None:
        team = dog.team or next((i.team for i in config.integrations if i.name == dog.integration), None)
        found.append(Watched(key=watchdog_key(dog.integration), name=dog.integration, deadline=dog.every,
                             restart_grace=dog.every, team=team, severity=Severity.CRITICAL, kind="watchdog"))
    return found


@dataclass(frozen=True)
class Beat:
    """What a beat changed, for the HTTP answer."""

    name: str
    at: datetime
    next_due_at: datetime
    resolved: bool  # it ended a raised alert
    raised: bool  # it raised one (a failure report)


class Monitors:
    """Heartbeats and the Watchdog: record reports, and raise the alert when a deadline passes."""

    def __init__(self, *, sessions: async_sessionmaker[AsyncSession], config: Config, clock: Clock,
                 sink: AlertSink, wake: Callable[[], None]) -> None:
        self._sessions, self._config, self._clock, self._sink, self._wake = sessions, config, clock, sink, wake
        self._watched = {w.key: w for w in watched(config)}

    @property
    def any(self) -> bool:
        return bool(self._watched)

    @property
    def keys(self) -> set[str]:
        return set(self._watched)

    async def beat(self, monitor: HeartbeatMonitor, *, failure: str | None = None) -> Beat:
        """A job reported in: a beat, or (``failure``) a report that it failed, with its reason."""
        w = self._watched[heartbeat_key(monitor.name)]

        return await self._reported(w, failure, f"recording heartbeat {monitor.name}")

    async def watchdog_arrived(self, integration: str) -> None:
        """The Watchdog alert arrived through ``integration`` (it is recorded here, not stored as an alert)."""
        w = self._watched.get(watchdog_key(integration))
        if w is None:
            return

        await self._reported(w, None, "recording the Watchdog")

    async def _reported(self, w: Watched, failure: str | None, what: str) -> Beat:
        """Record a report in its own transaction (run again if PostgreSQL broke a deadlock), then
        tell the senders: it may have raised or resolved an alert."""

        async def work() -> Beat:
            async with transaction(self._sessions) as s:
                return await self._report(s, w, failure)

        result = await run_again_if_lost(what, work)
        self._wake()
        return result

    def is_watchdog(self, integration: str, alertname: str | None) -> bool:
        """``alertname``: the alert's ``alertname`` label, or its title. Through a PagerDuty-type
        integration, Alertmanager's default ``pagerduty_configs`` sends no labels but a summary like
        ``[FIRING:1] Watchdog (…)``, which matches too."""
        dog: Watchdog | None = self._config.watchdog
        if dog is None or dog.integration != integration or alertname is None:
            return False
        return alertname == dog.alertname or re.match(
            rf"\[FIRING:\d+\]\s+{re.escape(dog.alertname)}(\s|$)", alertname) is not None

    async def register(self) -> None:
        """At start: watch what has no state yet (its first deadline a full period from now), and set
        each deadline from the config as it is now, from the last report.

        A deadline that passed while the bot was down is moved to ``restart_grace`` from now: the
        job's beat, or Alertmanager's Watchdog, may have been refused while we were down, and a deploy
        must not page "late". A report that does not come within that grace still raises the alert."""
        if not self._watched:
            return

        async def work() -> None:
            now = self._clock.now()
            async with transaction(self._sessions) as s:
                await self._ensure_rows(s, now)
                rows = (await s.scalars(select(MonitorState).where(MonitorState.key.in_(list(self._watched)))
                                        .with_for_update())).all()
                for row in rows:
                    if row.alerted:
                        continue  # the alert is out; the next report ends it
                    w = self._watched[row.key]
                    last = max(t for t in (row.last_ok_at, row.last_failure_at, row.watching_since) if t is not None)
                    due = last + w.deadline
                    row.next_due_at = due if due > now else now + w.restart_grace

        await run_again_if_lost("registering heartbeats", work)

    async def run_due(self) -> int:
        """Raise the alert of every watched thing whose deadline has passed; how many were raised."""
        now = self._clock.now()

        async def work() -> int:
            raised = 0
            async with transaction(self._sessions) as s:
                await self._ensure_rows(s, now)
                rows = (await s.scalars(
                    select(MonitorState).where(MonitorState.key.in_(list(self._watched)),
                                               MonitorState.next_due_at <= now, MonitorState.alerted.is_(False))
                    .with_for_update())).all()
                for row in rows:
                    await self._sink.fire(s, self._late(self._watched[row.key], row, now), now)
                    row.alerted, row.down_since = True, row.next_due_at
                    raised += 1
            return raised

        raised = await run_again_if_lost("raising missed heartbeats", work)
        if raised:
            self._wake()
        return raised

    async def _ensure_rows(self, s: AsyncSession, now: datetime) -> None:
        """A newly configured heartbeat is watched from now: its first deadline is a full period away."""
        await ensure_states(s, {key: now + w.deadline for key, w in self._watched.items()}, now)

    async def _report(self, s: AsyncSession, w: Watched, failure: str | None) -> Beat:
        now = self._clock.now()
        await ensure_states(s, {w.key: now + w.deadline}, now)  # its own row only: start-up made the others
        row = await s.scalar(select(MonitorState).where(MonitorState.key == w.key).with_for_update())
        assert row is not None
        was_alerted = row.alerted
        row.next_due_at = now + w.deadline
        if failure is not None:
            row.last_failure_at, row.failure_reason = now, failure[:MAX_REASON]
            if not row.alerted:
                await self._sink.fire(s, self._failed(w, row.failure_reason), now)
                row.alerted, row.down_since = True, now
            return Beat(name=w.name, at=now, next_due_at=row.next_due_at, resolved=False, raised=not was_alerted)
        row.last_ok_at = now
        if row.alerted:
            quiet = now - (row.down_since or now)
            await self._sink.resolve(s, w.key, now, team=w.team,
                                     note=f"Reported in again at {self._sink.local(now, '%H:%M')} after {format_duration(quiet)}.")
            row.alerted, row.down_since = False, None
        return Beat(name=w.name, at=now, next_due_at=row.next_due_at, resolved=was_alerted, raised=False)

    def _late(self, w: Watched, row: MonitorState, now: datetime) -> Raise:
        last = row.last_ok_at
        since = (f"The last report was at {self._sink.local(last, '%Y-%m-%d %H:%M')} ({format_duration(now - last)} ago)."
                 if last else f"No report since watching began at {self._sink.local(row.watching_since, '%Y-%m-%d %H:%M')}.")
        if w.kind == "watchdog":
            dog = self._config.watchdog
            assert dog is not None
            return Raise(
                key=w.key, title=f"Monitoring pipeline is down: no {dog.alertname} alert from {w.name}",
                severity=Severity.CRITICAL, alertname="MonitoringPipelineDown", team=w.team,
                labels=(("integration", w.name),),
                description=(f"Alertmanager's always-firing {dog.alertname} alert has not arrived through "
                             f"{w.name} for {format_config_duration(dog.every)}: Prometheus, Alertmanager or the "
                             f"path to Watchstander is broken, and other alerts may not arrive either. {since}"))
        return Raise(key=w.key, title=f"Heartbeat {w.name} is late", severity=w.severity,
                     alertname=f"Heartbeat {w.name} missing", team=w.team, service=w.name, labels=(("heartbeat", w.name),),
                     description=f"No heartbeat within {format_config_duration(w.deadline)} (every + grace). {since}")

    def _failed(self, w: Watched, reason: str | None) -> Raise:
        text = (reason or "").strip() or "(no reason given)"
        return Raise(key=w.key, title=f"Heartbeat {w.name} reported a failure", severity=w.severity,
                     alertname=f"Heartbeat {w.name} failed", team=w.team, service=w.name, labels=(("heartbeat", w.name),),
                     description=f"The job reported a failure: {text}")
