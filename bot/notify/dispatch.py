"""Sends what the database says must be shown: alert messages and queued notifications.

The domain only writes rows (``AlertGroup.version`` above ``posted_version``, ``OutboxMessage``);
this loop turns them into Slack calls (and, through handlers, SMS). Work is claimed with a lease,
so a crash mid-send is retried after restart, and several replicas never pick the same row.
Because it works from the database, a ``kill -9`` right after a webhook's 202 loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import crashpoints
from bot.alerts.current import CurrentAlert, load_current
from bot.alerts.incoming import AlertStatus
from bot.alerts.models import AlertEvent, AlertGroup, AlertStorm
from bot.clock import Clock, max_sleep
from bot.db import dialect_of, idle_poll_seconds, lost_to_another_transaction, skip_locked, transaction
from bot.escalation.calls import cancel_ringing
from bot.heartbeat import Heartbeat
from bot.metrics import Metrics
from bot.notify import storms
from bot.notify.once import ChannelIds, Once, OwnPosts
from bot.notify.outbox_sender import Deferred as Deferred
from bot.notify.outbox_sender import MissingOutboxHandlers as MissingOutboxHandlers
from bot.notify.outbox_sender import OutboxHandler, OutboxSender
from bot.notify.pauses import ChannelPauses
from bot.notify.storm_posts import StormPoster
from bot.outbox import OutboxKind, OutboxMessage, ThreadReply
from bot.slack.blocks.alert import AlertMessage, alert_blocks, fallback_text, metadata, thread_text
from bot.slack.client import SlackClient
from bot.slack.errors import MessageNotFound, RateLimited, SlackError

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
BATCH = 50
POLL_SECONDS = 2.0  # the busy loop's interval, for readiness; idle, it sleeps until its next deadline
UNEXPECTED_DUE = 0.5  # something due that the pass did not take (another replica's claim): look again then


@dataclass(frozen=True)
class RenderContext:
    zone: ZoneInfo
    names: Mapping[str, str]
    playbook_name: Callable[[str], str | None]

    def message(self, alert: CurrentAlert) -> AlertMessage:
        """The alert message as it should look now: for the channel post and for page DMs alike."""
        group = alert.group
        return AlertMessage(group=group, alerts=alert.alerts, zone=self.zone, names=self.names,
                            playbook_name=self.playbook_name(group.playbook) if group.playbook else None,
                            silenced_until=alert.silenced_until)


async def load_alert_message(s: AsyncSession, gid: int, render: RenderContext) -> AlertMessage:
    return render.message(await load_current(s, gid))


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(2 ** attempts, 300))


class Dispatcher:
    def __init__(self, *, sessions: async_sessionmaker[AsyncSession], client: SlackClient, clock: Clock,
                 render: RenderContext, metrics: Metrics, outbox_client: SlackClient | None = None) -> None:
        """``client`` must not wait out rate limits (the alert messages fold into a storm instead);
        ``outbox_client``, which outbox handlers post with, may (by default it is ``client``)."""
        self._sessions = sessions
        self._slack = client
        self._clock = clock
        self._render = render
        self._metrics = metrics
        self._wake = asyncio.Event()
        self._pauses = ChannelPauses(sessions)  # channels Slack is rate limiting, until when
        self.channel_ids = ChannelIds(sessions, clock)
        self.once = Once(outbox_client or client, self.channel_ids, metrics)  # every outbox handler posts through it
        self._own = OwnPosts(client, self.channel_ids)  # alert messages: looked for before posting again
        self._storms = StormPoster(sessions=sessions, own=self._own, clock=clock, zone=render.zone,
                                   metrics=metrics, pauses=self._pauses)
        self._lock = asyncio.Lock()
        self._stopping = False
        self.heartbeat = Heartbeat(POLL_SECONDS)  # ticks per pass, and says how long it then sleeps; /readyz reports it
        self._poll = max_sleep(clock, idle_poll_seconds(sessions))  # at most this long asleep, see there
        self.outbox = OutboxSender(sessions=sessions, clock=clock, metrics=metrics, slack=self._slack)
        self.handlers: dict[OutboxKind, OutboxHandler] = self.outbox.handlers  # filled by the composition root
        self.handlers[OutboxKind.ALERT_THREAD] = self._send_thread_reply

    def check_handlers(self) -> None:
        """At start: refuse to run with an outbox kind nothing would send (:class:`MissingOutboxHandlers`)."""
        self.outbox.check_handlers()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        """Let :meth:`run` return after the pass in progress: cancelled mid-query, aiosqlite's
        worker thread would answer a loop that has closed ("Event loop is closed" at shutdown)."""
        self._stopping = True
        self._wake.set()

    async def recover(self) -> None:
        """On start-up with SQLite (one process by design) nothing else can hold a lease: whatever a
        crashed predecessor claimed, or backed off from, is due now. PostgreSQL replicas keep their
        leases, which expire on their own (``LEASE``) if their holder died."""
        async with transaction(self._sessions) as s:
            if dialect_of(s) != "sqlite":
                return
            await s.execute(update(AlertGroup).where(AlertGroup.posted_version < AlertGroup.version)
                            .values(sync_claimed_until=None))
            await s.execute(update(AlertStorm).where(AlertStorm.posted_version < AlertStorm.version)
                            .values(sync_claimed_until=None))
            await s.execute(update(OutboxMessage).where(OutboxMessage.sent_at.is_(None),
                                                        OutboxMessage.failed_at.is_(None))
                            .values(claimed_until=None))

    async def run(self) -> None:
        """Send due work whenever woken, and every few seconds for other replicas' work."""
        recovered = False
        while not self._stopping:
            try:
                if not recovered:
                    await self.recover()
                    recovered = True
                await self.flush()
            except Exception as exc:  # the loop must outlive any one bad row; the row records its error
                if lost_to_another_transaction(exc):  # PostgreSQL broke a deadlock; the work is still due
                    log.info("a dispatcher pass lost a deadlock to another transaction; the next one does its work")
                else:
                    log.exception("dispatcher pass failed")
            if not self._stopping:
                delay = await self.idle_delay()
                self.heartbeat.tick(asleep_for=delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), delay)
            self._wake.clear()

    async def idle_delay(self) -> float:
        """Seconds until the next work falls due (a retry, a rate limit's end, a row due later, a storm
        edit), at most the idle poll: nothing is scanned on a timer when nothing is due."""
        if self._poll <= POLL_SECONDS:
            return self._poll  # replicas: another's work may appear any moment
        try:
            found = [await self._next_group_due(), await storms.next_due(self._sessions), await self.outbox.next_due()]
        except Exception:  # noqa: BLE001 - the database is having a moment: look again soon
            log.warning("could not read when the next work is due; looking again shortly", exc_info=True)
            return POLL_SECONDS
        soonest = min((t for t in found if t is not None), default=None)
        if soonest is None:
            return self._poll
        wait = (soonest - self._clock.now()).total_seconds()
        return min(UNEXPECTED_DUE if wait <= 0 else max(wait, 0.01), self._poll)

    async def _next_group_due(self) -> datetime | None:
        """The end of the soonest backoff or pause of an alert message that is behind."""
        async with self._sessions() as s:
            return await s.scalar(select(func.min(AlertGroup.sync_claimed_until)).where(
                AlertGroup.version > AlertGroup.posted_version,
                or_(AlertGroup.slack_ts.is_not(None), AlertGroup.silence_id.is_(None))))

    async def flush(self) -> int:
        """Do all work that is due now; returns how many items were handled."""
        async with self._lock:
            total = 0
            while True:
                self.heartbeat.tick()
                n = await self._sync_groups() + await self._storms.sync_due() + await self.outbox.send_due()
                if n == 0:
                    return total
                total += n

    # --- alert messages ------------------------------------------------------------------------

    async def _claim_groups(self, now: datetime) -> list[int]:
        due = (
            (AlertGroup.version > AlertGroup.posted_version)
            & or_(AlertGroup.slack_ts.is_not(None), AlertGroup.silence_id.is_(None))
            & or_(AlertGroup.sync_claimed_until.is_(None), AlertGroup.sync_claimed_until <= now)
        )
        async with transaction(self._sessions) as s:
            query = select(AlertGroup.id).where(due).order_by(AlertGroup.id).limit(BATCH)
            query = skip_locked(query, s)
            ids = list(await s.scalars(query))
            if ids:
                # Counting the attempt at claim time means a crash mid-post is visible on retry.
                await s.execute(update(AlertGroup).where(AlertGroup.id.in_(ids))
                                .values(sync_claimed_until=now + LEASE, sync_attempts=AlertGroup.sync_attempts + 1))
        if ids:
            crashpoints.reached(crashpoints.Point.ALERT_CLAIMED)
        return ids

    async def _sync_groups(self) -> int:
        now = self._clock.now()
        ids = await self._claim_groups(now)
        if not ids:
            return 0
        async with self._sessions() as s:
            rows = await s.execute(select(AlertGroup.id, AlertGroup.channel, AlertGroup.slack_ts, AlertGroup.storm_id)
                                   .where(AlertGroup.id.in_(ids)))
            by_channel: dict[str, list[tuple[int, bool, bool]]] = defaultdict(list)
            for gid, channel, ts, storm_id in rows:
                by_channel[channel].append((gid, ts is None and storm_id is None, storm_id is not None))
        await asyncio.gather(*(self._sync_channel(ch, groups) for ch, groups in by_channel.items()))
        return len(ids)

    async def _sync_channel(self, channel: str, groups: list[tuple[int, bool, bool]]) -> None:
        """``groups``: (id, never shown, folded into a storm) for each claimed group of the channel."""
        now = self._clock.now()
        rate_limited = await self._pauses.load(channel, now) is not None  # also another replica's 429
        group_ids = [gid for gid, _, _ in groups]
        if any(new or folded for _, new, folded in groups):  # an open storm (maybe another replica's) folds them
            group_ids = await storms.fold(self._sessions, channel=channel, group_ids=group_ids, now=now,
                                          rate_limited=rate_limited)
        for gid in group_ids:
            now = self._clock.now()
            if paused := self._pauses.until(channel, now):
                await self._release(gid, paused, None, uncount=True)
                continue
            try:
                await self._sync_group(gid)
            except RateLimited as exc:
                until = now + timedelta(seconds=exc.retry_after or 1)
                await self._pauses.pause(channel, until)
                await self._release(gid, until, "ratelimited", uncount=True)
            except SlackError as exc:
                log.warning("could not show alert group %s in Slack: %s", gid, exc)
                await self._release(gid, None, exc.code)

    async def _release(self, gid: int, until: datetime | None, error: str | None, *, uncount: bool = False) -> None:
        """Give a claimed group back, to be tried again at ``until`` (or after a backoff)."""
        async with transaction(self._sessions) as s:
            group = await s.get_one(AlertGroup, gid)
            if uncount:  # waiting out a rate limit is not a failed attempt
                group.sync_attempts = max(group.sync_attempts - 1, 0)
            group.sync_claimed_until = until or self._clock.now() + _backoff(group.sync_attempts)
            group.sync_error = error

    async def _load_message(self, s: AsyncSession, gid: int) -> AlertMessage:
        return await load_alert_message(s, gid, self._render)

    async def _sync_group(self, gid: int) -> None:
        async with self._sessions() as s:
            msg = await self._load_message(s, gid)
        group = msg.group
        version = group.version
        blocks = [b.to_dict() for b in alert_blocks(msg)]
        text = fallback_text(msg)
        ts, channel_id = group.slack_ts, group.slack_channel_id
        if ts and channel_id:
            try:
                await self._slack.chat_update(channel=channel_id, ts=ts, blocks=blocks, text=text)
            except MessageNotFound:
                ts = None  # someone deleted it: post it again
        if not ts:
            # An earlier attempt may have posted and died before recording it: it looks before posting.
            retried = group.sync_attempts > 1 or bool(group.slack_channel_id)
            posted = await self._own.post(group.slack_channel_id or group.channel, metadata=metadata(gid),
                                          retried=retried, since=group.created_at, blocks=blocks, text=text,
                                          unfurl_links=False, unfurl_media=False)
            crashpoints.reached(crashpoints.Point.ALERT_POSTED)
            channel_id, ts = posted.channel, posted.ts
            if posted.found:
                await self._slack.chat_update(channel=channel_id, ts=ts, blocks=blocks, text=text)
            else:
                self._metrics.notifications.labels("slack", "alert").inc()
        async with transaction(self._sessions) as s:
            await s.execute(
                update(AlertGroup).where(AlertGroup.id == gid).values(
                    slack_ts=ts, slack_channel_id=channel_id, sync_claimed_until=None, sync_attempts=0,
                    sync_error=None, posted_version=version,
                )
            )
            if group.status != AlertStatus.FIRING:  # shown settled: a phone still ringing for it stops
                await cancel_ringing(s, gid, self._clock.now())

    # --- queued notifications ------------------------------------------------------------------

    async def _send_thread_reply(self, item: OutboxMessage) -> dict[str, object]:
        async with self._sessions() as s:
            event = await s.get_one(AlertEvent, ThreadReply.of(item).event_id)
            group = await s.get_one(AlertGroup, event.group_id)
            where = await storms.thread_of(s, group, event)
        if where is None:
            return {"skipped": "folded into an alert storm message, which counts it"}
        if not where.channel_id or not where.ts:
            raise Deferred()  # the message to reply to is not out yet
        text = where.prefix + thread_text(event, group, self._render.names, self._render.zone)
        posted = await self.once.row(item).post(where.channel_id, thread_ts=where.ts, text=text, what="thread")
        return {"ts": posted.ts}
