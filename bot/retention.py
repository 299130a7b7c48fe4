"""Retention: what the database keeps, and the daily job that prunes the rest.

``retention:`` in the config sets how long each kind of record is kept after it is over:

- ``alerts`` (400 days): a resolved alert group, with its alerts, events, escalation, pages and
  outbox rows; the silences, storms, overrides, shift swaps, handoffs and weekly summaries of that age too.
  400 days so the weekly summary can still compare a week with the same week a year before.
- ``incidents`` (400 days): a resolved incident with its timeline, roles, action items, checklist
  and alert links. An alert group linked to an incident is kept as long as the incident.
- ``seen_requests`` (7 days): the ids of Slack events and Twilio messages already acted on. Slack
  and Twilio retry within minutes, so a week is plenty.
- ``outbox`` (7 days): sent (or cancelled) queued messages. A message that *failed* is evidence
  of a problem and stays as long as its alert (``alerts``).
- Checks: an outage that is over is kept as long as ``alerts``; the hourly probe rollups
  (latency p50/p95, probe counts) for :data:`~bot.monitors.models.ROLLUPS_KEPT`.
- The hourly counts of informational SMS answers per number, for a day. (Who replied STOP is kept
  until they reply START.)

Nothing open is ever pruned: a firing or acknowledged alert, an unresolved incident, a pending
outbox row. The job deletes in batches of :data:`BATCH` rows, one short transaction each, and
yields between them, so ingest (which shares SQLite's single writer) waits at most one batch.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TypeVar, cast

from apscheduler.schedulers.base import BaseScheduler
from sqlalchemy import ColumnElement, CursorResult, Delete, Select, and_, delete, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute

from bot.alerts.emails import EmailThread
from bot.alerts.incoming import AlertStatus
from bot.alerts.models import Alert, AlertEvent, AlertGroup, AlertStorm, ChannelPause, Silence
from bot.clock import Clock
from bot.config import Retention
from bot.db import create_engine, migrate, session_factory, transaction
from bot.escalation.models import Escalation, PageRecord
from bot.escalation.sms_hygiene import COUNTS_KEPT, SmsReplyCount
from bot.idempotency import SeenRequest
from bot.incidents.models import (
    ActionItem,
    ChecklistTick,
    Incident,
    IncidentAlert,
    IncidentRole,
    TimelineEntry,
)
from bot.monitors.models import ROLLUPS_KEPT, CheckOutage, CheckRollup
from bot.oncall.models import HandoffRow, OverrideRow, ShiftSwapRow
from bot.outbox import OutboxMessage
from bot.reports.models import WeeklySummaryRecord

_Key = TypeVar("_Key")  # what a pruning query selects: one key column

log = logging.getLogger(__name__)

BATCH = 500  # rows (or alert groups, incidents) per transaction
JOB_ID = "retention"
FIRST_RUN_AFTER = timedelta(minutes=10)  # after start, when start-up work is done
PAUSE_AFTER = timedelta(days=1)  # a rate-limit pause is stale this long after it ran out


@dataclass
class PruneReport:
    """Rows deleted per table, and how many transactions that took."""

    deleted: dict[str, int] = field(default_factory=dict)
    batches: int = 0

    def add(self, table: str, n: int) -> None:
        if n:
            self.deleted[table] = self.deleted.get(table, 0) + n

    @property
    def total(self) -> int:
        return sum(self.deleted.values())

    def describe(self) -> str:
        if not self.deleted:
            return "nothing to prune"
        return ", ".join(f"{n} {table}" for table, n in sorted(self.deleted.items()))


class Pruner:
    def __init__(self, *, sessions: async_sessionmaker[AsyncSession], clock: Clock, retention: Retention,
                 batch: int = BATCH) -> None:
        self._sessions = sessions
        self._clock = clock
        self._retention = retention
        self._batch = batch

    async def run(self) -> PruneReport:
        """Prune everything past its retention, batch by batch."""
        now = self._clock.now()
        report = PruneReport()
        r = self._retention
        old = now - r.alerts
        await self._rows(report, SeenRequest.key, SeenRequest.at < now - r.seen_requests)
        await self._rows(report, OutboxMessage.id,
                         and_(OutboxMessage.sent_at.is_not(None), OutboxMessage.sent_at < now - r.outbox))
        # A resolved incident, with everything that hangs off it.
        await self._prune(report, select(Incident.id).where(Incident.resolved_at.is_not(None),
                                                            Incident.resolved_at < now - r.incidents),
                          (TimelineEntry.incident_id, IncidentRole.incident_id, ActionItem.incident_id,
                           ChecklistTick.incident_id, IncidentAlert.incident_id, Incident.id))
        # A resolved alert group, with everything that hangs off it; one an incident still links to
        # stays as long as the incident.
        await self._prune(report, select(AlertGroup.id).where(
                              AlertGroup.status == AlertStatus.RESOLVED, AlertGroup.resolved_at < old,
                              ~exists().where(IncidentAlert.group_id == AlertGroup.id)),
                          (AlertEvent.group_id, PageRecord.group_id, Escalation.group_id, OutboxMessage.group_id,
                           EmailThread.group_id, Alert.group_id, AlertGroup.id))
        await self._rows(report, AlertStorm.id, and_(AlertStorm.ended_at.is_not(None), AlertStorm.ended_at < old,
                                                     ~exists().where(AlertGroup.storm_id == AlertStorm.id)))
        await self._rows(report, Silence.id, and_(func.coalesce(Silence.ended_early_at, Silence.ends_at) < old,
                                                  ~exists().where(AlertGroup.silence_id == Silence.id)))
        # A shift swap once both of its shifts are that old (answered or not), before the overrides it made.
        await self._rows(report, ShiftSwapRow.id, and_(ShiftSwapRow.asker_end < old, ShiftSwapRow.other_end < old))
        await self._rows(report, OverrideRow.id, and_(OverrideRow.ends_at < old, ~exists().where(
            (ShiftSwapRow.asker_override_id == OverrideRow.id) | (ShiftSwapRow.other_override_id == OverrideRow.id))))
        await self._rows(report, HandoffRow.id, HandoffRow.at < old)
        await self._rows(report, WeeklySummaryRecord.id, WeeklySummaryRecord.week_end < old)
        await self._rows(report, ChannelPause.channel, ChannelPause.until < now - PAUSE_AFTER)
        # Checks: an outage over for as long as a resolved alert is kept; the hourly rollups after a month.
        await self._rows(report, CheckOutage.id, and_(CheckOutage.ended_at.is_not(None), CheckOutage.ended_at < old))
        await self._rows(report, CheckRollup.hour, CheckRollup.hour < now - ROLLUPS_KEPT)
        await self._rows(report, SmsReplyCount.hour, SmsReplyCount.hour < now - COUNTS_KEPT)
        return report

    async def _rows(self, report: PruneReport, key: InstrumentedAttribute[object], where: ColumnElement[bool]) -> None:
        """Delete the rows of ``key``'s table matching ``where``."""
        await self._prune(report, select(key).where(where), (key,))

    async def _prune(self, report: PruneReport, over: Select[_Key],
                     referencing: Sequence[InstrumentedAttribute[object]]) -> None:
        """Take ``batch`` keys at a time from ``over`` and, in one transaction per batch, delete the rows
        whose column in ``referencing`` holds one, table by table in that order (children first)."""
        while keys := await self._batch_of(over):
            async with transaction(self._sessions) as s:
                for column in referencing:
                    deleted = await _delete(s, delete(column.class_).where(column.in_(keys)))
                    report.add(column.class_.__tablename__, deleted)
            await self._next_batch(report)

    async def _batch_of(self, query: Select[_Key]) -> Sequence[_Key]:
        async with self._sessions() as s:
            return (await s.scalars(query.limit(self._batch))).all()

    async def _next_batch(self, report: PruneReport) -> None:
        report.batches += 1
        await asyncio.sleep(0)  # let a waiting ingest commit between two batches


async def _delete(s: AsyncSession, statement: Delete) -> int:
    result = cast(CursorResult[tuple[()]], await s.execute(statement))  # a DELETE's result counts its rows
    return result.rowcount


async def prune_database(database_url: str, retention: Retention, clock: Clock) -> PruneReport:
    """One pruning pass over the database at ``database_url`` (``watchstander prune``), brought up to
    date first like ``serve`` does."""
    await migrate(database_url)
    engine = create_engine(database_url)
    try:
        return await Pruner(sessions=session_factory(engine), clock=clock, retention=retention).run()
    finally:
        await engine.dispose()


def schedule_retention(scheduler: BaseScheduler, pruner: Pruner, clock: Clock) -> None:
    """Daily; the first run :data:`FIRST_RUN_AFTER` after start, so a bot that restarts daily still prunes."""
    # A start a day earlier than the first run: the trigger itself then fires first at that run.
    start = clock.now() + FIRST_RUN_AFTER - timedelta(days=1)
    scheduler.add_job(_job, "interval", days=1, start_date=start, args=[pruner], id=JOB_ID, replace_existing=True,
                      coalesce=True, max_instances=1, misfire_grace_time=3600)


async def _job(pruner: Pruner) -> None:
    try:
        report = await pruner.run()
    except Exception:  # the next day retries; a failure must not stop the schedule
        log.exception("the retention job failed")
        return
    if report.total:
        log.info("retention: pruned %s in %d batches", report.describe(), report.batches)

