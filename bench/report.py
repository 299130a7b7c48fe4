"""Summary benchmark: time to compute the weekly summary and the daily digest over a year of history on SQLite.

Seeds a fresh, migrated SQLite file (WAL, synchronous=FULL, as `serve` runs it) with a year of
history shaped like a busy team's — about 100k alerts with their repeats, acknowledgements,
resolves and pages, and 1k incidents — then times :func:`bot.reports.summary.compute_summary`
for the last week and the last 30 days and :func:`bot.reports.daily.compute_daily_digest` for the
last day (cold: first query on a fresh engine; warm: the median of several runs), and the chart's
rendering.

    python bench/report.py [--alerts 100000] [--incidents 1000] [--runs 5] [--db PATH]

Target: the weekly summary in under 2 s.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy
from sqlalchemy import insert

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.alerts.models import Alert, AlertEvent, AlertGroup  # noqa: E402
from bot.config import parse_config  # noqa: E402
from bot.db import _upgrade_sync, create_engine, session_factory  # noqa: E402
from bot.incidents.models import Incident  # noqa: E402
from bot.oncall.schedule import Schedules  # noqa: E402
from bot.reports.chart import render_chart  # noqa: E402
from bot.reports.daily import compute_daily_digest, local_midnight  # noqa: E402
from bot.reports.summary import compute_summary  # noqa: E402
from bot.reports.weekly import due_week  # noqa: E402
from bot.reports.window import ReportWindow  # noqa: E402

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # a Monday, 09:00 in Berlin
PEOPLE = [("U0ALICE01", "Europe/Berlin"), ("U0BOB0001", "America/New_York"), ("U0CAROL01", "Europe/London"),
          ("U0DAVE001", "Asia/Tokyo"), ("U0ERIN001", "Europe/Berlin"), ("U0FRANK01", "America/Los_Angeles"),
          ("U0GRACE01", "Australia/Sydney"), ("U0HEIDI01", "Europe/Paris")]
CONFIG = "timezone: Europe/Berlin\npeople:\n" + "".join(
    f"  - {{slack_id: {uid}, name: {uid[2:7].title()}, timezone: {zone}}}\n" for uid, zone in PEOPLE
) + """teams:
  - name: platform
    channel: platform-alerts
    schedule: {rotation: weekly, handoff: "mon 09:00", start: 2025-11-03,
               primary: [U0ALICE01, U0BOB0001, U0CAROL01, U0DAVE001], backup: [U0ERIN001, U0FRANK01]}
  - name: payments
    channel: payments-alerts
    schedule: {rotation: daily, handoff: "09:00", start: 2025-11-03, primary: [U0GRACE01, U0HEIDI01]}
"""
SEVERITIES = [("critical", 0.10), ("high", 0.25), ("medium", 0.30), ("low", 0.20), ("info", 0.15)]
TITLES = [f"{what}{n}" for what in ("HighErrorRate", "SlowResponses", "DiskAlmostFull", "PodCrashLooping",
                                     "QueueBacklog", "CertificateExpiry", "ReplicationLag", "BackupFailed")
          for n in range(25)]
SERVICES = ["api", "payments", "db", "worker", "edge", "search"]
BATCH = 20_000


def seed(url: str, alerts: int, incidents: int, rng: random.Random) -> dict[str, int]:
    """Bulk-insert the history with the synchronous engine (the bot's own path is too slow to seed a year)."""
    engine = sqlalchemy.create_engine(url.replace("+aiosqlite", ""))
    start = NOW - timedelta(days=365)
    span = (NOW - start).total_seconds()
    groups: list[dict[str, Any]] = []
    members: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    counts = {"alert_groups": 0, "alerts": 0, "alert_events": 0, "incidents": 0}
    fingerprints = [f"fp-{i}" for i in range(2_000)]

    def flush(conn: Any) -> None:
        for table, rows, name in ((AlertGroup, groups, "alert_groups"), (Alert, members, "alerts"),
                                  (AlertEvent, events, "alert_events")):
            if rows:
                conn.execute(insert(table), rows)
                counts[name] += len(rows)
                rows.clear()

    with engine.begin() as conn:
        for gid in range(1, alerts + 1):
            at = start + timedelta(seconds=span * gid / alerts + rng.uniform(-60, 60))
            severity = rng.choices([s for s, _ in SEVERITIES], [w for _, w in SEVERITIES])[0]
            paging = severity in ("critical", "high")
            acked = at + timedelta(seconds=rng.lognormvariate(5.0, 1.0)) if paging and rng.random() < 0.9 else None
            still_open = rng.random() < 0.01
            resolved = None if still_open else (acked or at) + timedelta(seconds=rng.lognormvariate(7.0, 1.2))
            title, service = rng.choice(TITLES), rng.choice(SERVICES)
            fingerprint = f"open-{gid}" if still_open else rng.choice(fingerprints)
            status = "resolved" if resolved else ("acknowledged" if acked else "firing")
            groups.append(dict(id=gid, integration="prometheus", group_key=f"g-{gid}", team="platform",
                               channel="platform-alerts", title=title, severity=severity, status=status,
                               created_at=at, updated_at=resolved or acked or at, acknowledged_at=acked,
                               acknowledged_by=PEOPLE[gid % 8][0] if acked else None,
                               acknowledged_via="slack" if acked else None, resolved_at=resolved,
                               resolved_by="Alertmanager" if resolved else None, version=1, posted_version=1,
                               sync_attempts=0))
            repeats = rng.randint(1, 5) if rng.random() < 0.2 else 0
            members.append(dict(id=gid, group_id=gid, integration="prometheus", fingerprint=fingerprint,
                                status="resolved" if resolved else "firing", title=title, severity=severity,
                                description="", service=service, labels={"alertname": title, "service": service},
                                annotations={}, links=[], starts_at=at, received_at=at, last_seen_at=at,
                                resolved_at=resolved, count=1 + repeats))
            events.append(dict(group_id=gid, alert_id=gid, at=at, kind="received", actor="Alertmanager",
                               via="source", detail={"severity": severity, "title": title}))
            events += [dict(group_id=gid, alert_id=gid, at=at + timedelta(minutes=5 * (n + 1)), kind="repeated",
                            actor="Alertmanager", via="source", detail={"count": n + 2}) for n in range(repeats)]
            if paging:
                primary = PEOPLE[(gid // 40) % 4][0]
                events.append(dict(group_id=gid, alert_id=None, at=at, kind="paged", actor=primary, via="slack",
                                   detail={"step": 1, "round": 1, "page_id": None}))
                if acked is None or acked - at > timedelta(minutes=5):
                    events.append(dict(group_id=gid, alert_id=None, at=at + timedelta(minutes=5), kind="paged", actor=primary,
                                       via="sms", detail={"step": 2, "round": 1, "page_id": None}))
                if acked is None or acked - at > timedelta(minutes=10):
                    events.append(dict(group_id=gid, alert_id=None, at=at + timedelta(minutes=10), kind="paged",
                                       actor=PEOPLE[4 + gid % 2][0], via="sms",
                                       detail={"step": 3, "round": 1, "page_id": None}))
            if acked:
                events.append(dict(group_id=gid, alert_id=None, at=acked, kind="acknowledged", actor=PEOPLE[gid % 8][0],
                                   via="slack", detail={}))
            if resolved:
                events.append(dict(group_id=gid, alert_id=gid, at=resolved, kind="alert_resolved",
                                   actor="Alertmanager", via="source", detail={}))
                events.append(dict(group_id=gid, alert_id=None, at=resolved, kind="resolved", actor="Alertmanager", via="source",
                                   detail={}))
            if len(events) >= BATCH:
                flush(conn)
        flush(conn)
        rows = []
        for n in range(incidents):
            declared = start + timedelta(seconds=span * n / incidents)
            resolved_at = declared + timedelta(minutes=rng.randint(20, 600)) if n < incidents - 2 else None
            rows.append(dict(title=f"Incident {n}", severity=rng.choice(["SEV1", "SEV2", "SEV3"]),
                             status="resolved" if resolved_at else "investigating", summary="",
                             commander=PEOPLE[n % 8][0], reporter=PEOPLE[(n + 1) % 8][0],
                             channel_name=f"inc-{n}", slack_state={}, declared_at=declared, resolved_at=resolved_at,
                             postmortem_done_at=resolved_at + timedelta(days=2)
                             if resolved_at and rng.random() < 0.7 else None))
        conn.execute(insert(Incident), rows)
        counts["incidents"] = len(rows)
    engine.dispose()
    return counts


async def time_summaries(url: str, runs: int) -> dict[str, Any]:
    config = parse_config(CONFIG)
    schedules = Schedules.load(config)
    zone = ZoneInfo(config.timezone)
    week = due_week(config, NOW).window
    month = ReportWindow.ending(NOW, timedelta(days=30))
    out: dict[str, Any] = {}
    engine = create_engine(url)
    sessions = session_factory(engine)
    try:
        for name, window in (("7d", week), ("30d", month)):
            times = []
            for _ in range(runs + 1):
                began = time.perf_counter()
                async with sessions() as s:
                    summary = await compute_summary(s, config=config, schedules=schedules, window=window,
                                                    zone=zone)
                times.append(time.perf_counter() - began)
            out[name] = {"cold": times[0], "warm_median": statistics.median(times[1:]), "max": max(times),
                         "alerts": summary.total, "pages": summary.total_pages}
        today = NOW.astimezone(zone).date()
        times = []
        for _ in range(runs + 1):
            began = time.perf_counter()
            async with sessions() as s:
                digest = await compute_daily_digest(s, config=config, schedules=schedules,
                                                    day_start=local_midnight(today - timedelta(days=1), zone),
                                                    day_end=local_midnight(today, zone), now=NOW, zone=zone)
            times.append(time.perf_counter() - began)
        out["daily"] = {"cold": times[0], "warm_median": statistics.median(times[1:]), "max": max(times),
                        "alerts": digest.yesterday.total, "open": digest.open_now.total}
        began = time.perf_counter()
        render_chart(summary.per_day, title="Alerts per day by severity, last 30 days", zone_label=str(zone))
        out["chart_first_render"] = time.perf_counter() - began
        began = time.perf_counter()
        render_chart(summary.per_day, title="Alerts per day by severity, last 30 days", zone_label=str(zone))
        out["chart_render"] = time.perf_counter() - began
    finally:
        await engine.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=100_000)
    parser.add_argument("--incidents", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--db", help="SQLite file to create (default: a temporary one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.db or Path(tmp) / "report-bench.db")
        url = f"sqlite+aiosqlite:///{path}"
        _upgrade_sync(url)
        began = time.perf_counter()
        counts = seed(url, args.alerts, args.incidents, random.Random(7))
        print(f"seeded {counts} in {time.perf_counter() - began:.1f}s ({path.stat().st_size / 1e6:.0f} MB)")
        result = asyncio.run(time_summaries(url, args.runs))
    for name in ("7d", "30d"):
        r = result[name]
        print(f"summary {name:>3}: cold {r['cold'] * 1000:.0f} ms, warm median {r['warm_median'] * 1000:.0f} ms, "
              f"max {r['max'] * 1000:.0f} ms ({r['alerts']} alerts, {r['pages']} pages in the window)")
    r = result["daily"]
    print(f"daily digest: cold {r['cold'] * 1000:.0f} ms, warm median {r['warm_median'] * 1000:.0f} ms, "
          f"max {r['max'] * 1000:.0f} ms ({r['alerts']} alerts yesterday, {r['open']} open)")
    print(f"chart: first render {result['chart_first_render'] * 1000:.0f} ms (matplotlib import), "
          f"then {result['chart_render'] * 1000:.0f} ms")
    verdict = "PASS" if result["7d"]["max"] < 2.0 else "FAIL"
    print(f"target: weekly summary < 2 s → {verdict}")
    verdict = "PASS" if result["daily"]["max"] < 0.5 else "FAIL"
    print(f"target: daily digest < 0.5 s → {verdict}")


if __name__ == "__main__":
    main()
