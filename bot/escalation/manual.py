"""``/oncall page TEAM message``: page a team by hand, through its escalation policy.

A manual page is an alert like any other — a critical one from the ``manual`` integration in
the team's channel — so it gets the same message, buttons, acknowledgement, history and
summary numbers; only its source is a person.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.alerts.actions import record
from bot.alerts.events import Received
from bot.alerts.incoming import AlertStatus
from bot.alerts.models import Alert, AlertGroup
from bot.config import Config
from bot.escalation.engine import NothingToEscalate, begin_run
from bot.escalation.policy import Policy
from bot.severity import Severity

MANUAL = "manual"
MAX_TITLE = 300


async def page_team(session: AsyncSession, config: Config, team_name: str, message: str, *, by: str,
                    now: datetime) -> AlertGroup:
    """Open a critical alert for the team and start its policy now; the runner runs step 1."""
    team = config.team(team_name)
    if team is None:
        known = ", ".join(t.name for t in config.teams) or "none are configured"
        raise NothingToEscalate(f"there is no team named {team_name!r} (teams: {known})")
    if not team.escalation:
        raise NothingToEscalate(f"team {team.name} has no escalation policy to page through")
    title = " ".join(message.split())[:MAX_TITLE]
    key = f"page:{uuid.uuid4().hex}"
    group = AlertGroup(integration=MANUAL, group_key=key, team=team.name, channel=team.channel, title=title,
                       severity=Severity.CRITICAL, status=AlertStatus.FIRING, created_at=now, updated_at=now,
                       version=1, posted_version=0)
    session.add(group)
    await session.flush()
    alert = Alert(group_id=group.id, integration=MANUAL, fingerprint=key, status=AlertStatus.FIRING, title=title,
                  severity=Severity.CRITICAL, description=f"Paged by hand with /oncall page {team.name}.",
                  labels={"team": team.name, "paged_by": by}, starts_at=now, received_at=now, last_seen_at=now,
                  count=1)
    session.add(alert)
    await session.flush()
    await record(session, group, Received(severity=alert.severity, title=title), now, actor=by, via="slack",
                 alert=alert)
    await begin_run(session, group, Policy.for_team(team), team.name, now, now)
    return group
