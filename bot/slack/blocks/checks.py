"""Block Kit for `/oncall checks`: every configured check with its state, latency and uptime.

Pure: the config's checks and their :class:`~bot.monitors.uptime.CheckHistory` in, a
:class:`~bot.slack.blocks.oncall.Rendered` out. Uptime is shown against each check's ``target``
(✅ at or above it, ⚠️ below); latency p50/p95 are bucket estimates over 24 h.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, tzinfo

from slack_sdk.models.blocks import Block, HeaderBlock

from bot.config import Check
from bot.durations import format_duration
from bot.monitors.uptime import CheckHistory, CheckState
from bot.oncall.report_text import when
from bot.slack.blocks.common import clip, escape
from bot.slack.blocks.oncall import Rendered, context, sections

STATE_MARK = {CheckState.UP: "🟢", CheckState.DOWN: "🔴", CheckState.DEGRADED: "🟡", CheckState.UNKNOWN: "⚪"}
STATE_WORD = {CheckState.UP: "up", CheckState.DOWN: "*down*", CheckState.DEGRADED: "*degraded* (slow)",
              CheckState.UNKNOWN: "not probed yet"}
WINDOWS = (("7 d", timedelta(days=7)), ("30 d", timedelta(days=30)))
NO_CHECKS = ("No checks are configured, so there is nothing to show. Add one under `checks:` in the config, "
             "for example\n```checks:\n  - {name: api-health, url: https://example.com/health, every: 1m, "
             "down_after: 2m}\n  - {name: shop-tls, tls: shop.example.com:443, expires_within: 30d}```\n"
             "and restart Watchstander; `/oncall checks` then shows each one's state, latency and uptime.")


def uptime_text(share: float | None) -> str:
    """Percent with two decimals, cut rather than rounded (a second of downtime is not 100%)."""
    if share is None:
        return "no data"
    return "100%" if share >= 1.0 else f"{math.floor(share * 10_000) / 100:.2f}%"


def target_mark(share: float | None, target: float) -> str:
    if share is None:
        return ""
    return " ✅" if share * 100 >= target else " ⚠️"


def ms(value: float | None, *, over: bool = False) -> str:
    if value is None:
        return "—"
    shown = f"{value / 1000:.1f} s" if value >= 1000 else f"{round(value)} ms"
    return f"> {shown}" if over else shown


def _latency_line(h: CheckHistory, now: datetime) -> str:
    row = h.state_row
    parts = []
    if row is not None and row.last_probe_at is not None:
        ago = format_duration(now - row.last_probe_at)
        last = ms(row.last_latency_ms) if row.last_latency_ms is not None else "no answer"
        parts.append(f"last probe {last} ({ago} ago)")
    lat = h.latency
    if lat.probes:
        parts.append(f"p50 {ms(lat.p50, over=lat.p50_over)} · p95 {ms(lat.p95, over=lat.p95_over)} over 24 h "
                     f"({lat.probes} probes)")
    else:
        parts.append("no latency figures in the last 24 h")
    return " · ".join(parts)


def _cert_line(check: Check, h: CheckHistory, now: datetime) -> str | None:
    if check.kind != "tls":
        return None
    expires = h.state_row.cert_expires_at if h.state_row is not None else None
    if expires is None:
        return "🔒 certificate: not read yet"
    left = expires - now
    if left <= timedelta(0):
        return f"🔒 certificate *expired* on {expires:%Y-%m-%d} ⚠️"
    soon = " ⚠️" if left <= check.expires_within else ""
    return f"🔒 certificate expires {expires:%Y-%m-%d} (in {left.days} days){soon}"


def check_lines(check: Check, h: CheckHistory, *, now: datetime, zone: tzinfo) -> str:
    state = h.state
    lines = [f"{STATE_MARK[state]} *{escape(check.name)}* — {STATE_WORD[state]} · {clip(escape(check.address), 120)}"
             + (f" · team {escape(check.team)}" if check.team else "")]
    row = h.state_row
    if state is CheckState.DOWN and row is not None and row.down_since is not None:
        why = f": {clip(escape(row.last_error), 200)}" if row.last_error else ""
        lines.append(f"since {when(row.down_since, zone, now=now)} ({format_duration(now - row.down_since)}){why}")
    if state is not CheckState.UNKNOWN:
        lines.append(_latency_line(h, now))
    figures = []
    for label, span in WINDOWS:
        share = h.uptime(now - span, now)
        figures.append(f"{label} {uptime_text(share)}{target_mark(share, check.target)}")
    lines.append(f"uptime {' · '.join(figures)} (target {check.target:g}%)")
    if (cert := _cert_line(check, h, now)) is not None:
        lines.append(cert)
    return "\n".join(lines)


def checks_message(checks: Sequence[Check], histories: Mapping[str, CheckHistory], *, now: datetime,
                   zone: tzinfo) -> Rendered:
    if not checks:
        return Rendered(text="No checks are configured.", blocks=sections([NO_CHECKS]))
    counts = {s: sum(1 for c in checks if histories[c.name].state is s) for s in CheckState}
    head = ", ".join(f"{n} {s.value}" for s, n in counts.items() if n)
    blocks: list[Block] = [HeaderBlock(text=clip(f"Checks: {head}", 150))]
    entries = [check_lines(c, histories[c.name], now=now, zone=zone) + "\n" for c in checks]  # a blank line between
    blocks += sections(entries, max_blocks=44)
    blocks.append(context("Latency p50/p95: a bucket estimate over the last 24 h. Uptime: the time each check "
                          "was watched outside confirmed outages (failing for its down_after). "
                          f"Times in {now.astimezone(zone):%Z}."))
    return Rendered(text=f"Checks: {head}", blocks=blocks)
