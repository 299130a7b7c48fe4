"""The weekly summary as an email (``summary.email``): subject, plain-text part and HTML part.

Pure: a :class:`~bot.reports.summary.WeeklySummary` in, a :class:`~bot.notify.email_render.RenderedEmail`
out. It says what the Slack summary says (:func:`bot.slack.blocks.report.report_message`), in the
words both share (:mod:`bot.reports.weekly_text`), arranged into
:class:`~bot.notify.email_sections.Section`\\ s for the templates ``templates/email/weekly.txt.j2`` and
``weekly.html.j2``. A week with alerts shows the chart of alerts per day inline in the HTML part
(``<img src="cid:chart">``; the ``digest_email`` handler attaches the PNG); ``view.chart_note``,
which says where Slack's chart went, is not used. People are named, never addressed by Slack id.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from jinja2 import Environment

from bot.durations import format_config_duration, format_duration
from bot.notify.email_digests import CHART_CID
from bot.notify.email_render import RenderedEmail, jinja_env
from bot.notify.email_sections import (
    DOWN_COLOUR,
    GOOD_COLOUR,
    NEUTRAL_COLOUR,
    Chip,
    Image,
    Line,
    Section,
    Table,
    chip,
    sentence,
)
from bot.oncall.report_text import when
from bot.reports.stats import FLAP_FIRES, FLAP_SPAN, DurationStats
from bot.reports.summary import LONG_OPEN, SEVERITIES, WeeklySummary
from bot.reports.weekly_text import (
    FOOTNOTES,
    change,
    count,
    downtime,
    hours,
    late_note,
    more_text,
    percentiles,
    period,
    reach,
    shifts_text,
    subject,
)
from bot.severity import Severity
from bot.slack.blocks.checks import uptime_text
from bot.slack.blocks.common import clip
from bot.slack.blocks.report import ReportView
from bot.slack.summary_chart import chart_alt, chart_of

CHART_WIDTH = 600  # px in the HTML part; the PNG is drawn at 1000 × 500
SHOWN = 10  # lines per list; the rest are counted
TITLE_WIDTH = 100  # an alert's title is clipped to this many characters


def _what(title: str, where: str | None) -> str:
    """An alert's title, clipped, and its service or team."""
    return clip(title, TITLE_WIDTH) + (f" ({where})" if where else "")


def render_weekly_email(summary: WeeklySummary, view: ReportView, *, names: Mapping[str, str], public_url: str,
                        env: Environment | None = None) -> RenderedEmail:
    """``view``: the title, what the week is compared with, ``now`` and the late note, as for Slack;
    ``names``: Slack user id → name; ``public_url``: the bot's ``PUBLIC_URL``, linked in the footer;
    ``env``: the templates with the operator's overrides (:func:`~bot.notify.email_render.email_env`)."""
    s = summary
    late = late_note(view.late_for, s, view.now)
    context = {
        "title": view.title,
        "subject": subject(s),
        "subtitle": f"{period(s, view.now)} · compared with {view.compared_with}",
        "late": sentence(f"sent late: {late}") if late else None,
        "quiet": _quiet(s, view),
        "sections": _sections(s, view, names),
        "notes": list(FOOTNOTES),
        "public_url": public_url.rstrip("/"),
    }
    env = env or jinja_env()
    return RenderedEmail(subject=subject(s), text=env.get_template("weekly.txt.j2").render(context),
                         html=env.get_template("weekly.html.j2").render(context))


def _quiet(s: WeeklySummary, view: ReportView) -> str | None:
    if not s.quiet:
        return None
    before = f" ({count(s.previous_total, 'alert')} {view.compared_with}.)" if s.previous_total else ""
    return f"A quiet {view.period}: no alerts, no pages, no incidents.{before}"


def _sections(s: WeeklySummary, view: ReportView, names: Mapping[str, str]) -> list[Section]:
    sections = []
    if not s.quiet:
        sections += [_counts(s), _response_times(s), _pages(s, names), _escalations(s), _noisiest(s)]
        if s.flapping:
            sections.append(_flapping(s))
        sections.append(_incidents(s))
    sections.append(_long_open(s, view))
    if s.uptime:
        sections.append(_uptime(s))
    sections.append(_next_week(s, view, names))
    return sections


def _counts(s: WeeklySummary) -> Section:
    lines = []
    for severity in SEVERITIES:
        now, before = s.by_severity.get(severity, 0), s.previous_by_severity.get(severity, 0)
        if now or before:
            lines.append(Line(chip(severity), f"{now} {severity}", change(now, before)))
    image = Image(f"cid:{CHART_CID}", chart_alt(chart_of(s)), CHART_WIDTH) if s.total else None
    return Section(heading=f"Alerts: {s.total} · {change(s.total, s.previous_total)}", lines=tuple(lines),
                   image=image)


def _stats(stats: DurationStats, verb: str) -> str:
    p = percentiles(stats)
    return f"p50 {p[0]} · p90 {p[1]} · {count(stats.count, 'alert')} {verb}" if p else f"no alert was {verb}"


def _response_times(s: WeeklySummary) -> Section:
    lines = [Line(None, "Time to acknowledge", _stats(s.time_to_ack, "acknowledged")),
             Line(None, "Time to resolve", _stats(s.time_to_resolve, "resolved"))]
    target = s.critical_ack
    if target.target is not None:
        share = target.share
        lines.append(Line(chip(Severity.CRITICAL), f"Critical acknowledged within {format_config_duration(target.target)}",
                          f"{round(share * 100)}% ({target.met} of {target.total})" if share is not None
                          else "no critical alert needed one"))
    return Section(heading="Response times", lines=tuple(lines))


def _pages(s: WeeklySummary, names: Mapping[str, str]) -> Section:
    if not s.pages:
        return Section(heading="Pages", empty="Nobody was paged.")
    ooh = sum(p.out_of_hours for p in s.pages)
    rows = [(names.get(p.person, p.person), str(p.pages), str(p.out_of_hours), str(p.by_phone)) for p in s.pages]
    return Section(heading=f"Pages per person: {count(s.total_pages, 'page')}, {ooh} out of hours",
                   table=Table.of(("Person", "Pages", "Out of hours", "By phone"), rows[:SHOWN],
                                  numeric=frozenset({1, 2, 3})),
                   more=more_text(len(rows), SHOWN))


def _escalations(s: WeeklySummary) -> Section:
    head = "Escalations that reached a phone or step 3+"
    return Section(heading=f"{head}: {len(s.escalations)}" if s.escalations else head, empty="None.",
                   lines=tuple(Line(chip(e.severity), _what(e.title, None), reach(e)) for e in s.escalations[:SHOWN]),
                   more=more_text(len(s.escalations), SHOWN))


def _noisiest(s: WeeklySummary) -> Section:
    rows = [(str(n.count), _what(n.title, n.service)) for n in s.noisiest]
    return Section(heading="Noisiest alerts (fires and repeats)", empty="None.",
                   table=Table.of(("Fires", "Alert"), rows, numeric=frozenset({0})) if rows else None)


def _flapping(s: WeeklySummary) -> Section:
    return Section(
        heading=f"Flapping (fired {FLAP_FIRES}+ times within {hours(FLAP_SPAN)})",
        lines=tuple(Line(None, _what(f.title, f.service),
                         f"fired {f.fires} times, {f.most_in_span} within {hours(FLAP_SPAN)}")
                    for f in s.flapping[:SHOWN]),
        more=more_text(len(s.flapping), SHOWN))


def _incidents(s: WeeklySummary) -> Section:
    lines = []
    for i in s.incidents[:SHOWN]:
        if i.ongoing:
            state = f"ongoing, {format_duration(i.duration)} so far"
        else:
            state = f"{format_duration(i.duration)} · post-mortem {'done' if i.postmortem_done else 'pending'}"
        lines.append(Line(Chip(i.severity, NEUTRAL_COLOUR), f"#{i.id} {_what(i.title, None)}", state))
    return Section(heading=f"Incidents: {len(s.incidents)}" if s.incidents else "Incidents", lines=tuple(lines),
                   empty="None.", more=more_text(len(s.incidents), SHOWN))


def _long_open(s: WeeklySummary, view: ReportView) -> Section:
    head = f"Open longer than {hours(LONG_OPEN)}"
    return Section(
        heading=f"{head}: {s.long_open_total}" if s.long_open_total else head, empty="None.",
        lines=tuple(Line(chip(g.severity), _what(g.title, g.team),
                         f"open {format_duration(s.window.end - g.created_at)}, "
                         f"since {when(g.created_at, s.zone, now=view.now)}") for g in s.long_open[:SHOWN]),
        more=more_text(s.long_open_total, min(len(s.long_open), SHOWN)))


def _uptime(s: WeeklySummary) -> Section:
    days = round((s.window.end - s.window.start) / timedelta(days=1))
    below = sum(1 for c in s.uptime if c.met is False)
    lines = []
    for c in s.uptime:
        if c.uptime is None:
            lines.append(Line(Chip("no data", NEUTRAL_COLOUR), c.name, "not watched in this period"))
            continue
        mark = Chip("on target", GOOD_COLOUR) if c.met else Chip("below", DOWN_COLOUR)
        lines.append(Line(mark, c.name, f"{uptime_text(c.uptime)} (target {c.target:g}%) · {downtime(c)}"))
    verdict = f"{count(below, 'check')} below target" if below else "every check on target"
    return Section(heading=f"Uptime over {count(days, 'day')}: {verdict}", lines=tuple(lines))


def _next_week(s: WeeklySummary, view: ReportView, names: Mapping[str, str]) -> Section:
    lines = []
    for rota in s.next_week:
        detail = f"primary {shifts_text(rota.primary, names, s.zone, view.now) or 'nobody'}"
        if rota.backup:
            detail += f"; backup {shifts_text(rota.backup, names, s.zone, view.now)}"
        lines.append(Line(None, rota.team, detail))
    return Section(heading="On call next week", lines=tuple(lines), empty="No team has an on-call schedule.")
