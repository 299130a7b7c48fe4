"""Block Kit for the daily digest.

Pure: a :class:`~bot.reports.daily.DailyDigest` in, fallback text and blocks out, within Slack's
limits by construction (lists capped, texts clipped, a dozen blocks). People are named, not
@-mentioned, so the morning post does not ping whoever is on call.
"""

from __future__ import annotations

from collections.abc import Mapping

from slack_sdk.models.blocks import Block, DividerBlock, HeaderBlock

from bot.reports.daily import AlertCount, DailyDigest
from bot.reports.daily_text import (
    TITLE,
    age,
    as_of,
    by_severity,
    clock,
    day_label,
    expiry_text,
    headline,
    late_note,
    period,
    shifts_text,
)
from bot.slack.blocks.alert import SEVERITY_MARK
from bot.slack.blocks.common import clip, escape
from bot.slack.blocks.oncall import Rendered, context, section

TITLE_WIDTH = 80
MAX_CHECKS = 10


def daily_message(d: DailyDigest, *, names: Mapping[str, str]) -> Rendered:
    """The digest as one channel post."""
    notes = [period(d), f"as of {as_of(d)}"]
    if (late := late_note(d)) is not None:
        notes.append(f"⏰ {late}")
    blocks: list[Block] = [HeaderBlock(text=clip(f"☀️ {TITLE} — {day_label(d.sent_on)}", 150)),
                           context(" · ".join(notes))]
    if d.quiet:
        blocks.append(section("🌙 *A quiet day*: no alerts yesterday, nothing open, no check down."))
    else:
        blocks += [section(_yesterday(d)), section(_open(d)), DividerBlock()]
    blocks += [section(_on_call(d, names)), section(_checks(d))]
    return Rendered(text=f"{TITLE} {day_label(d.sent_on)}: {headline(d)}", blocks=blocks)


def _counts(counts: AlertCount) -> str:
    return " · ".join(f"{SEVERITY_MARK.get(s, '•')} {n} {s}" for s, n in by_severity(counts))


def _more(counts: AlertCount) -> list[str]:
    return [f"… and {counts.more} more"] if counts.more else []


def _title(title: str) -> str:
    return escape(clip(title, TITLE_WIDTH))


def _yesterday(d: DailyDigest) -> str:
    y = d.yesterday
    head = f"*📥 Yesterday*: {y.total} {'alert' if y.total == 1 else 'alerts'}"
    if not y.total:
        return f"{head}."
    lines = [f"{head} — {_counts(y)}"]
    for a in y.shown:
        team = f" ({escape(a.team)})" if a.team else ""
        lines.append(f"• {SEVERITY_MARK.get(a.severity, '•')} {_title(a.title)}{team} — {a.status} · "
                     f"raised {clock(a.created_at, d.zone, d.day_start)}")
    return "\n".join(lines + _more(y))


def _open(d: DailyDigest) -> str:
    o = d.open_now
    head = f"*🚨 Open now*: {o.total}"
    if not o.total:
        return f"{head}: nothing is firing or acknowledged."
    lines = [f"{head} — {_counts(o)}"]
    for a in o.shown:
        team = f" ({escape(a.team)})" if a.team else ""
        lines.append(f"• {SEVERITY_MARK.get(a.severity, '•')} {_title(a.title)}{team} — {a.status}, "
                     f"open {age(a.created_at, d.now)}")
    return "\n".join(lines + _more(o))


def _on_call(d: DailyDigest, names: Mapping[str, str]) -> str:
    head = "*📟 On call today*"
    if not d.on_call:
        return f"{head}: no team has an on-call schedule."
    lines = [head]
    for t in d.on_call:
        line = f"*{escape(t.team)}* — primary {escape(shifts_text(t.primary, names, d.zone, d.now))}"
        if t.backup:
            line += f"; backup {escape(shifts_text(t.backup, names, d.zone, d.now))}"
        if t.problem:
            line += f" ⚠️ its schedule did not load: {escape(clip(t.problem, 200))}"
        lines.append(line)
    return "\n".join(lines)


def _checks(d: DailyDigest) -> str:
    head = "*🩺 Checks*"
    if not d.checks_down and not d.certs_expiring:
        return f"{head}: none down, no certificate expiring."
    lines = [head]
    for c in d.checks_down[:MAX_CHECKS]:
        why = f": {escape(clip(c.reason, 200))}" if c.reason else ""
        team = f" ({escape(c.team)})" if c.team else ""
        lines.append(f"• 🔴 *{escape(c.name)}*{team} — down {age(c.down_since, d.now)}, "
                     f"since {clock(c.down_since, d.zone, d.now)}{why}")
    for e in d.certs_expiring[:MAX_CHECKS]:
        lines.append(f"• 🔒 *{escape(e.name)}* ({escape(e.address)}) — certificate "
                     f"{expiry_text(e.expires_at, d.zone, d.now)}")
    hidden = max(len(d.checks_down) - MAX_CHECKS, 0) + max(len(d.certs_expiring) - MAX_CHECKS, 0)
    return "\n".join(lines + ([f"… and {hidden} more"] if hidden else []))
