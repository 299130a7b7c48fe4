"""An alert as it stands now, read for showing it anywhere: the channel message, a page DM, an SMS.

Plain stored values, so each medium words it its own way (Block Kit in :mod:`bot.slack.blocks`,
SMS text in :mod:`bot.escalation.sms_text`) without depending on another's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.alerts.models import Alert, AlertGroup, Silence


@dataclass(frozen=True)
class CurrentAlert:
    group: AlertGroup
    alerts: Sequence[Alert]  # the group's alerts, oldest first
    silenced_until: datetime | None = None  # the silence that holds it, unless ended early

    @property
    def lead(self) -> Alert | None:
        return self.alerts[0] if self.alerts else None


async def load_current(s: AsyncSession, gid: int) -> CurrentAlert:
    group = await s.scalar(select(AlertGroup).where(AlertGroup.id == gid).options(selectinload(AlertGroup.alerts)))
    if group is None:
        raise LookupError(f"alert group {gid} does not exist")
    silence = await s.get(Silence, group.silence_id) if group.silence_id else None
    return CurrentAlert(group=group, alerts=group.alerts,
                        silenced_until=silence.ends_at if silence and not silence.ended_early_at else None)
