"""Sends outbox rows through the handler registered for their kind, and sees each row to an end.

Every row ends sent, or failed after its attempts — never stuck:

- an attempt is counted when the row is claimed, so a crash mid-send (even one that kills the
  process every time) is counted too, and a handler can tell a retry (``attempts > 1``) from a
  first try and look for what an earlier attempt may already have posted;
- whatever a handler raises — a :class:`~bot.delivery.DeliveryError` (Slack's or Twilio's, which
  says whether it is transient and how long to wait), a bug — is recorded on the row
  (``last_error``) and retried with a backoff; after its attempts the row is failed, which is
  logged in one line (kind, row id, error), counted in ``watchstander_outbox_failed_total{kind}``
  and, when the row belongs to an alert that has a message, said in that alert's thread;
- one row's failure never holds up the other rows of its batch;
- a row of a kind this process has no handler for (a typo, or a newer replica's kind) is retried
  like a transient error and then failed, not left unclaimed; and the dispatcher refuses to start
  unless every :class:`~bot.outbox.OutboxKind` has a handler (:meth:`OutboxSender.check_handlers`).

``Deferred`` is the one exception that is not a failed attempt: the row waits for something
else (its alert's message, the incident channel) and is looked at again shortly; a row that
waits longer than :data:`MAX_DEFER` is failed as well, so nothing waits forever.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import String, case, func, or_, select, type_coerce, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import crashpoints
from bot.alerts.models import AlertGroup
from bot.clock import Clock
from bot.db import skip_locked, transaction
from bot.delivery import DeliveryError
from bot.metrics import Metrics
from bot.outbox import OutboxKind, OutboxMessage
from bot.slack.blocks.outbox import failure_note
from bot.slack.client import SlackClient
from bot.slack.errors import SlackError

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
BATCH = 100
PARALLEL = 4  # rows sent at once (of different alerts; each alert's rows stay in order)
MAX_ATTEMPTS = 8         # transient trouble (Slack or Twilio down, rate limits, a locked database)
PERMANENT_ATTEMPTS = 3   # an error that will most likely repeat (a refusal, a bug)
DEFER_AGAIN = timedelta(seconds=2)
MAX_DEFER = timedelta(days=1)
ERROR_CHARS = 300

@dataclass(frozen=True)
class Done:
    """A handler's answer when what it has to record belongs in the transaction that marks the row sent
    (a page's status beside the row's ``sent_at``: one commit instead of two per page)."""

    result: dict[str, object]
    record: Callable[[AsyncSession], Awaitable[None]]


OutboxHandler = Callable[[OutboxMessage], Awaitable[dict[str, object] | Done]]

# The kind column as stored, which may be a kind this version does not know (a newer replica's):
# such a row is failed from its columns, since it cannot be loaded as an OutboxMessage.
STORED_KIND = type_coerce(OutboxMessage.kind, String())
KNOWN_KINDS = frozenset(kind.value for kind in OutboxKind)


class Deferred(Exception):
    """Not an error: the message cannot go yet (its parent post is not out); try again soon."""

    def __init__(self, waiting_for: str = "its parent message") -> None:
        super().__init__(waiting_for)
        self.waiting_for = waiting_for


class MissingOutboxHandlers(RuntimeError):
    """Raised at start when an outbox kind the bot can write has no handler to send it."""


@dataclass(frozen=True)
class Failure:
    """One failed attempt: ``error`` is short and safe to show (Slack's code, an exception type)."""

    error: str
    detail: str           # for the row and the log: the error with its message
    limit: int            # attempts allowed for this kind of error
    wait: timedelta | None = None

    @classmethod
    def of(cls, exc: Exception) -> Failure:
        if isinstance(exc, DeliveryError):
            wait = timedelta(seconds=exc.retry_after) if exc.retry_after else None
            limit = 1 if exc.final else MAX_ATTEMPTS if exc.transient else PERMANENT_ATTEMPTS
            return cls(exc.code, str(exc), limit, wait)
        name = type(exc).__name__
        detail = f"{name}: {exc}" if str(exc) else name
        transient = isinstance(exc, OSError | TimeoutError | OperationalError)
        return cls(name, detail[:ERROR_CHARS], MAX_ATTEMPTS if transient else PERMANENT_ATTEMPTS)


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(2 ** attempts, 300))


class OutboxSender:
    def __init__(self, *, sessions: async_sessionmaker[AsyncSession], clock: Clock, metrics: Metrics,
                 slack: SlackClient) -> None:
        self._sessions = sessions
        self._clock = clock
        self._metrics = metrics
        self._slack = slack
        self.handlers: dict[OutboxKind, OutboxHandler] = {}

    def check_handlers(self) -> None:
        """Every kind a producer can write must have a handler, or its rows would never go out."""
        missing = [kind.value for kind in OutboxKind if kind not in self.handlers]
        if missing:
            raise MissingOutboxHandlers("no outbox handler registered for kind(s) " + ", ".join(missing)
                                        + "; rows of these kinds would never be sent")
        for kind in OutboxKind:  # the failure counter exists from the start, at 0, for every kind
            self._metrics.outbox_failed.labels(kind.value)

    async def send_due(self) -> int:
        """Send every row due now; returns how many were handled.

        Rows of one alert (its thread replies, its pages) go one after another in the order they were
        written, so its thread reads in order; different alerts' rows go side by side, at most
        :data:`PARALLEL` at a time, so a paging storm is not sent one provider round trip at a time.
        Rows of no alert (channel posts, DMs, incident entries) keep one lane, in order, as well."""
        claimed = await self._claim(self._clock.now())
        lanes: dict[int | None, list[int]] = {}
        for item_id, group_id in claimed:
            lanes.setdefault(group_id, []).append(item_id)
        slots = asyncio.Semaphore(PARALLEL)

        async def lane(ids: list[int]) -> None:
            for item_id in ids:
                async with slots:
                    await self._send_guarded(item_id)

        await asyncio.gather(*(lane(ids) for ids in lanes.values()))
        await self._measure()
        return len(claimed)

    async def _send_guarded(self, item_id: int) -> None:
        try:
            await self._send_one(item_id)
        except Exception as exc:  # bookkeeping failed (the database?): the lease brings it back
            log.error("outbox row #%s: could not record the attempt: %s", item_id, Failure.of(exc).detail)

    async def _claim(self, now: datetime) -> list[tuple[int, int | None]]:
        async with transaction(self._sessions) as s:
            query = (
                select(OutboxMessage.id, OutboxMessage.group_id)
                .where(OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_(None),
                       OutboxMessage.due_at <= now,
                       or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until <= now))
                .order_by(OutboxMessage.id).limit(BATCH)
            )
            query = skip_locked(query, s)
            rows = [(item_id, group_id) for item_id, group_id in await s.execute(query)]
            if rows:
                await s.execute(update(OutboxMessage).where(OutboxMessage.id.in_([r[0] for r in rows])).values(
                    claimed_until=now + LEASE, attempts=OutboxMessage.attempts + 1))
        return rows

    async def _send_one(self, item_id: int) -> None:
        async with self._sessions() as s:
            stored_kind = await s.scalar(select(STORED_KIND).where(OutboxMessage.id == item_id))
            handler = self.handlers.get(OutboxKind(stored_kind)) if stored_kind in KNOWN_KINDS else None
            item = await s.get_one(OutboxMessage, item_id) if handler is not None else None
        if handler is None or item is None:
            error = f"no handler for outbox kind {stored_kind!r}"
            await self._failed(item_id, Failure(error, error, MAX_ATTEMPTS))
            return
        # No transaction is open while the handler talks to Slack or Twilio.
        try:
            outcome = await handler(item)
        except Deferred as wait:
            await self._deferred(item, wait)
            return
        except Exception as exc:  # any error is one failed attempt of this row, never of the batch
            log.debug("outbox row #%s (%s) raised", item_id, item.kind, exc_info=True)
            await self._failed(item_id, Failure.of(exc))
            return
        crashpoints.reached(crashpoints.Point.OUTBOX_HANDLED)
        result, record = (outcome.result, outcome.record) if isinstance(outcome, Done) else (outcome, None)
        async with transaction(self._sessions) as s:
            if record is not None:
                await record(s)
            await s.execute(update(OutboxMessage).where(OutboxMessage.id == item_id).values(
                sent_at=self._clock.now(), claimed_until=None, result=result))

    async def _deferred(self, item: OutboxMessage, wait: Deferred) -> None:
        now = self._clock.now()
        if now - item.created_at > MAX_DEFER:
            error = f"still waiting for {wait.waiting_for} after {MAX_DEFER.days} day(s)"
            await self._failed(item.id, Failure("waited too long", error, 0))
            return
        async with transaction(self._sessions) as s:  # waiting is not a failed attempt
            await s.execute(update(OutboxMessage).where(OutboxMessage.id == item.id).values(
                claimed_until=now + DEFER_AGAIN, attempts=OutboxMessage.attempts - 1))

    async def _failed(self, item_id: int, failure: Failure) -> None:
        now = self._clock.now()
        async with transaction(self._sessions) as s:
            attempts, group_id, kind = (await s.execute(
                select(OutboxMessage.attempts, OutboxMessage.group_id, STORED_KIND)
                .where(OutboxMessage.id == item_id))).one()
            row = update(OutboxMessage).where(OutboxMessage.id == item_id)
            if attempts < failure.limit:
                wait = failure.wait or _backoff(attempts)
                await s.execute(row.values(last_error=failure.detail, claimed_until=now + wait))
                log.warning("outbox row #%s (%s) attempt %s failed, next try in %ss: %s", item_id, kind,
                            attempts, int(wait.total_seconds()), failure.detail)
                return
            await s.execute(row.values(last_error=failure.detail, failed_at=now, claimed_until=None))
        log.error("outbox row #%s (%s) failed after %s attempt(s): %s", item_id, kind, attempts, failure.detail)
        self._metrics.outbox_failed.labels(kind).inc()
        if group_id is not None:
            await self._tell_thread(group_id, failure_note(kind, item_id, attempts, failure.error), item_id)

    async def _tell_thread(self, group_id: int, note: str, item_id: int) -> None:
        """Say so in the alert's thread, where the people who care about the alert look."""
        async with self._sessions() as s:
            group = await s.get(AlertGroup, group_id)
        if group is None or not group.slack_ts or not group.slack_channel_id:
            return
        try:
            await self._slack.chat_postMessage(channel=group.slack_channel_id, thread_ts=group.slack_ts, text=note)
        except SlackError as exc:  # the log line and the metric above still say it
            log.warning("could not note the failure of outbox row #%s in its alert's thread: %s", item_id, exc)

    async def next_due(self) -> datetime | None:
        """When the first pending row is due: its ``due_at``, or the end of its claim, backoff or wait."""
        due = case((OutboxMessage.claimed_until > OutboxMessage.due_at, OutboxMessage.claimed_until),
                   else_=OutboxMessage.due_at).label("due")
        soonest: datetime | None
        async with self._sessions() as s:
            soonest = await s.scalar(select(func.min(due)).where(OutboxMessage.sent_at.is_(None),
                                                                 OutboxMessage.failed_at.is_(None)))
        return soonest

    async def _measure(self) -> None:
        """The age of the oldest row that is due and neither sent nor failed (0 when none is)."""
        now = self._clock.now()
        async with self._sessions() as s:
            oldest = await s.scalar(select(func.min(OutboxMessage.due_at)).where(
                OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_(None), OutboxMessage.due_at <= now))
        self._metrics.outbox_oldest_pending.set(max((now - oldest).total_seconds(), 0) if oldest else 0)
