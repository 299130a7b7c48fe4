"""Alert storms: when a channel gets more new alerts at once than Slack will take (about one message
per second per channel), or while Slack is rate limiting it, new alerts are folded into one storm
message that is edited in place, instead of a queue that would take hours to drain. Nothing is
dropped: folded alerts are stored, escalate as usual and are counted in the storm message."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.alerts.models import AlertEvent, AlertGroup, AlertStorm
from bot.db import transaction
from bot.slack.blocks.common import clip, escape
from bot.slack.blocks.storm import StormSummary

STORM_THRESHOLD = 8  # new alerts waiting in one channel in one pass
STORM_QUIET = timedelta(minutes=5)  # a storm ends after this long without new alerts


async def fold(sessions: async_sessionmaker[AsyncSession], *, channel: str, group_ids: list[int], now: datetime,
               rate_limited: bool) -> tuple[list[int], bool]:
    """Fold new groups into the channel's storm where needed. Returns the groups to post one by one,
    and whether the channel's storm is still open."""
    async with transaction(sessions) as s:
        groups = list(await s.scalars(select(AlertGroup).where(AlertGroup.id.in_(group_ids))))
        storm = await s.scalar(select(AlertStorm).where(AlertStorm.channel == channel,
                                                        AlertStorm.ended_at.is_(None)))
        if storm is not None and now - storm.last_added_at > STORM_QUIET:
            storm.ended_at = now
            storm.version += 1
            storm = None
        touched: set[int] = set()
        for g in groups:
            if g.storm_id is not None:  # a change to a folded alert: the storm message shows it
                _settle(g)
                touched.add(g.storm_id)
        fresh = [g for g in groups if g.slack_ts is None and g.storm_id is None]
        if fresh and (storm is not None or rate_limited or len(fresh) >= STORM_THRESHOLD):
            if storm is None:
                storm = AlertStorm(channel=channel, started_at=now, last_added_at=now, version=1, posted_version=0)
                s.add(storm)
                await s.flush()
            for g in fresh:
                g.storm_id = storm.id
                _settle(g)
            storm.last_added_at = now
            touched.add(storm.id)
        for storm_id in touched:
            changed = await s.get_one(AlertStorm, storm_id)
            changed.version += 1
        return [g.id for g in groups if g.storm_id is None], storm is not None


# What a folded alert still says in a thread (the storm message's): its paging. Acknowledgements and
# resolutions are counted in the storm message instead, so that acknowledging 2,000 alerts at once
# does not queue 2,000 replies behind Slack's rate limit.
STORM_THREAD_EVENTS = frozenset({"paged", "page_failed", "page_skipped", "not_escalated"})


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


def _settle(group: AlertGroup) -> None:
    group.posted_version = group.version
    group.sync_claimed_until = None
    group.sync_attempts = 0


async def due_storms(sessions: async_sessionmaker[AsyncSession], channel: str) -> list[int]:
    async with sessions() as s:
        return list(await s.scalars(select(AlertStorm.id).where(
            AlertStorm.channel == channel, AlertStorm.version > AlertStorm.posted_version)))


async def summary(s: AsyncSession, storm: AlertStorm) -> StormSummary:
    rows = (await s.execute(
        select(AlertGroup.severity, AlertGroup.status, AlertGroup.title, func.count())
        .where(AlertGroup.storm_id == storm.id)
        .group_by(AlertGroup.severity, AlertGroup.status, AlertGroup.title)
    )).all()
    by_severity: dict[str, int] = {}
    by_status: dict[str, int] = {}
    by_title: dict[str, int] = {}
    for severity, status, title, n in rows:
        by_severity[severity] = by_severity.get(severity, 0) + n
        by_status[status] = by_status.get(status, 0) + n
        by_title[title] = by_title.get(title, 0) + n
    top = sorted(by_title.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    return StormSummary(storm_id=storm.id, channel=storm.channel, started_at=storm.started_at,
                        ended_at=storm.ended_at, by_severity=by_severity, by_status=by_status, top_titles=top)
