"""The weekly summary's chart as Slack gets it: the outbox payload that describes it (numbers, not an
image), and its upload, drawn when it is sent."""

from __future__ import annotations

import asyncio
from datetime import time

from bot.metrics import Metrics
from bot.outbox import Chart, SummaryChart
from bot.reports.chart import render_chart
from bot.reports.summary import WeeklySummary
from bot.slack.client import SlackClient


def chart_of(summary: WeeklySummary) -> Chart:
    first, last = summary.per_day[0][0], summary.per_day[-1][0]
    start, end = (summary.window.start.astimezone(summary.zone).time(),
                  summary.window.end.astimezone(summary.zone).time())
    return Chart(
        days=summary.per_day,
        title=f"Alerts per day by severity, {first:%a} {first.day} {first:%b} – {last:%a} {last.day} {last:%b %Y}",
        zone=str(summary.zone), filename=f"alerts-{first.isoformat()}-to-{last.isoformat()}.png",
        first_from=f"{start:%H:%M}" if start != time(0) else None,
        last_until=f"{end:%H:%M}" if end != time(0) else None)


def chart_alt(spec: Chart) -> str:
    """The chart described for someone who cannot see it (Slack's ``alt_txt``, the email's ``alt``)."""
    return f"Bar chart: {spec.title[:1].lower()}{spec.title[1:]}, days in {spec.zone}"  # "Mon 16 Nov" keeps its capitals


def chart_payload(chart: Chart, *, post_key: str) -> SummaryChart:
    return SummaryChart.model_validate({**chart.model_dump(), "post_key": post_key})


async def upload_chart(slack: SlackClient, metrics: Metrics, spec: Chart, *, channel: str,
                       thread_ts: str | None = None,
                       comment: str | None = None) -> str | None:
    """Draw the chart (off the event loop: matplotlib is CPU work) and upload it; the file id."""
    png = await asyncio.to_thread(render_chart, spec.days, title=spec.title, zone_label=spec.zone,
                                  first_from=spec.first_from, last_until=spec.last_until)
    resp = await slack.files_upload_v2(channel=channel, thread_ts=thread_ts, content=png, filename=spec.filename,
                                       title=spec.title, initial_comment=comment,
                                       alt_txt=chart_alt(spec))
    files = resp.get("files") or [{}]
    metrics.notifications.labels("slack", "summary_chart").inc()
    return str(files[0].get("id") or "") or None
