"""Block Kit for the weekly on-call summary and `/oncall report`.

Pure: a :class:`~bot.reports.summary.WeeklySummary` in, fallback text and blocks out. Kept within
Slack's limits by construction — at most ten fields per section, every text clipped below its
limit, lists capped with "… and N more", well under 50 blocks — and readable when the week was
empty: a quiet week gets one friendly line instead of a page of zeros. People are named, not
@-mentioned, so a weekly post does not ping everyone it counts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from slack_sdk.models.blocks import Block, DividerBlock, HeaderBlock, MarkdownTextObject, SectionBlock

from bot.durations import format_config_duration, format_duration
from bot.oncall.report_text import when
from bot.reports.stats import FLAP_FIRES, FLAP_SPAN, DurationStats
from bot.reports.summary import LONG_OPEN, SEVERITIES, CheckUptime, TeamRota, WeeklySummary
from bot.reports.weekly_text import (
    FOOTNOTES,
    aligned,
    change,
    count,
    downtime,
    hours,
    late_note,
    more,
    percentiles,
    period,
    plural,
    reach,
    shifts_text,
)
from bot.severity import Severity
from bot.slack.blocks.alert import SEVERITY_MARK
from bot.slack.blocks.checks import uptime_text
from bot.slack.blocks.common import clip, escape
from bot.slack.blocks.oncall import Rendered, context, section

FIELD_LIMIT = 1900  # Slack: 2000 characters per field
NAME_WIDTH = 18
TITLE_WIDTH = 60
MAX_CHECKS = 20


@dataclass(frozen=True)
class ReportView:
    """How to present a summary: its heading, what it is compared with, and notes for the footer."""

    title: str  # "Weekly on-call summary"
    compared_with: str  # "the week before"
    now: datetime
    late_for: datetime | None = None  # the scheduled instant, when posted after downtime
    chart_note: str | None = None  # where the chart is
    period: str = "week"  # "A quiet week: …"


def report_message(summary: WeeklySummary, view: ReportView, *, names: Mapping[str, str]) -> Rendered:
    s, zone = summary, summary.zone
    blocks: list[Block] = [
        HeaderBlock(text=clip(f"📊 {view.title}", 150)),
        context(f"{period(s, view.now)} · compared with {view.compared_with}"
                + (f" · ⏰ posted late: {late_note(view.late_for, s, view.now)}" if view.late_for else "")),
    ]
    if s.quiet:
        before = f" ({count(s.previous_total, 'alert')} {view.compared_with}.)" if s.previous_total else ""
        blocks.append(section(f"🌙 *A quiet {view.period}: no alerts, no pages, no incidents.*{before}"))
    else:
        blocks += [_counts(s, view), _response_times(s), DividerBlock(),
                   section(_pages(s, names)), section(_escalations(s)), section(_noisiest(s))]
        if s.flapping:
            blocks.append(section(_flapping(s)))
        blocks.append(section(_incidents(s)))
    blocks.append(section(_long_open(s, view)))
    if s.uptime:
        blocks.append(section(_uptime(s.uptime, s.window.end - s.window.start)))
    blocks += [DividerBlock(), section(_next_week(s.next_week, names, zone, view.now))]
    blocks.append(context(_footnote(s, view)))
    return Rendered(text=_fallback(s, view), blocks=blocks)


# --- figures -----------------------------------------------------------------------------------


def _counts(s: WeeklySummary, view: ReportView) -> SectionBlock:
    fields = [f"*Alerts*\n*{s.total}* · {change(s.total, s.previous_total)}"]
    for severity in SEVERITIES:
        now, before = s.by_severity.get(severity, 0), s.previous_by_severity.get(severity, 0)
        if now or before:
            fields.append(f"{SEVERITY_MARK[severity]} *{severity.capitalize()}*\n*{now}* · {change(now, before)}")
    return _fields(fields)


def _stats_line(stats: DurationStats, verb: str) -> str:
    p = percentiles(stats)
    if p is None:
        return f"No alert was {verb}"
    return f"p50 *{p[0]}* · p90 *{p[1]}*\n_{count(stats.count, 'alert')} {verb}_"


def _response_times(s: WeeklySummary) -> SectionBlock:
    fields = [f"*Time to acknowledge*\n{_stats_line(s.time_to_ack, 'acknowledged')}",
              f"*Time to resolve*\n{_stats_line(s.time_to_resolve, 'resolved')}"]
    target = s.critical_ack
    if target.target is not None:
        head = f"{SEVERITY_MARK[Severity.CRITICAL]} *Critical acknowledged within {format_config_duration(target.target)}*"
        share = target.share
        body = (f"*{round(share * 100)}%* ({target.met} of {target.total})" if share is not None
                else "No critical alert needed one")
        fields.append(f"{head}\n{body}")
    return _fields(fields)


def _pages(s: WeeklySummary, names: Mapping[str, str]) -> str:
    if not s.pages:
        return "*📟 Pages*: nobody was paged."
    ooh = sum(p.out_of_hours for p in s.pages)
    head = f"*📟 Pages per person*: {s.total_pages} {plural(s.total_pages, 'page')}, {ooh} out of hours"
    rows = [(clip(names.get(p.person, p.person), NAME_WIDTH), str(p.pages), str(p.out_of_hours), str(p.by_phone))
            for p in s.pages]
    return f"{head}\n{_table(('Person', 'Pages', 'Out of hours', 'By phone'), rows, limit=10)}"


def _escalations(s: WeeklySummary) -> str:
    head = "*⏫ Escalations that reached a phone or step 3+*"
    if not s.escalations:
        return f"{head}: none."
    lines = [f"{head}: {len(s.escalations)}"]
    for e in s.escalations[:5]:
        lines.append(f"• {SEVERITY_MARK.get(e.severity, '•')} {escape(clip(e.title, TITLE_WIDTH))} — {reach(e)}")
    return "\n".join(lines + more(len(s.escalations), 5))


def _noisiest(s: WeeklySummary) -> str:
    if not s.noisiest:
        return "*🔊 Noisiest alerts*: none."
    rows = [(str(n.count), clip(n.title + (f" ({n.service})" if n.service else ""), TITLE_WIDTH)) for n in s.noisiest]
    return f"*🔊 Noisiest alerts* (fires and repeats)\n{_table(('Fires', 'Alert'), rows, limit=5, left=frozenset({1}))}"


def _flapping(s: WeeklySummary) -> str:
    lines = [f"*🔁 Flapping* (fired {FLAP_FIRES}+ times within {hours(FLAP_SPAN)})"]
    for f in s.flapping[:5]:
        what = escape(clip(f.title + (f" ({f.service})" if f.service else ""), TITLE_WIDTH))
        lines.append(f"• {what} — fired {f.fires} times, {f.most_in_span} within {hours(FLAP_SPAN)}")
    return "\n".join(lines + more(len(s.flapping), 5))


def _incidents(s: WeeklySummary) -> str:
    if not s.incidents:
        return "*🔥 Incidents*: none."
    lines = [f"*🔥 Incidents*: {len(s.incidents)}"]
    for i in s.incidents[:8]:
        where = f" <#{i.channel_id}>" if i.channel_id else ""
        if i.ongoing:
            state = f"ongoing, {format_duration(i.duration)} so far"
        else:
            done = "✅ post-mortem done" if i.postmortem_done else "📝 post-mortem pending"
            state = f"{format_duration(i.duration)} · {done}"
        lines.append(f"• *{escape(i.severity)}* #{i.id} {escape(clip(i.title, TITLE_WIDTH))}{where} — {state}")
    return "\n".join(lines + more(len(s.incidents), 8))


def _uptime(checks: Sequence[CheckUptime], span: timedelta) -> str:
    days = round(span / timedelta(days=1))
    below = sum(1 for c in checks if c.met is False)
    lines = [f"*🩺 Uptime* over {days} {plural(days, 'day')}"
             + (f": {below} {plural(below, 'check')} below target" if below else ": every check on target")]
    for c in checks[:MAX_CHECKS]:
        name = escape(clip(c.name, TITLE_WIDTH))
        if c.uptime is None:
            lines.append(f"• ⚪ {name} — not watched in this period")
            continue
        lines.append(f"• {'✅' if c.met else '⚠️'} {name} — *{uptime_text(c.uptime)}* "
                     f"(target {c.target:g}%) · {downtime(c)}")
    return "\n".join(lines + more(len(checks), MAX_CHECKS))


def _long_open(s: WeeklySummary, view: ReportView) -> str:
    head = f"*⏳ Open longer than {hours(LONG_OPEN)}*"
    if not s.long_open_total:
        return f"{head}: none."
    lines = [f"{head}: {s.long_open_total}"]
    for g in s.long_open[:5]:
        team = f" ({escape(g.team)})" if g.team else ""
        age = format_duration(s.window.end - g.created_at)
        lines.append(f"• {SEVERITY_MARK.get(g.severity, '•')} {escape(clip(g.title, TITLE_WIDTH))}{team} — "
                     f"open {age}, since {when(g.created_at, s.zone, now=view.now)}")
    return "\n".join(lines + more(s.long_open_total, 5))


def _next_week(rotas: Sequence[TeamRota], names: Mapping[str, str], zone: tzinfo, now: datetime) -> str:
    head = "*📅 On call next week*"
    if not rotas:
        return f"{head}: no team has an on-call schedule."
    lines = [head]
    for rota in rotas:
        primary = shifts_text(rota.primary, names, zone, now, escape=escape) or "nobody"
        line = f"*{escape(rota.team)}* — primary {primary}"
        if rota.backup:
            line += f"; backup {shifts_text(rota.backup, names, zone, now, escape=escape)}"
        lines.append(line)
    return "\n".join(lines)


# --- small helpers -----------------------------------------------------------------------------


def _footnote(s: WeeklySummary, view: ReportView) -> str:
    notes = list(FOOTNOTES)
    if view.chart_note:
        notes.append(view.chart_note)
    return " · ".join(notes)


def _fallback(s: WeeklySummary, view: ReportView) -> str:
    if s.quiet:
        return f"{view.title}: a quiet {view.period}, no alerts."
    return (f"{view.title}: {count(s.total, 'alert')}, {change(s.total, s.previous_total)}; "
            f"{s.total_pages} {plural(s.total_pages, 'page')}; {len(s.incidents)} "
            f"{plural(len(s.incidents), 'incident')}.")


def _fields(texts: list[str]) -> SectionBlock:
    return SectionBlock(fields=[MarkdownTextObject(text=clip(t, FIELD_LIMIT)) for t in texts[:10]])


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]], *, limit: int,
           left: frozenset[int] = frozenset({0})) -> str:
    """A monospace table in a code block: text columns left-aligned, numbers right-aligned."""
    body = [*aligned(header, rows[:limit], left=left), *more(len(rows), limit)]
    return "```\n" + escape("\n".join(body)) + "\n```"
