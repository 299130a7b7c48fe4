"""The acknowledgement timeout: an alert acknowledged and not resolved in time fires again.

Acknowledging under a severity with ``ack_timeout`` writes the deadline on the alert itself
(``alert_groups.ack_timeout_at``, see :mod:`bot.alerts.actions`), in the acknowledgement's own
transaction; acknowledging again writes a new one, and resolving or taking the acknowledgement
back clears it. A partial index holds only the alerts with a deadline, so the runner's "next
deadline" and "what is due" are one index lookup each, as for snoozes.

When the deadline passes, the runner claims the alert (``SKIP LOCKED`` on PostgreSQL) and calls
:func:`reopen_unresolved`, whose conditional UPDATE moves it back to firing only if it is still
acknowledged under that same deadline: two replicas, or a restart in between, fire it once. Like
a snooze's end, the policy then starts again from step 1 — whoever acknowledged it is asked again
first, gently, before anyone else is woken.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.alerts.actions import record
from bot.alerts.events import AckTimedOut
from bot.alerts.incoming import AlertStatus
from bot.alerts.models import Alert, AlertGroup
from bot.db import skip_locked
from bot.escalation.engine import begin_run, escalation_for
from bot.escalation.models import RunStatus
from bot.escalation.policy import Policy


async def due_ack_timeouts(session: AsyncSession, now: datetime, limit: int) -> list[int]:
    """The alerts whose acknowledgement ran out, claimed for this transaction (oldest first)."""
    query = (select(AlertGroup.id)
             .where(AlertGroup.ack_timeout_at.is_not(None), AlertGroup.ack_timeout_at <= now,
                    AlertGroup.status == AlertStatus.ACKNOWLEDGED)
             .order_by(AlertGroup.ack_timeout_at).limit(limit))
    return list(await session.scalars(skip_locked(query, session)))


async def next_ack_timeout(session: AsyncSession) -> datetime | None:
    return await session.scalar(select(AlertGroup.ack_timeout_at)
                                .where(AlertGroup.ack_timeout_at.is_not(None),
                                       AlertGroup.status == AlertStatus.ACKNOWLEDGED)
                                .order_by(AlertGroup.ack_timeout_at).limit(1))


async def reopen_unresolved(session: AsyncSession, group_id: int, now: datetime) -> bool:
    """Fire the alert again if its acknowledgement ran out, and restart its policy from step 1.

    False when someone resolved it, took the acknowledgement back or acknowledged it again since
    it was claimed: the conditional UPDATE decides, so it fires once whoever looks.
    """
    group = await session.get(AlertGroup, group_id, populate_existing=True)
    if group is None or group.status != AlertStatus.ACKNOWLEDGED or group.ack_timeout_at is None \
            or group.ack_timeout_at > now or group.acknowledged_at is None:
        return False
    by, via, acked_at, deadline = group.acknowledged_by, group.acknowledged_via, group.acknowledged_at, \
        group.ack_timeout_at
    result = await session.execute(
        update(AlertGroup)
        .where(AlertGroup.id == group_id, AlertGroup.status == AlertStatus.ACKNOWLEDGED,
               AlertGroup.ack_timeout_at == deadline)
        .values(status=AlertStatus.FIRING, acknowledged_at=None, acknowledged_by=None, acknowledged_via=None,
                ack_timeout_at=None, version=AlertGroup.version + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    await session.execute(update(Alert).where(Alert.group_id == group_id, Alert.status == AlertStatus.ACKNOWLEDGED)
                          .values(status=AlertStatus.FIRING))
    group = await session.get_one(AlertGroup, group_id, populate_existing=True)
    # Locked (waiting for it): another replica may be running this escalation's old step right now,
    # seeing the alert still acknowledged; the restart must come after that, not be overwritten by it.
    esc = await escalation_for(session, group_id, lock=True)
    restart = esc is not None and bool(esc.policy.get("steps")) and esc.status != RunStatus.UNOWNED
    await record(session, group, AckTimedOut(by=by, via=via, acknowledged_at=acked_at,
                                             seconds=int((deadline - acked_at).total_seconds()), restarted=restart),
                 now)
    if esc is not None and restart:
        await begin_run(session, group, Policy.from_json(esc.policy), esc.team or "", now, now, esc)
    return True
