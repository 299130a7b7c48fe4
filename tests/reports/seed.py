"""Factories for a known week of history: alerts with their acks and resolves, pages, incidents.

Rows are written through the ORM exactly as the alert pipeline, the escalation engine and the
incident lifecycle store them (the same event kinds, actors and detail keys), already marked as
shown in Slack so the dispatcher leaves them alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.alerts.models import Alert, AlertEvent, AlertGroup
from bot.incidents.models import Incident

SOURCE = "Alertmanager"


@dataclass
class Seeded:
    group: AlertGroup
    alert: Alert


async def alert(s: AsyncSession, title: str, severity: str, at: datetime, *, service: str | None = None,
                fingerprint: str | None = None, acked_after: timedelta | None = None, acked_by: str | None = None,
                resolved_after: timedelta | None = None, repeats: int = 0, team: str = "platform") -> Seeded:
    """One alert group of one alert, raised at ``at``, optionally acknowledged and resolved later."""
    fp = fingerprint or f"{title}-{at.isoformat()}"
    resolved_at = at + resolved_after if resolved_after is not None else None
    acked_at = at + acked_after if acked_after is not None else None
    status = "resolved" if resolved_at else "acknowledged" if acked_at else "firing"
    group = AlertGroup(integration="prometheus", group_key=fp, team=team, channel="platform-alerts", title=title,
                       severity=severity, status=status, created_at=at, updated_at=resolved_at or acked_at or at,
                       acknowledged_at=acked_at, acknowledged_by=acked_by if acked_at else None,
                       acknowledged_via="slack" if acked_at else None, resolved_at=resolved_at,
                       resolved_by=SOURCE if resolved_at else None, resolved_via="source" if resolved_at else None,
                       version=1, posted_version=1, slack_ts=None)
    member = Alert(integration="prometheus", fingerprint=fp, status=status if status != "acknowledged" else "firing",
                   title=title, severity=severity, service=service, labels={"alertname": title}, starts_at=at,
                   received_at=at, last_seen_at=at, resolved_at=resolved_at, count=1 + repeats)
    group.alerts.append(member)
    s.add(group)
    await s.flush()
    s.add(AlertEvent(group_id=group.id, alert_id=member.id, at=at, kind="received", actor=SOURCE, via="source",
                     detail={"severity": severity, "title": title}))
    for n in range(repeats):
        s.add(AlertEvent(group_id=group.id, alert_id=member.id, at=at + timedelta(seconds=30 * (n + 1)),
                         kind="repeated", actor=SOURCE, via="source", detail={"count": n + 2}))
    if acked_at is not None:
        s.add(AlertEvent(group_id=group.id, at=acked_at, kind="acknowledged", actor=acked_by, via="slack"))
    if resolved_at is not None:
        s.add(AlertEvent(group_id=group.id, alert_id=member.id, at=resolved_at, kind="alert_resolved",
                         actor=SOURCE, via="source"))
        s.add(AlertEvent(group_id=group.id, at=resolved_at, kind="resolved", actor=SOURCE, via="source"))
    return Seeded(group, member)


def page(s: AsyncSession, seeded: Seeded, person: str | None, via: str, at: datetime, *, step: int,
         round_: int = 1) -> None:
    """A page as the escalation engine records it (``person`` None for an @here channel post)."""
    s.add(AlertEvent(group_id=seeded.group.id, at=at, kind="paged", actor=person, via=via,
                     detail={"step": step, "round": round_, "page_id": None, "by": None}))


def incident(s: AsyncSession, title: str, severity: str, declared_at: datetime, *,
             resolved_after: timedelta | None = None, postmortem_done: bool = False) -> None:
    resolved_at = declared_at + resolved_after if resolved_after is not None else None
    s.add(Incident(title=title, severity=severity, status="resolved" if resolved_at else "investigating",
                   commander="U0ALICE01", reporter="U0BOB0001", channel_name=f"inc-{title.lower().replace(' ', '-')}",
                   declared_at=declared_at, resolved_at=resolved_at, slack_state={},
                   postmortem_done_at=resolved_at + timedelta(days=1) if postmortem_done and resolved_at else None))
