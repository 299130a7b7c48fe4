"""Which weekly summary is due, and the record that keeps it from being posted twice.

Only the most recent scheduled instant at or before now is ever due. After downtime that spans
several scheduled instants the bot posts one summary — the latest week's, marked late — not a
backlog of weeks nobody will read. A week is recorded (unique on its start) in the same
transaction that queues its posts, so whatever restarts, retries or replicas do, each week is
posted once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Config
from bot.reports.models import WeeklySummaryRecord
from bot.reports.window import ReportWindow, scheduled_before, summary_zone_name, week_ending


@dataclass(frozen=True, slots=True)
class DueWeek:
    scheduled_at: datetime  # the instant the summary was due
    window: ReportWindow
    zone: ZoneInfo


def due_week(config: Config, now: datetime) -> DueWeek:
    """The week whose summary is due at ``now`` (posted or not)."""
    zone = ZoneInfo(summary_zone_name(config))
    at = scheduled_before(now, weekday=config.summary.weekday, at=config.summary.time, zone=zone)
    return DueWeek(scheduled_at=at, window=week_ending(at, zone, config.summary.time), zone=zone)


async def is_recorded(session: AsyncSession, week: DueWeek) -> bool:
    found = await session.scalar(select(WeeklySummaryRecord.id)
                                 .where(WeeklySummaryRecord.week_start == week.window.start))
    return found is not None


async def record_week(session: AsyncSession, week: DueWeek, *, channel: str, now: datetime) -> bool:
    """Record the week as posted; False if it already was. The unique index turns a race lost to
    another replica into an IntegrityError at this flush, which the caller treats as "already"."""
    if await is_recorded(session, week):
        return False
    session.add(WeeklySummaryRecord(week_start=week.window.start, week_end=week.window.end, channel=channel,
                                    recorded_at=now))
    await session.flush()
    return True
