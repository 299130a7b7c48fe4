"""The daily digest job: at ``daily_summary.time`` in its zone, yesterday's digest to
``daily_summary.channel`` and by email to ``daily_summary.email``.

:func:`run_due_digest` does what is due at ``svc.clock.now()`` and nothing else, so it is safe to
call any number of times; tests call it after moving the injected clock. Two scheduler jobs call
it, as for the weekly summary: a cron trigger at the time in the zone (on time), and a check every
:data:`CHECK_EVERY` (the catch-up after downtime, since APScheduler's in-memory jobs do not survive
a restart).

Once per day without a table of its own: every outbox row of day D's digest has a key starting with
``daily:<D>`` (:func:`~bot.reports.daily.digest_key`; the Slack post's is exactly that, the email's
``daily:<D>:email``), the outbox's unique key makes a second insert fail (another replica's race
is an ``IntegrityError``, treated as "already"), and a digest already queued is looked for before
anything is computed. That holds as long as the rows outlive the span in which the day can still
be due: a digest is due only up to :data:`MAX_LATE` after its time, and a sent outbox row is kept
at least a day (``retention.outbox`` refuses less), a failed one for good.

After downtime the latest missed digest is sent if it is at most :data:`MAX_LATE` late, saying it
is late (past :data:`LATE_AFTER`); older ones are skipped: yesterday's news at night is noise, and
the next morning's digest covers what matters. Only the latest is ever due, never a backlog.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import date, datetime, timedelta

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import DailySummary
from bot.db import transaction
from bot.notify.email_digest import render_daily_email
from bot.notify.email_digests import digest_payload
from bot.notify.email_render import email_env
from bot.notify.posts import CHANNEL_POST
from bot.outbox import OutboxKind, OutboxMessage, enqueue
from bot.reports.daily import (
    DailyDigest,
    DueDigest,
    compute_daily_digest,
    digest_key,
    digest_zone,
    due_digest,
)
from bot.services import Services
from bot.slack.blocks.daily import daily_message

log = logging.getLogger(__name__)

CRON_JOB_ID = "daily_summary"
CHECK_JOB_ID = "daily_summary_catch_up"
CHECK_EVERY = timedelta(minutes=10)
LATE_AFTER = timedelta(minutes=30)  # later than this, the digest says it is late and why
MAX_LATE = timedelta(hours=12)  # later than this, the day's digest is skipped

async def is_queued(session: AsyncSession, day: date) -> bool:
    key = digest_key(day)
    found = await session.scalar(select(func.count(OutboxMessage.id)).where(
        or_(OutboxMessage.key == key, OutboxMessage.key.startswith(f"{key}:", autoescape=True))))
    return bool(found)


async def digest_for(svc: Services, due: DueDigest, now: datetime) -> DailyDigest:
    async with svc.sessions() as s:
        return await compute_daily_digest(s, config=svc.config, schedules=svc.schedules, day_start=due.start,
                                          day_end=due.end, now=now, zone=due.zone)


async def run_due_digest(svc: Services) -> bool:
    """Queue the due day's digest unless it was already, or is too late; True when this call queued it."""
    daily = svc.config.daily_summary
    if daily is None:
        return False
    now = svc.clock.now()
    due = due_digest(svc.config, daily, now)
    if now - due.scheduled_at > MAX_LATE:
        return False
    async with svc.sessions() as s:
        if await is_queued(s, due.day):
            return False
    digest = await digest_for(svc, due, now)
    if now - due.scheduled_at > LATE_AFTER:
        digest = replace(digest, late_for=due.scheduled_at)
    try:
        async with transaction(svc.sessions) as s:
            if await is_queued(s, due.day):
                return False
            await _queue(s, svc, daily, due.day, digest)
            queued = await is_queued(s, due.day)
    except IntegrityError:
        return False  # another replica queued the day between our check and our insert
    if queued:
        log.info("queued the daily digest of %s%s", due.day.isoformat(), " (late)" if digest.late_for else "")
        svc.wake()
    return queued


async def _queue(s: AsyncSession, svc: Services, daily: DailySummary, day: date, digest: DailyDigest) -> None:
    if daily.channel is not None:
        message = daily_message(digest, names=svc.names)
        await enqueue(s, key=digest_key(day), kind=CHANNEL_POST, now=svc.clock.now(),
                      payload=message.post(channel=daily.channel, what="daily_summary"))
    if daily.email:  # sent by the digest_email handler (bot.notify.email_digests); keyed daily:<day>:email
        rendered = render_daily_email(digest, public_url=svc.settings.base_public_url, names=svc.names,
                                      env=email_env(svc.settings))
        await enqueue(s, key=f"{digest_key(day)}:email", kind=OutboxKind.DIGEST_EMAIL, now=svc.clock.now(),
                      payload=digest_payload(rendered, list(daily.email)))
    await s.flush()


# --- scheduling ---------------------------------------------------------------------------------


def schedule_daily_digest(scheduler: BaseScheduler, svc: Services) -> None:
    """The cron job at ``daily_summary.time`` in its zone, and the catch-up check; nothing without the section."""
    daily = svc.config.daily_summary
    if daily is None:
        return
    zone = digest_zone(svc.config, daily)
    trigger = CronTrigger(hour=daily.time.hour, minute=daily.time.minute, timezone=zone)
    scheduler.add_job(_job, trigger, args=[svc], id=CRON_JOB_ID, replace_existing=True, coalesce=True,
                      max_instances=1, misfire_grace_time=int(LATE_AFTER.total_seconds()))
    scheduler.add_job(_job, "interval", seconds=int(CHECK_EVERY.total_seconds()), args=[svc],
                      id=CHECK_JOB_ID, replace_existing=True, coalesce=True, max_instances=1)


async def _job(svc: Services) -> None:
    try:
        await run_due_digest(svc)
    except Exception:  # the next check retries; a failure must not stop the schedule
        log.exception("the daily digest job failed")
