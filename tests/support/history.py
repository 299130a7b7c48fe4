"""A year of on-call history, generated: alerts with their events and pages, incidents with their timelines,
overrides, handoffs, weekly summaries, silences, outbox rows and check states, as the bot stores them.

Rows are written through the ORM with the bot's own column types, so every kind of value the bot keeps is
there: aware datetimes, JSON objects and lists (and JSON columns left NULL), booleans, enum words."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.alerts.models import Alert, AlertEvent, AlertGroup, Silence
from bot.db import transaction
from bot.escalation.models import PageRecord
from bot.incidents.models import Incident, TimelineEntry
from bot.monitors.models import MonitorState
from bot.oncall.models import HandoffRow, OverrideRow
from bot.outbox import OutboxKind, OutboxMessage
from bot.reports.models import WeeklySummaryRecord
from tests.support.factories import ALICE, BOB, CAROL

SEVERITIES = ["critical", "high", "medium", "low", "info"]
PEOPLE = [ALICE, BOB, CAROL]


def _group(rng: random.Random, n: int, at: datetime) -> AlertGroup:
    severity = rng.choice(SEVERITIES)
    acked = at + timedelta(seconds=rng.randint(30, 3600)) if rng.random() < 0.6 else None
    resolved = (acked or at) + timedelta(seconds=rng.randint(60, 20000)) if rng.random() < 0.97 else None
    status = "resolved" if resolved else "acknowledged" if acked else "firing"
    title = f"{rng.choice(['HighErrorRate', 'DiskAlmostFull', 'QueueBacklog', 'ÜberLatency'])}{n % 17}"
    group = AlertGroup(integration="prometheus", group_key=f"g-{n}", team="platform", channel="platform-alerts",
                       title=title, severity=severity, status=status, created_at=at,
                       updated_at=resolved or acked or at, acknowledged_at=acked,
                       acknowledged_by=rng.choice(PEOPLE) if acked else None,
                       acknowledged_via="slack" if acked else None, resolved_at=resolved,
                       resolved_by="Alertmanager" if resolved else None, resolved_via="source" if resolved else None,
                       version=1, posted_version=1, slack_ts=f"{at.timestamp():.6f}")
    group.alerts.append(Alert(integration="prometheus", fingerprint=f"fp-{n}", status=status if resolved else "firing",
                              title=title, severity=severity, service=rng.choice(["api", "db", None]),
                              labels={"alertname": title, "n": str(n)}, annotations={"summary": "über 5% 🔥"},
                              links=[{"href": "https://example.com", "text": "graph"}], starts_at=at, received_at=at,
                              last_seen_at=at, resolved_at=resolved, count=1 + rng.randint(0, 3)))
    return group


def _events(rng: random.Random, group: AlertGroup) -> list[AlertEvent | PageRecord]:
    at, member = group.created_at, group.alerts[0]
    rows: list[AlertEvent | PageRecord] = [AlertEvent(group_id=group.id, alert_id=member.id, at=at, kind="received",
                                                      actor="Alertmanager", via="source",
                                                      detail={"severity": group.severity, "title": group.title})]
    if group.severity in ("critical", "high"):
        person = PEOPLE[group.id % 3]
        rows.append(AlertEvent(group_id=group.id, at=at, kind="paged", actor=person, via="slack",
                               detail={"step": 1, "round": 1, "page_id": None, "by": None}))
        rows.append(PageRecord(group_id=group.id, person=person, via="slack", step=1, round=1, status="sent",
                               slack_ref=f"D{person}:{at.timestamp():.6f}", created_at=at, sent_at=at,
                               acked_at=group.acknowledged_at))
    if group.acknowledged_at is not None:
        rows.append(AlertEvent(group_id=group.id, at=group.acknowledged_at, kind="acknowledged",
                               actor=group.acknowledged_by, via="slack"))
    if group.resolved_at is not None:
        rows.append(AlertEvent(group_id=group.id, at=group.resolved_at, kind="resolved", actor="Alertmanager",
                               via="source"))
    return rows


async def _alerts(s: AsyncSession, rng: random.Random, start: datetime, alerts: int) -> None:
    span = 365 * 24 * 3600
    groups = [_group(rng, n, start + timedelta(seconds=span * n / alerts + rng.randint(0, 600)))
              for n in range(alerts)]
    s.add_all(groups)
    await s.flush()
    for group in groups:
        s.add_all(_events(rng, group))
        if rng.random() < 0.2:
            s.add(OutboxMessage(key=f"post:{group.id}", kind=OutboxKind.CHANNEL_POST, group_id=group.id,
                                payload={"channel": "platform-alerts", "text": group.title, "blocks": None},
                                created_at=group.created_at, due_at=group.created_at, attempts=1,
                                sent_at=group.created_at, result={"ts": group.slack_ts}))


async def _incidents(s: AsyncSession, rng: random.Random, start: datetime) -> None:
    for n in range(60):
        declared = start + timedelta(days=6 * n, hours=rng.randint(0, 23))
        resolved = declared + timedelta(minutes=rng.randint(20, 600)) if n < 58 else None
        incident = Incident(title=f"Incident {n}", severity=rng.choice(["SEV1", "SEV2", "SEV3"]),
                            status="resolved" if resolved else "investigating", commander=ALICE, reporter=BOB,
                            channel_name=f"inc-{n}", declared_at=declared, resolved_at=resolved,
                            slack_state={"channel_id": f"C{n:08d}"},
                            postmortem_done_at=resolved + timedelta(days=1) if resolved and n % 2 else None)
        s.add(incident)
        await s.flush()
        s.add_all(TimelineEntry(incident_id=incident.id, at=declared + timedelta(minutes=m), kind="note", actor=CAROL,
                                text=f"step {m}", detail={}) for m in range(3))


def _schedule_rows(s: AsyncSession, start: datetime) -> None:
    for week in range(52):
        monday = start + timedelta(weeks=week)
        s.add(HandoffRow(team="platform", at=monday, primary=PEOPLE[week % 3], backup=PEOPLE[(week + 1) % 3],
                         announced_at=monday))
        s.add(WeeklySummaryRecord(week_start=monday - timedelta(weeks=1), week_end=monday, channel="ops-weekly",
                                  recorded_at=monday))
        s.add(OverrideRow(team="platform", person=PEOPLE[week % 3], starts_at=monday + timedelta(days=2),
                          ends_at=monday + timedelta(days=2, hours=4), created_by=ALICE, created_at=monday,
                          reason="dentist" if week % 2 else ""))
    s.add(Silence(matchers={"alertname": "QueueBacklog1"}, starts_at=start, ends_at=start + timedelta(days=1),
                  created_by=ALICE, created_at=start, ended_early_at=None))
    s.add(MonitorState(key="check/api", watching_since=start, next_due_at=start, alerted=True, down_since=start))


async def seed_year(sessions: async_sessionmaker[AsyncSession], end: datetime, *, alerts: int = 3000,
                    seed: int = 14) -> None:
    """A year of history ending at ``end``; ``alerts`` alert groups spread evenly over it."""
    rng = random.Random(seed)
    start = end - timedelta(days=365)
    async with transaction(sessions) as s:
        await _alerts(s, rng, start, alerts)
        await _incidents(s, rng, start)
        _schedule_rows(s, start)
