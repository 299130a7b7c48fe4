"""The on-call handle: a Slack user group (``teams[].slack_handle``) kept equal to who is on call.

Its members are the team's primary at this instant, and its backup too with
``slack_handle_backup: true``. Whenever that may have changed — a handoff, an override created,
taken or cancelled, a swap, the bot's start (the group may have drifted while it was down) — a
``handle_sync`` outbox row is written in the transaction of the change. Its handler
(:mod:`bot.notify.usergroups`) reads the members *when it runs*, not when the row was written, so
rows sent late or out of order still leave the group right, and it calls Slack only when the
group differs.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Team
from bot.oncall.schedule import Schedules
from bot.oncall.shifts import OnCall
from bot.oncall.who import on_call
from bot.outbox import HandleSync, OutboxKind, enqueue


def members_of(team: Team, now: OnCall) -> list[str]:
    """Who the team's handle holds: its primary, then its backup if asked; no one twice."""
    shifts = [now.primary, now.backup] if team.slack_handle_backup else [now.primary]
    return list(dict.fromkeys(s.person for s in shifts if s is not None))


async def handle_members(session: AsyncSession, schedules: Schedules, team: Team, at: datetime) -> list[str]:
    """Who the team's handle should hold at ``at``."""
    return members_of(team, await on_call(session, schedules, team.name, at))


async def sync_handle(session: AsyncSession, team: Team, *, why: str, now: datetime) -> bool:
    """Queue a sync of the team's handle (nothing for a team without one); ``why`` makes the row's
    key unique per change (``handoff:<at>``, ``override:12:created``…). True if a row was queued."""
    if not team.slack_handle:
        return False
    row = await enqueue(session, key=f"handle-sync:{team.name}:{why}", kind=OutboxKind.HANDLE_SYNC, now=now,
                        payload=HandleSync(team=team.name, handle=team.slack_handle))
    return row is not None
