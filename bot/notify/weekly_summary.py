"""The weekly summary job: post the due week's summary to ``slack.summary_channel``, chart in its
thread, and mail it to ``summary.email``, chart inline.

:func:`run_due_summary` does what is due at ``svc.clock.now()`` and nothing else, so it is safe to
call any number of times; tests call it after moving the injected clock. Two scheduler jobs call
it: a cron trigger at ``summary.weekday``/``time`` in the summary's zone (on time), and a check
every :data:`CHECK_EVERY` (the catch-up after downtime, since APScheduler's in-memory jobs do not
survive a restart; its first run is that long after start-up, when the bot is settled).

Nothing is sent from here: the week is recorded and its outbox rows written in one short
transaction — the message (an ordinary ``channel_post``) and the chart (``summary_chart``, sent
once the message is out, so it can go into its thread) — and, with ``summary.email``, the email
(``digest_email``, keyed ``…:email``, rendered here by :mod:`bot.notify.email_weekly`). Each chart is
drawn when it is sent, from the day counts in its payload, so the outbox holds numbers rather than an image.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.db import transaction
from bot.notify.dispatch import Deferred, Dispatcher
from bot.notify.email_digests import digest_payload
from bot.notify.email_render import email_env
from bot.notify.email_weekly import render_weekly_email
from bot.notify.posts import CHANNEL_POST
from bot.outbox import OutboxKind, OutboxMessage, SummaryChart, enqueue
from bot.reports.summary import WeeklySummary, compute_summary
from bot.reports.weekly import due_week, is_recorded, record_week
from bot.reports.window import ReportWindow
from bot.services import Services
from bot.slack.blocks.report import ReportView, report_message
from bot.slack.client import SlackClient
from bot.slack.summary_chart import chart_of, chart_payload, upload_chart

log = logging.getLogger(__name__)

SUMMARY_CHART = OutboxKind.SUMMARY_CHART
CRON_JOB_ID = "weekly_summary"
CHECK_JOB_ID = "weekly_summary_catch_up"
CHECK_EVERY = timedelta(minutes=10)
LATE_AFTER = timedelta(hours=1)  # later than this, the post says it is late and why
WEEKLY = "Weekly on-call summary"


async def summary_for(svc: Services, window: ReportWindow, zone: ZoneInfo, *,
                      next_week_from: datetime | None = None) -> WeeklySummary:
    async with svc.sessions() as s:
        return await compute_summary(s, config=svc.config, schedules=svc.schedules, window=window, zone=zone,
                                     next_week_from=next_week_from)


async def run_due_summary(svc: Services) -> bool:
    """Queue the due week's summary unless it was already; True when this call queued it."""
    now = svc.clock.now()
    week = due_week(svc.config, now)
    channel = svc.config.slack.summary_channel
    async with svc.sessions() as s:
        if await is_recorded(s, week):
            return False
    summary = await summary_for(svc, week.window, week.zone)
    view = ReportView(title=WEEKLY, compared_with="the week before", now=now,
                      late_for=week.scheduled_at if now - week.scheduled_at > LATE_AFTER else None,
                      chart_note="📈 alerts per day are charted in the thread" if summary.total else None)
    message = report_message(summary, view, names=svc.names)
    email = (render_weekly_email(summary, view, names=svc.names, public_url=svc.settings.base_public_url,
                                 env=email_env(svc.settings)) if svc.config.summary.email else None)
    key = f"weekly-summary:{week.window.start.isoformat()}"
    try:
        async with transaction(svc.sessions) as s:
            if not await record_week(s, week, channel=channel, now=now):
                return False
            await enqueue(s, key=f"{key}:post", kind=CHANNEL_POST, now=now,
                          payload=message.post(channel=channel, what="weekly_summary"))
            if summary.total:
                await enqueue(s, key=f"{key}:chart", kind=SUMMARY_CHART, now=now,
                              payload=chart_payload(chart_of(summary), post_key=f"{key}:post"))
            if email:  # sent by the digest_email handler (bot.notify.email_digests), chart inline
                await enqueue(s, key=f"{key}:email", kind=OutboxKind.DIGEST_EMAIL, now=now,
                              payload=digest_payload(email, list(svc.config.summary.email),
                                                     chart_of(summary) if summary.total else None))
    except IntegrityError:
        return False  # another replica recorded the week between our check and our insert
    log.info("queued the weekly summary for %s", week.window.start.isoformat())
    svc.wake()
    return True


def register_summary_handlers(svc: Services, dispatcher: Dispatcher, slack: SlackClient) -> None:
    """Outbox kind ``summary_chart``: the chart, into the thread of its summary once that is posted."""

    async def send_chart(item: OutboxMessage) -> dict[str, object]:
        async with svc.sessions() as s:
            chart = SummaryChart.of(item)
            post = await s.scalar(select(OutboxMessage).where(OutboxMessage.key == chart.post_key))
        if post is None or post.failed_at is not None:
            return {"skipped": "the summary itself was not posted"}
        if post.sent_at is None:
            raise Deferred()
        file_id = await upload_chart(slack, svc.metrics, chart, channel=post.result["channel"],
                                     thread_ts=post.result["ts"])
        return {"file": file_id}

    dispatcher.handlers[SUMMARY_CHART] = send_chart


# --- scheduling ---------------------------------------------------------------------------------


def schedule_weekly_summary(scheduler: BaseScheduler, svc: Services) -> None:
    summary = svc.config.summary
    zone = ZoneInfo(summary.timezone or svc.config.timezone)
    trigger = CronTrigger(day_of_week=summary.weekday, hour=summary.time.hour,
                          minute=summary.time.minute, timezone=zone)
    scheduler.add_job(_job, trigger, args=[svc], id=CRON_JOB_ID, replace_existing=True, coalesce=True,
                      max_instances=1, misfire_grace_time=int(LATE_AFTER.total_seconds()))
    scheduler.add_job(_job, "interval", seconds=int(CHECK_EVERY.total_seconds()), args=[svc], id=CHECK_JOB_ID,
                      replace_existing=True, coalesce=True, max_instances=1)


async def _job(svc: Services) -> None:
    try:
        await run_due_summary(svc)
    except Exception:  # the next check retries; a failure must not stop the schedule
        log.exception("the weekly summary job failed")
