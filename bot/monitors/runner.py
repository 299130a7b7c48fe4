"""The check runner: on the bot's event loop, probes each check when it is due.

- Due times live in ``monitor_states.next_due_at``. A new check's first probe is placed at a fixed
  fraction of its interval (from a hash of its name), so 500 checks at 30 s are spread over the 30 s
  rather than fired in lockstep, and a restart keeps each check's phase.
- Each pass claims what is due in one transaction, at most ``CONCURRENCY`` checks (so the pass
  takes about one probe timeout, inside the lease), with a lease (``lease_owner``/``lease_until``;
  ``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so with several replicas each check is probed by one
  at a time; probes run concurrently up to ``CONCURRENCY`` (the probe itself, an edge, reuses its
  connections); the results are written in one transaction, alerts included.
- The loop sleeps until the earliest due time it knows of, not on a fixed tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.config import Check, Config
from bot.db import run_again_if_lost, skip_locked, transaction
from bot.heartbeat import Heartbeat
from bot.metrics import Metrics
from bot.monitors.checks import CheckStates, check_key, hour_rollups, next_interval
from bot.monitors.models import MonitorState, ensure_states
from bot.monitors.probes import Probe, ProbeResult
from bot.monitors.raising import AlertSink

log = logging.getLogger(__name__)

CONCURRENCY = 50
EARLY = timedelta(milliseconds=500)  # a check due this soon is probed in this pass: fewer, fuller passes
CHECK_KEYS = ("check/", "check0")  # "0" follows "/": every key starting with check/ sorts between
LEASE_SLACK = timedelta(seconds=30)  # beyond the probe's timeout, before another replica may take it over
MAX_SLEEP = 5.0  # seconds; also how soon a check added by another replica's pass is noticed
MIN_SLEEP = EARLY.total_seconds()
FIRST_SPREAD = timedelta(minutes=1)


def first_due(check: Check, now: datetime) -> datetime:
    """Where a new check's first probe falls: a stable fraction (per name) of its interval, or of
    ``FIRST_SPREAD`` when that is shorter, so checks are spread out and a new 6-hour check is still
    probed within a minute."""
    fraction = int.from_bytes(hashlib.sha256(check.name.encode()).digest()[:4], "big") / 2**32
    return now + min(check.every, FIRST_SPREAD) * fraction


def next_due(previous: datetime, interval: timedelta, now: datetime) -> datetime:
    """The next probe ``interval`` after the previous due time, keeping the check's phase; after a
    long pause (the bot was stopped) the missed probes are skipped, not run back to back. A due time
    further ahead than ``interval`` (the clock was stepped back) is brought back to ``now + interval``."""
    missed = max((now - previous) // interval, 0)
    return min(previous + interval * (missed + 1), now + interval)


def probe_failure(exc: BaseException) -> ProbeResult:
    """A probe that raised (it should not): a failed result naming the error, so one check's bug
    never stops the other checks of its pass from being recorded."""
    return ProbeResult(ok=False, latency_ms=None, error=f"the probe failed: {type(exc).__name__}: {exc}"[:200])


def replica_name() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class CheckRunner:
    def __init__(self, *, sessions: async_sessionmaker[AsyncSession], config: Config, clock: Clock,
                 sink: AlertSink, wake: Callable[[], None], probe: Probe, metrics: Metrics | None = None,
                 owner: str | None = None) -> None:
        self._sessions, self._clock, self._wake, self._metrics = sessions, clock, wake, metrics
        self._checks = {check_key(c.name): c for c in config.checks}
        self._sink = sink
        self._states = CheckStates(sink)
        self.owner = owner or replica_name()
        self._probe = probe
        self._next_due: datetime | None = None
        self._stop = asyncio.Event()
        self._kick = asyncio.Event()
        self.heartbeat = Heartbeat(MAX_SLEEP)

    @property
    def any(self) -> bool:
        return bool(self._checks)

    @property
    def keys(self) -> set[str]:
        return set(self._checks)

    async def register(self) -> None:
        """Start watching the configured checks that have no state yet (at start: their first probe
        then falls within one interval of it)."""
        if not self._checks:
            return

        async def work() -> None:
            now = self._clock.now()
            async with transaction(self._sessions) as s:
                for key, row in (await self._ensure_rows(s, now)).items():
                    check = self._checks[key]
                    if row.next_due_at > now + check.every and row.lease_owner is None:
                        # its interval was shortened in the config (or the clock went back): not the old wait
                        row.next_due_at = first_due(check, now)

        await run_again_if_lost("registering checks", work)

    async def _ensure_rows(self, s: AsyncSession, now: datetime) -> dict[str, MonitorState]:
        return await ensure_states(s, {key: first_due(check, now) for key, check in self._checks.items()}, now)

    async def run_due(self) -> int:
        """Probe every check that is due now; how many were probed."""
        now = self._clock.now()
        due = await run_again_if_lost("claiming due checks", lambda: self._claim(now))
        if not due:
            return 0
        sem = asyncio.Semaphore(CONCURRENCY)
        started = time.perf_counter()

        async def one(check: Check) -> ProbeResult:
            async with sem:
                return await self._probe(check)

        outcomes = await asyncio.gather(*(one(check) for check, _late in due), return_exceptions=True)
        results = [probe_failure(r) if isinstance(r, BaseException) else r for r in outcomes]
        for (check, _late), outcome in zip(due, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                log.error("the probe of check %s raised", check.name, exc_info=outcome)
        log.debug("probed %d checks in %.0f ms", len(due), (time.perf_counter() - started) * 1000)
        done = self._clock.now()
        changes = self._sink.changes
        await run_again_if_lost("recording check results", lambda: self._record(due, results, done))
        self._observe(due, results)
        if self._sink.changes != changes:  # an alert was raised or resolved: the senders have work
            self._wake()
        return len(due)

    def _observe(self, due: list[tuple[Check, float]], results: list[ProbeResult]) -> None:
        if self._metrics is None:
            return
        for (check, late), result in zip(due, results, strict=True):
            self._metrics.check_probes.labels(check.name, "ok" if result.ok else "failed").inc()
            self._metrics.check_lateness.observe(late)

    def _mine(self) -> ColumnElement[bool]:
        """The check rows (a key range, not 500 bound keys: the primary key's index serves it)."""
        return and_(MonitorState.key >= CHECK_KEYS[0], MonitorState.key < CHECK_KEYS[1])

    async def _claim(self, now: datetime) -> list[tuple[Check, float]]:
        """Lease the checks due now (or within ``EARLY``) to this replica; each with how late its probe
        starts, in seconds. Looks first without writing: most passes find nothing due."""
        horizon = now + EARLY
        async with self._sessions() as s:
            soonest = await s.scalar(select(func.min(MonitorState.next_due_at)).where(
                self._mine(), or_(MonitorState.lease_until.is_(None), MonitorState.lease_until <= now)))
        if soonest is None or soonest > horizon:
            self._next_due = soonest
            return []
        async with transaction(self._sessions) as s:
            rows = (await s.scalars(skip_locked(
                select(MonitorState).where(
                    self._mine(), MonitorState.next_due_at <= horizon,
                    or_(MonitorState.lease_until.is_(None), MonitorState.lease_until <= now))
                .order_by(MonitorState.next_due_at).limit(CONCURRENCY), s))).all()
            due = []
            for row in rows:
                check = self._checks.get(row.key)
                if check is None:
                    continue  # another replica's config has it (a rolling deploy); that replica probes it
                row.lease_owner, row.lease_until = self.owner, now + check.timeout + LEASE_SLACK
                due.append((check, max((now - row.next_due_at).total_seconds(), 0.0)))
            return due

    async def _record(self, due: list[tuple[Check, float]], results: list[ProbeResult], now: datetime) -> None:
        keys = [check_key(c.name) for c, _ in due]
        async with transaction(self._sessions) as s:
            rows = {row.key: row for row in (await s.scalars(
                select(MonitorState).where(MonitorState.key.in_(keys)).with_for_update())).all()}
            # A row whose lease ran out was taken over by another replica, which records its own
            # probe; this one's result is dropped (and so is its rollup).
            mine = [(check, result) for (check, _late), result in zip(due, results, strict=True)
                    if (row := rows.get(check_key(check.name))) is not None and row.lease_owner == self.owner]
            rollups = await hour_rollups(s, [c.name for c, _ in mine], now)
            for check, result in mine:
                row = rows[check_key(check.name)]
                await self._states.record(s, check, row, result, now, rollups[check.name])
                row.next_due_at = next_due(row.next_due_at, next_interval(check, row), now)
                row.lease_owner, row.lease_until = None, None
            await s.flush()
            self._next_due = await s.scalar(select(func.min(MonitorState.next_due_at)).where(
                self._mine(), MonitorState.lease_until.is_(None)))

    def _sleep_for(self) -> float:
        if self._next_due is None:
            return MAX_SLEEP
        return min(max((self._next_due - self._clock.now()).total_seconds(), MIN_SLEEP), MAX_SLEEP)

    async def run(self) -> None:
        """The background loop, until :meth:`stop`."""
        while not self._stop.is_set():
            self.heartbeat.tick()
            try:
                await self.run_due()
            except Exception:  # the next pass retries; one bad pass must not end the checks
                log.exception("a check pass failed")
            self._kick.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._kick.wait(), timeout=self._sleep_for())

    def stop(self) -> None:
        self._stop.set()
        self._kick.set()
