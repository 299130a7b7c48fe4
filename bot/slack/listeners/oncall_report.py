"""`/oncall report [7d|30d]`: the weekly summary's figures on demand, for the caller only.

The summary is answered ephemerally (through the ``/oncall`` listener's ``respond``, which has
already acked). An ephemeral message cannot carry a file, so the chart goes to the caller's DM
with the bot and the summary's footer says so; a report with no alerts has no chart.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from zoneinfo import ZoneInfo

from bot.durations import DurationError, parse_duration
from bot.reports.summary import compute_summary
from bot.reports.window import ReportWindow, summary_zone_name
from bot.slack.blocks.common import escape
from bot.slack.blocks.report import ReportView, report_message
from bot.slack.commands import Reply, SlashContext, reply_args
from bot.slack.deps import SlackDeps
from bot.slack.errors import SlackError
from bot.slack.summary_chart import chart_of, upload_chart

log = logging.getLogger(__name__)

DEFAULT_DAYS = 7
MAX_DAYS = 90


class ReportPeriodError(ValueError):
    pass


def report_days(text: str) -> int:
    """``""`` → 7; ``7d``, ``30d``, ``2w``, ``14`` → days. Whole days from 1 to :data:`MAX_DAYS` only."""
    raw = text.strip().lower()
    if not raw:
        return DEFAULT_DAYS
    try:
        span = parse_duration(f"{raw}d" if raw.isdigit() else raw)
    except DurationError:
        span = None
    days = span / timedelta(days=1) if span is not None else 0.0
    if not days.is_integer() or not 1 <= days <= MAX_DAYS:
        raise ReportPeriodError(
            f"`{escape(text.strip())}` is not a report period. Try `/oncall report 7d` or `/oncall report 30d` "
            f"(any whole number of days from 1d to {MAX_DAYS}d)."
        )
    return int(days)


async def report(d: SlackDeps, ctx: SlashContext) -> Reply | None:
    try:
        days = report_days(ctx.text)
    except ReportPeriodError as exc:
        return Reply(text=f"⚠️ {exc}")
    now = d.clock.now()
    window = ReportWindow.ending(now, timedelta(days=days))
    async with d.sessions() as s:
        summary = await compute_summary(s, config=d.config, schedules=d.schedules, window=window,
                                        zone=ZoneInfo(summary_zone_name(d.config)), next_week_from=now)
    view = ReportView(title=f"On-call report: last {days} {'day' if days == 1 else 'days'}",
                      compared_with="the week before" if days == 7 else f"the {days} days before", now=now,
                      period="week" if days == 7 else "period",
                      chart_note="📈 the chart of alerts per day is in your DM with Watchstander"
                      if summary.total else None)
    message = report_message(summary, view, names=d.names)
    await ctx.respond(**reply_args(Reply(text=message.text, blocks=message.blocks)))
    if summary.total:
        try:
            opened = await d.slack.conversations_open(users=ctx.user_id)
            await upload_chart(d.slack, d.metrics, chart_of(summary), channel=opened["channel"]["id"],
                               comment=f"📈 Alerts per day, last {days} days (your `/oncall report`).")
        except SlackError as exc:  # the figures were shown; only the picture is missing
            log.warning("could not send the /oncall report chart: %s", exc)
            await ctx.respond(**reply_args(Reply(text="⚠️ The chart could not be sent to your DM; "
                                                      "the figures above are complete.")))
    return None
