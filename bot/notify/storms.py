"""Alert storms: when a channel gets more new alerts at once than Slack will take (about one message
per second per channel), or while Slack is rate limiting it, new alerts are folded into one storm
message that is edited in place, instead of a queue that would take hours to drain. Nothing is
dropped: folded alerts are stored, escalate as usual and are counted in the storm message.

This module keeps the rows true; :mod:`bot.notify.storm_posts` shows them in Slack. A storm whose
``version`` is above its ``posted_version`` is due work of its own, claimed with a lease like an
alert group, whether or not any alert of its channel is being sent at the time. Every change to a
storm bumps ``version`` in SQL (``version + 1``), so two replicas folding at once never lose one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.alerts.events import EventKind
from bot.alerts.incoming import AlertStatus
from bot.alerts.models import Alert, AlertEvent, AlertGroup, AlertStorm
from bot.db import run_again_if_lost, skip_locked, transaction, upsert
from bot.slack.blocks.common import clip, escape
from bot.slack.blocks.storm import StormSummary

STORM_THRESHOLD = 8  # new alerts waiting in one channel in one pass
STORM_QUIET = timedelta(minutes=5)  # a storm ends after this long without new alerts
LEASE = timedelta(seconds=60)
BATCH = 20

# What a folded alert still says in a thread (the storm message's): its paging. Acknowledgements and
# resolutions are counted in the storm message instead, so that acknowledging 2,000 alerts at once
# does not queue 2,000 replies behind Slack's rate limit.
STORM_THREAD_EVENTS = frozenset({EventKind.PAGED, EventKind.PAGE_FAILED, EventKind.PAGE_SKIPPED,
                                 EventKind.NOT_ESCALATED,
                                 EventKind.ACK_TIMED_OUT})  # says why a folded alert is paging again


async def fold(sessions: async_sessionmaker[AsyncSession], *, channel: str, group_ids: list[int], now: datetime,
               rate_limited: bool) -> list[int]:
    """Fold new groups into the channel's storm where needed (an open storm, Slack rate limiting the
    channel, or many new at once), and mark storms changed whose folded alerts changed. Returns the
    groups to post one by one. Run again if PostgreSQL aborts it for an ingest's sake (a replica
    storing new alerts of these groups)."""
    return await run_again_if_lost(f"folding alerts of {channel} into its storm", lambda: _fold(
        sessions, channel=channel, group_ids=group_ids, now=now, rate_limited=rate_limited))


async def _fold(sessions: async_sessionmaker[AsyncSession], *, channel: str, group_ids: list[int], now: datetime,
                rate_limited: bool) -> list[int]:
    async with transaction(sessions) as s:
        await _end_quiet(s, now, channel)
        groups = list(await s.scalars(select(AlertGroup).where(AlertGroup.id.in_(group_ids))))
        touched: set[int] = set()
        for g in groups:
            if g.storm_id is not None:  # a change to a folded alert: the storm message shows it
                _settle(g)
                touched.add(g.storm_id)
        fresh = [g for g in groups if g.slack_ts is None and g.storm_id is None]
        storm_id = await _open_storm_id(s, channel) if fresh else None
        if fresh and (storm_id is not None or rate_limited or len(fresh) >= STORM_THRESHOLD):
            storm_id = storm_id or await _open_storm(s, channel, now)
            for g in fresh:
                g.storm_id = storm_id
                _settle(g)
            await s.execute(update(AlertStorm).where(AlertStorm.id == storm_id).values(last_added_at=now))
            touched.add(storm_id)
        if touched:
            await s.execute(update(AlertStorm).where(AlertStorm.id.in_(touched))
                            .values(version=AlertStorm.version + 1))
        return [g.id for g in groups if g.storm_id is None]


async def _open_storm_id(s: AsyncSession, channel: str) -> int | None:
    return await s.scalar(select(AlertStorm.id).where(AlertStorm.channel == channel, AlertStorm.ended_at.is_(None)))


async def _open_storm(s: AsyncSession, channel: str, now: datetime) -> int:
    """The channel's open storm, opened now unless another replica just did (the unique index on open
    storms per channel makes the second insert do nothing, and both use the one storm)."""
    await s.execute(upsert(s, AlertStorm).values(
        channel=channel, started_at=now, last_added_at=now, version=1, posted_version=0, sync_attempts=0,
    ).on_conflict_do_nothing(index_elements=[AlertStorm.channel], index_where=AlertStorm.ended_at.is_(None)))
    storm_id = await _open_storm_id(s, channel)
    assert storm_id is not None  # inserted, or kept by the other replica's committed insert
    return storm_id


def _quiet(now: datetime) -> ColumnElement[bool]:
    return AlertStorm.ended_at.is_(None) & (AlertStorm.last_added_at <= now - STORM_QUIET)


async def _end_quiet(s: AsyncSession, now: datetime, channel: str | None = None) -> None:
    """End open storms that have had no new alert for ``STORM_QUIET``; their message then says so."""
    quiet = _quiet(now)
    if channel is not None:
        quiet &= AlertStorm.channel == channel
    await s.execute(update(AlertStorm).where(quiet).values(ended_at=now, version=AlertStorm.version + 1)
                    .execution_options(synchronize_session=False))


def _settle(group: AlertGroup) -> None:
    group.posted_version = group.version
    group.sync_claimed_until = None
    group.sync_attempts = 0


# --- the storm message as due work -------------------------------------------------------------

@dataclass(frozen=True)
class StormClaim:
    """A storm this replica is bringing up to date, until ``lease`` (its claim's token: another
    replica that takes the storm over after the lease has a different one)."""

    storm_id: int
    lease: datetime


async def next_due(sessions: async_sessionmaker[AsyncSession]) -> datetime | None:
    """When a storm next needs its message looked at: the end of a claim, backoff or edit interval
    of one that is behind, or the moment an open storm has been quiet long enough to end."""
    async with sessions() as s:
        behind = await s.scalar(select(func.min(AlertStorm.sync_claimed_until))
                                .where(AlertStorm.version > AlertStorm.posted_version))
        quiet_since = await s.scalar(select(func.min(AlertStorm.last_added_at)).where(AlertStorm.ended_at.is_(None)))
    ends = quiet_since + STORM_QUIET if quiet_since is not None else None
    return min((t for t in (behind, ends) if t is not None), default=None)


async def claim_due(sessions: async_sessionmaker[AsyncSession], now: datetime) -> list[StormClaim]:
    """End quiet storms, then claim storms whose message is behind (never posted, or an edit is
    missing), skipping those waiting out a lease, a backoff or Slack's ``Retry-After``."""
    due = (AlertStorm.version > AlertStorm.posted_version) & or_(
        AlertStorm.sync_claimed_until.is_(None), AlertStorm.sync_claimed_until <= now)
    quiet = _quiet(now)
    async with sessions() as s:  # a read first: most passes have nothing to do, and need no write lock
        if await s.scalar(select(AlertStorm.id).where(due | quiet).limit(1)) is None:
            return []
    lease = now + LEASE
    async with transaction(sessions) as s:
        await _end_quiet(s, now)
        query = select(AlertStorm.id).where(due).order_by(AlertStorm.id).limit(BATCH)
        query = skip_locked(query, s)
        ids = list(await s.scalars(query))
        if ids:
            await s.execute(update(AlertStorm).where(AlertStorm.id.in_(ids)).values(
                sync_claimed_until=lease, sync_attempts=AlertStorm.sync_attempts + 1))
    return [StormClaim(storm_id, lease) for storm_id in ids]


def _held(claim: StormClaim) -> ColumnElement[bool]:
    return (AlertStorm.id == claim.storm_id) & (AlertStorm.sync_claimed_until == claim.lease)


async def release(sessions: async_sessionmaker[AsyncSession], claim: StormClaim, until: datetime, error: str | None,
                  *, uncount: bool = False) -> None:
    """Give a claimed storm back, to be tried again at ``until``; waiting out a rate limit is not a
    failed attempt (``uncount``). A claim another replica has taken over is left to it."""
    attempts = case((AlertStorm.sync_attempts > 0, AlertStorm.sync_attempts - 1), else_=0) if uncount \
        else AlertStorm.sync_attempts
    async with transaction(sessions) as s:
        await s.execute(update(AlertStorm).where(_held(claim)).values(
            sync_claimed_until=until, sync_error=error, sync_attempts=attempts))


async def posted(sessions: async_sessionmaker[AsyncSession], claim: StormClaim, *, channel_id: str, ts: str,
                 version: int, next_edit_at: datetime | None) -> bool:
    """Record the message as showing ``version``; a later change waits for ``next_edit_at``.

    False if the claim was lost meanwhile (this replica stalled past its lease and another took the
    storm over): nothing is recorded, and the storm is marked changed, so that whoever holds it now
    edits the message again after this replica's possibly older figures."""
    async with transaction(sessions) as s:
        done = await s.execute(update(AlertStorm).where(_held(claim)).values(
            slack_channel_id=channel_id, slack_ts=ts, posted_version=version, sync_claimed_until=next_edit_at,
            sync_attempts=0, sync_error=None))
        if done.rowcount == 1:  # type: ignore[attr-defined]
            return True
        await s.execute(update(AlertStorm).where(AlertStorm.id == claim.storm_id)
                        .values(version=AlertStorm.version + 1))
        return False


# --- what the storm message shows --------------------------------------------------------------

async def summary(s: AsyncSession, storm: AlertStorm) -> StormSummary:
    """Every alert of every group folded into the storm, by severity, state and name."""
    state = case((Alert.status == AlertStatus.RESOLVED, Alert.status), else_=AlertGroup.status)
    rows = (await s.execute(
        select(Alert.severity, state, Alert.title, func.count())
        .join(AlertGroup, Alert.group_id == AlertGroup.id)
        .where(AlertGroup.storm_id == storm.id)
        .group_by(Alert.severity, state, Alert.title)
    )).all()
    groups = await s.scalar(select(func.count()).select_from(AlertGroup).where(AlertGroup.storm_id == storm.id))
    by_severity: dict[str, int] = {}
    by_status: dict[str, int] = {}
    by_title: dict[str, int] = {}
    for severity, status, title, n in rows:
        by_severity[severity] = by_severity.get(severity, 0) + n
        by_status[status] = by_status.get(status, 0) + n
        by_title[title] = by_title.get(title, 0) + n
    top = sorted(by_title.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    return StormSummary(storm_id=storm.id, channel=storm.channel, started_at=storm.started_at,
                        last_added_at=storm.last_added_at, ended_at=storm.ended_at, groups=groups or 0,
                        by_severity=by_severity, by_status=by_status, top_titles=top)


# --- folded alerts' threads ----------------------------------------------------------------------

@dataclass(frozen=True)
class ThreadTarget:
    """Where an alert's thread reply goes; no ``ts`` yet: the message is not out yet."""

    channel_id: str | None
    ts: str | None
    prefix: str = ""  # in a storm message's thread, which alert the reply is about


async def thread_of(s: AsyncSession, group: AlertGroup, event: AlertEvent) -> ThreadTarget | None:
    """The alert's own message, or for a folded alert the storm message (None: no reply at all)."""
    if group.storm_id is None or group.slack_ts:
        return ThreadTarget(group.slack_channel_id, group.slack_ts)
    if event.kind not in STORM_THREAD_EVENTS:
        return None
    channel_id, ts = await storm_message(s, group) or (None, None)
    return ThreadTarget(channel_id, ts, prefix=f"*{escape(clip(group.title, 150))}*: ")


async def storm_message(s: AsyncSession, group: AlertGroup) -> tuple[str, str] | None:
    """(channel id, ts) of the storm message a folded alert is shown in, once it is posted."""
    if group.storm_id is None:
        return None
    storm = await s.get(AlertStorm, group.storm_id)
    if storm is None or not storm.slack_ts or not storm.slack_channel_id:
        return None
    return storm.slack_channel_id, storm.slack_ts
