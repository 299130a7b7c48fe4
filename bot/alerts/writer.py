"""Group commit for alert webhooks: deliveries that arrive while one transaction is being written
wait and are written together in the next, so the cost of a commit (and of SQLite's single
writer) is shared by everyone waiting. Each caller still gets its answer only after the commit
that holds its alerts."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import crashpoints
from bot.alerts.ingest import Delivery, IngestResult, PlaybookFor, StartEscalation, ingest_many, no_playbook
from bot.clock import Clock
from bot.config import Config
from bot.db import run_again_if_lost, transaction

log = logging.getLogger(__name__)

MAX_ALERTS_PER_COMMIT = 1000


class Overloaded(Exception):
    """More alerts are waiting to be written than we accept; the sender should retry later."""


@dataclass
class _Job:
    delivery: Delivery
    done: asyncio.Future[IngestResult]

    @property
    def size(self) -> int:
        return max(len(self.delivery.notification.alerts), 1)


class IngestWriter:
    def __init__(self, *, sessions: async_sessionmaker[AsyncSession], config: Config, clock: Clock,
                 on_commit: Callable[[], None], escalate: StartEscalation, playbook_for: PlaybookFor = no_playbook,
                 max_waiting: int = 20_000) -> None:
        self._sessions, self._config, self._clock = sessions, config, clock
        self._escalate, self._playbook_for = escalate, playbook_for
        self._on_commit = on_commit
        self._max_waiting = max_waiting
        self._queue: list[_Job] = []
        self._waiting = 0
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, delivery: Delivery) -> IngestResult:
        """Store one delivery; returns once it is committed. Raises Overloaded, or the database's error."""
        job = _Job(delivery, asyncio.get_running_loop().create_future())
        if self._waiting + job.size > self._max_waiting:
            raise Overloaded(f"{self._waiting} alerts are waiting to be stored")
        self._queue.append(job)
        self._waiting += job.size
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_all(), name="ingest-writer")
        return await job.done

    async def _write_all(self) -> None:
        while self._queue:
            batch: list[_Job] = []
            size = 0
            while self._queue and (not batch or size + self._queue[0].size <= MAX_ALERTS_PER_COMMIT):
                job = self._queue.pop(0)
                batch.append(job)
                size += job.size
            try:
                await self._write(batch)
            finally:
                self._waiting -= size

    async def _write(self, batch: list[_Job]) -> None:
        try:
            results = await self._commit([j.delivery for j in batch])
        except Exception as exc:  # noqa: BLE001 - isolate the delivery that fails from the others
            if len(batch) == 1:
                _settle(batch[0].done, exc=exc)
                return
            for job in batch:  # one by one, so one bad delivery cannot fail its neighbours
                try:
                    [result] = await self._commit([job.delivery])
                except Exception as one_exc:  # noqa: BLE001
                    _settle(job.done, exc=one_exc)
                else:
                    _settle(job.done, result=result)
            self._on_commit()
            return
        for job, result in zip(batch, results, strict=True):
            _settle(job.done, result=result)
        self._on_commit()

    async def _commit(self, deliveries: list[Delivery]) -> list[IngestResult]:
        """Write ``deliveries`` in one transaction. With replicas on PostgreSQL, one that another
        transaction deadlocked with (the dispatcher folding a storm, a click acknowledging) may be
        rolled back by the server to let the other through; it changed nothing and is written again."""

        async def write() -> list[IngestResult]:
            async with transaction(self._sessions) as s:
                return await ingest_many(s, config=self._config, deliveries=deliveries, now=self._clock.now(),
                                         escalate=self._escalate, playbook_for=self._playbook_for)

        results = await run_again_if_lost(f"storing {len(deliveries)} alert deliveries", write)
        crashpoints.reached(crashpoints.Point.ALERT_STORED)
        return results


def _settle(done: asyncio.Future[IngestResult], *, result: IngestResult | None = None,
            exc: BaseException | None = None) -> None:
    if done.done():  # the caller went away (client disconnected); its alerts are stored all the same
        return
    if exc is not None:
        done.set_exception(exc)
    else:
        assert result is not None
        done.set_result(result)
