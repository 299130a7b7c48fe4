"""What the status page shows, computed once per request and rendered two ways: the HTML page and
``/status.json``.

Everything is as of the current minute in UTC (the page says "UTC"); uptime percentages are cut,
not rounded, so a check that was down for a second never shows "100%". The JSON's shape:

.. code-block:: text

    {"title": str, "description": str | null,
     "generated_at": "2026-11-24T13:05:00+00:00",          # the minute the figures are as of
     "summary": {"state": "operational|incident|degraded|down|unknown", "text": str},
     "checks": [{"name": str, "state": "up|down|degraded|unknown",
                 "uptime_90d": 99.95 | null,                   # percent; null: not watched yet
                 "target": 99.9,                               # the check's objective, percent
                 "days": [{"date": "2026-08-27", "uptime": 100.0 | null}, ...]}],   # 90, oldest first
     "incidents": {"open": [INCIDENT], "resolved_recent": [INCIDENT]}}   # resolved: last 14 days

    INCIDENT = {"id": int, "title": str, "status": "investigating|identified|monitoring|resolved",
                "started_at": iso, "resolved_at": iso | null,
                "updates": [{"at": iso, "status": str | null, "text": str}]}    # newest first
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Check, StatusPage
from bot.incidents.public import PublicIncident, PublicIncidents, public_incidents
from bot.monitors.uptime import STATUS_DAYS, CheckHistory, CheckState, DayUptime, load_histories

JsonValue = str | int | float | bool | None | list["JsonValue"] | dict[str, "JsonValue"]

STATE_WORDS = {CheckState.UP: "Operational", CheckState.DOWN: "Down", CheckState.DEGRADED: "Degraded performance",
               CheckState.UNKNOWN: "Not checked yet"}
STATUS_WORDS = {"investigating": "Investigating", "identified": "Identified", "monitoring": "Monitoring",
                "resolved": "Resolved"}


def percent(share: float | None) -> float | None:
    """0–1 → percent with three decimals, cut rather than rounded (99.9996 % is 99.999, not 100)."""
    return None if share is None else math.floor(share * 100_000) / 1000


def shown_percent(share: float | None) -> str:
    if share is None:
        return "No data yet"
    if share >= 1.0:
        return "100%"
    return f"{math.floor(share * 10_000) / 100:.2f}%"


def utc_text(at: datetime) -> str:
    """``24 Nov 2026, 13:05 UTC``."""
    return at.astimezone(UTC).strftime("%d %b %Y, %H:%M UTC")


def iso(at: datetime | None) -> str | None:
    return None if at is None else at.astimezone(UTC).isoformat(timespec="seconds")


def level(share: float | None, target: float) -> str:
    """A day's colour: ``none`` (not watched), ``ok`` (at or above the target), ``minor`` (from
    99 %), ``partial`` (from 95 %), ``major`` (below)."""
    if share is None:
        return "none"
    pct = share * 100
    if pct >= target or share >= 1.0:
        return "ok"
    return "minor" if pct >= 99.0 else "partial" if pct >= 95.0 else "major"


@dataclass(frozen=True)
class DayCell:
    date: str  # 2026-11-24
    label: str  # "24 Nov 2026: 99.93% uptime"
    level: str
    uptime: float | None  # percent


@dataclass(frozen=True)
class CheckRow:
    name: str
    state: CheckState
    state_text: str
    uptime_90d: float | None  # percent
    uptime_text: str
    target: float
    days: list[DayCell]


@dataclass(frozen=True)
class StatusView:
    title: str
    description: str | None
    generated_at: datetime
    summary_state: str
    summary_text: str
    checks: list[CheckRow]
    incidents: PublicIncidents


def _day(d: DayUptime, target: float) -> DayCell:
    shown = d.day.strftime("%d %b %Y")
    label = (f"{shown}: no data" if d.uptime is None
             else f"{shown}: {shown_percent(d.uptime)} uptime")
    return DayCell(date=d.day.isoformat(), label=label, level=level(d.uptime, target), uptime=percent(d.uptime))


def check_row(check: Check, history: CheckHistory, now: datetime) -> CheckRow:
    share = history.uptime(now - timedelta(days=STATUS_DAYS), now)
    return CheckRow(name=check.name, state=history.state, state_text=STATE_WORDS[history.state],
                    uptime_90d=percent(share), uptime_text=shown_percent(share), target=check.target,
                    days=[_day(d, check.target) for d in history.daily(now)])


def summary(checks: Sequence[CheckRow], incidents: PublicIncidents) -> tuple[str, str]:
    down = [c for c in checks if c.state is CheckState.DOWN]
    if down:
        what = down[0].name if len(down) == 1 else f"{len(down)} of {len(checks)} systems"
        return "down", f"{what} {'is' if len(down) == 1 else 'are'} down"
    if incidents.open:
        n = len(incidents.open)
        return "incident", "An incident is in progress" if n == 1 else f"{n} incidents are in progress"
    if any(c.state is CheckState.DEGRADED for c in checks):
        return "degraded", "Some systems are slower than usual"
    if checks and all(c.state is CheckState.UNKNOWN for c in checks):
        return "unknown", "Not checked yet"
    return "operational", "All systems operational"


async def status_view(session: AsyncSession, page: StatusPage, checks: Sequence[Check], now: datetime) -> StatusView:
    """The page's content as of the minute of ``now``: three queries for the checks, two for incidents."""
    as_of = now.astimezone(UTC).replace(second=0, microsecond=0)
    histories = await load_histories(session, [c.name for c in checks], since=as_of - timedelta(days=STATUS_DAYS),
                                     now=as_of, latency=False)
    rows = [check_row(c, histories[c.name], as_of) for c in checks]
    incidents = await public_incidents(session, now=as_of)
    state, text = summary(rows, incidents)
    return StatusView(title=page.title, description=page.description, generated_at=as_of, summary_state=state,
                      summary_text=text, checks=rows, incidents=incidents)


def _incident_json(i: PublicIncident) -> dict[str, JsonValue]:
    return {"id": i.id, "title": i.title, "status": i.status, "started_at": iso(i.started_at),
            "resolved_at": iso(i.resolved_at),
            "updates": [{"at": iso(u.at), "status": u.status, "text": u.text} for u in i.updates]}


def view_json(view: StatusView) -> dict[str, JsonValue]:
    return {
        "title": view.title, "description": view.description, "generated_at": iso(view.generated_at),
        "summary": {"state": view.summary_state, "text": view.summary_text},
        "checks": [{"name": c.name, "state": c.state.value, "uptime_90d": c.uptime_90d, "target": c.target,
                    "days": [{"date": d.date, "uptime": d.uptime} for d in c.days]} for c in view.checks],
        "incidents": {"open": [_incident_json(i) for i in view.incidents.open],
                      "resolved_recent": [_incident_json(i) for i in view.incidents.resolved_recent]},
    }
