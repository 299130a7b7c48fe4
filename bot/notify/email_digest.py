"""The daily digest as an email: subject, plain-text part and HTML part.

Pure: a :class:`~bot.reports.daily.DailyDigest` in, a :class:`~bot.notify.email_render.RenderedEmail`
out. The wording is the Slack post's (:mod:`bot.reports.daily_text`); this module only arranges it
into :class:`~bot.notify.email_sections.Section`\\ s that the two templates
(``templates/email/daily.txt.j2``, ``daily.html.j2``) lay out. People are named, never addressed by Slack id.
"""

from __future__ import annotations

from collections.abc import Mapping

from jinja2 import Environment

from bot.notify.email_render import RenderedEmail, jinja_env
from bot.notify.email_sections import DOWN_COLOUR, EXPIRY_COLOUR, Chip, Line, Section, chip, sentence
from bot.reports.daily import AlertCount, AlertLine, DailyDigest
from bot.reports.daily_text import (
    TITLE,
    age,
    as_of,
    by_severity,
    clock,
    day_label,
    expiry_text,
    late_note,
    period,
    shifts_text,
    subject,
)


def render_daily_email(digest: DailyDigest, *, public_url: str, names: Mapping[str, str],
                       env: Environment | None = None) -> RenderedEmail:
    """``public_url``: the bot's ``PUBLIC_URL``, linked in the footer; ``names``: Slack user id → name;
    ``env``: the templates with the operator's overrides (:func:`~bot.notify.email_render.email_env`)."""
    d = digest
    context = {
        "title": f"{TITLE} — {day_label(d.sent_on)}",
        "subject": subject(d),
        "period": period(d),
        "as_of": as_of(d),
        "late": sentence(late_note(d)),
        "quiet": d.quiet,
        "sections": [_yesterday(d), _open(d), _on_call(d, names), _checks(d)],
        "public_url": public_url.rstrip("/"),
    }
    env = env or jinja_env()
    return RenderedEmail(subject=subject(d), text=env.get_template("daily.txt.j2").render(context),
                         html=env.get_template("daily.html.j2").render(context))


def _counts(counts: AlertCount) -> tuple[Chip, ...]:
    return tuple(chip(s, f"{n} {s}") for s, n in by_severity(counts))


def _more(counts: AlertCount) -> str | None:
    return f"… and {counts.more} more" if counts.more else None


def _what(a: AlertLine) -> str:
    return a.title + (f" ({a.team})" if a.team else "")


def _yesterday(d: DailyDigest) -> Section:
    y = d.yesterday
    return Section(
        heading=f"Yesterday: {y.total} {'alert' if y.total == 1 else 'alerts'}", counts=_counts(y),
        lines=tuple(Line(chip(a.severity), _what(a), f"{a.status} · raised {clock(a.created_at, d.zone, d.day_start)}")
                    for a in y.shown),
        empty="No alert was raised.", more=_more(y))


def _open(d: DailyDigest) -> Section:
    o = d.open_now
    return Section(
        heading=f"Open now: {o.total}", counts=_counts(o),
        lines=tuple(Line(chip(a.severity), _what(a), f"{a.status}, open {age(a.created_at, d.now)}")
                    for a in o.shown),
        empty="Nothing is firing or acknowledged.", more=_more(o))


def _on_call(d: DailyDigest, names: Mapping[str, str]) -> Section:
    lines = []
    for t in d.on_call:
        detail = f"primary {shifts_text(t.primary, names, d.zone, d.now)}"
        if t.backup:
            detail += f"; backup {shifts_text(t.backup, names, d.zone, d.now)}"
        if t.problem:
            detail += f" (its schedule did not load: {t.problem})"
        lines.append(Line(None, t.team, detail))
    return Section(heading="On call today", lines=tuple(lines), empty="No team has an on-call schedule.")


def _checks(d: DailyDigest) -> Section:
    lines = [Line(Chip("down", DOWN_COLOUR), c.name + (f" ({c.team})" if c.team else ""),
                  f"down {age(c.down_since, d.now)}, since {clock(c.down_since, d.zone, d.now)}"
                  + (f": {c.reason}" if c.reason else "")) for c in d.checks_down]
    lines += [Line(Chip("certificate", EXPIRY_COLOUR), f"{e.name} ({e.address})",
                   f"certificate {expiry_text(e.expires_at, d.zone, d.now)}") for e in d.certs_expiring]
    return Section(heading="Checks down or expiring", lines=tuple(lines),
                   empty="No check is down and no certificate expires soon.")
