"""The due-step runner: sleeps until the earliest deadline in the database, then runs what is due.

Deadlines are rows (``escalations.next_at``, ``alert_groups.snoozed_until`` for snoozes and
``alert_groups.ack_timeout_at`` for acknowledgements that run out), so a
restart or a crash loses none of them. The runner sleeps exactly until the earliest one, or until
woken (new deadlines written in this process call :meth:`EscalationRunner.wake`), or at most
``poll_seconds`` (deadlines another replica wrote) — not a slow fixed poll, and near zero CPU
while nothing is due.

Exactly once: a due step is claimed, run and advanced in one transaction together with its pages
and their outbox intents. On PostgreSQL the claim takes row locks with ``SKIP LOCKED`` so several
replicas share the work without running a step twice; on SQLite ``BEGIN IMMEDIATE`` makes this
the only writer while it runs. A crash before commit leaves the step due; after commit, the
outbox owns the sending.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from prometheus_client import CollectorRegistry, Histogram
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import crashpoints
from bot.alerts.incoming import AlertStatus
from bot.alerts.models import AlertGroup
from bot.clock import Clock, max_sleep
from bot.db import skip_locked, transaction
from bot.escalation.ack_timeout import due_ack_timeouts, next_ack_timeout, reopen_unresolved
from bot.escalation.engine import Paging, SharedLookups, reopen_snoozed, run_due_step
from bot.escalation.models import Escalation
from bot.heartbeat import Heartbeat

log = logging.getLogger(__name__)

BATCH = 100
HOLD_SECONDS = 0.2  # longest a pass keeps the database's write lock before committing what it did
POLL_SECONDS = 2.0  # the default poll (replicas); build_paging passes bot.db.idle_poll_seconds
RETRY_AFTER_ERROR = 2.0  # a pass that raised (a locked database…) is tried again this soon
RETRY_BROKEN_STEP = timedelta(seconds=30)  # a step that raised is tried again this much later
_MIN_SLEEP = 0.01


class EscalationRunner:
    def __init__(self, *, sessions: async_sessionmaker[AsyncSession], clock: Clock, paging: Paging,
                 notify: Callable[[], None], registry: CollectorRegistry | None = None,
                 poll_seconds: float = POLL_SECONDS) -> None:
        """``notify`` tells the senders that pages were queued (the dispatcher's ``wake``)."""
        self._sessions = sessions
        self._clock = clock
        self._paging = paging
        self._notify = notify
        self._poll = max_sleep(clock, poll_seconds)
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._stopping = False
        # Ticks per pass and per batch, and says how long it then sleeps; /readyz reports it.
        self.heartbeat = Heartbeat(max_sleep(clock, POLL_SECONDS))
        self._lateness = Histogram(
            "watchstander_escalation_step_lateness_seconds", "How late escalation steps ran after their deadline",
            registry=registry, buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 30, 300))

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        """Let :meth:`run` return after the pass in progress (cancelling it mid-transaction would
        leave a database connection working for a loop that is about to close)."""
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        """Run due work, then sleep until the next deadline (or a wake-up), until stopped."""
        while not self._stopping:
            self.heartbeat.tick()
            self._wake.clear()
            try:
                handled = await self.run_due()
                delay = await self._seconds_to_next(handled)
            except Exception:  # the loop must outlive a broken database moment; the rows wait
                log.exception("escalation pass failed")
                delay = min(self._poll, RETRY_AFTER_ERROR)
            self.heartbeat.tick(asleep_for=delay)
            if not self._wake.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), delay)

    async def run_due(self) -> int:
        """Run every step, snooze end and acknowledgement timeout that is due now; returns how many were handled."""
        async with self._lock:
            total = 0
            while n := await self._reopen_snoozes() + await self._reopen_acks() + await self._run_steps():
                self.heartbeat.tick()
                total += n
                self._notify()  # after each commit, so pages go out while a storm keeps us busy
        return total

    async def next_deadline(self) -> datetime | None:
        async with self._sessions() as s:
            step = await s.scalar(select(Escalation.next_at).where(Escalation.next_at.is_not(None))
                                  .order_by(Escalation.next_at).limit(1))
            snooze = await s.scalar(select(AlertGroup.snoozed_until)
                                    .where(AlertGroup.snoozed_until.is_not(None),
                                           AlertGroup.status == AlertStatus.FIRING)
                                    .order_by(AlertGroup.snoozed_until).limit(1))
            ack = await next_ack_timeout(s)
        return min((d for d in (step, snooze, ack) if d is not None), default=None)

    async def _seconds_to_next(self, handled: int) -> float:
        deadline = await self.next_deadline()
        if deadline is None:
            return self._poll
        wait = (deadline - self._clock.now()).total_seconds()
        if wait <= 0 and handled == 0:
            wait = 0.05  # due but not ours to take (another replica holds it): look again shortly
        return min(max(wait, _MIN_SLEEP), self._poll)

    async def _run_steps(self) -> int:
        """One transaction's worth of due steps: up to BATCH, or as many as fit in HOLD_SECONDS, so
        the senders (which need the same SQLite write lock) get their turn during a storm."""
        now = self._clock.now()
        started = time.monotonic()
        deadlines: list[datetime] = []
        handled = 0
        async with transaction(self._sessions) as s:
            query = (select(Escalation).where(Escalation.next_at <= now)
                     .order_by(Escalation.next_at, Escalation.id).limit(BATCH))
            due = list(await s.scalars(skip_locked(query, s)))
            shared = SharedLookups(alerts=list(await s.scalars(
                select(AlertGroup).where(AlertGroup.id.in_([e.group_id for e in due])))))
            for esc in due:
                if time.monotonic() - started > HOLD_SECONDS:
                    break  # the rest stay due (and, on PostgreSQL, unlocked at commit) for the next pass
                assert esc.next_at is not None
                deadline = esc.next_at
                handled += 1
                try:
                    async with s.begin_nested():
                        report = await run_due_step(s, esc, self._paging, self._clock.now(), shared)
                except Exception:
                    log.exception("escalation step for alert #%s failed; retrying in %s", esc.group_id,
                                  RETRY_BROKEN_STEP)
                    await s.refresh(esc)
                    esc.next_at = now + RETRY_BROKEN_STEP
                    continue
                if report is not None:
                    deadlines.append(deadline)
            if handled:
                crashpoints.reached(crashpoints.Point.STEPS_RUN)
        if handled:
            crashpoints.reached(crashpoints.Point.STEPS_COMMITTED)
        done = self._clock.now()
        for deadline in deadlines:
            self._lateness.observe(max((done - deadline).total_seconds(), 0.0))
        return handled

    async def _reopen_snoozes(self) -> int:
        now = self._clock.now()
        async with transaction(self._sessions) as s:
            query = (select(AlertGroup.id)
                     .where(AlertGroup.snoozed_until.is_not(None), AlertGroup.snoozed_until <= now,
                            AlertGroup.status == AlertStatus.FIRING)
                     .order_by(AlertGroup.snoozed_until).limit(BATCH))
            ids = list(await s.scalars(skip_locked(query, s)))
            reopened = [gid for gid in ids if await reopen_snoozed(s, gid, now)]
        return len(reopened)

    async def _reopen_acks(self) -> int:
        """Acknowledged alerts whose ``ack_timeout`` ran out fire again; their policies restart."""
        now = self._clock.now()
        async with transaction(self._sessions) as s:
            ids = await due_ack_timeouts(s, now, BATCH)
            reopened = [gid for gid in ids if await reopen_unresolved(s, gid, now)]
        return len(reopened)
