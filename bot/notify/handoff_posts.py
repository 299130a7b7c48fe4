"""The handoff job: at each handoff, a post in the team channel and a DM to the incoming person.

:func:`run_due_handoffs` does everything due at ``svc.clock.now()``; tests call it after moving
the injected clock, and the scheduler calls it every minute.

Why every minute rather than a trigger at the next computed handoff: the next handoff moves
whenever someone adds or cancels an override, on any replica, and the scheduler's own triggers
run on real time while the bot's notion of "now" is the injected clock. Re-computing each
minute needs no re-scheduling on those events, cannot drift from the schedule, and costs a
few in-memory schedule lookups and one indexed query per team. Posts go out at most a minute
late, which nobody notices at a handoff.

Nothing is sent from here directly: the handoff is recorded (unique per team and instant) and
its posts enqueued in one short transaction, and the dispatcher sends them. A restart, a crash
between recording and sending, or a second replica therefore never double-posts.
"""

from __future__ import annotations

import logging
from datetime import tzinfo

from apscheduler.schedulers.base import BaseScheduler
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import transaction
from bot.notify.posts import CHANNEL_POST, DM
from bot.oncall.handle import sync_handle
from bot.oncall.handoffs import Handoff, due_handoff, record_handoff
from bot.oncall.who import team_zone
from bot.outbox import enqueue
from bot.services import Services
from bot.slack.blocks.oncall import handoff_dm, handoff_post

log = logging.getLogger(__name__)

JOB_ID = "oncall_handoffs"
INTERVAL_SECONDS = 60


async def run_due_handoffs(svc: Services) -> int:
    """Announce every team's due handoff (see :mod:`bot.oncall.handoffs`); returns how many."""
    now = svc.clock.now()
    providers = svc.open_items
    announced = 0
    for team in svc.config.teams:
        if svc.schedules.source(team.name) is None:
            continue
        async with svc.sessions() as s:
            handoff = await due_handoff(s, svc.schedules, team, now, providers=providers)
        if handoff is None:
            continue
        incoming = handoff.status.primary if handoff.new_primary else None
        # Slack's zone for the DM, looked up before the transaction (no network call inside one).
        zone = await svc.zones.zone(incoming.person) if incoming else None
        try:
            async with transaction(svc.sessions) as s:
                if not await record_handoff(s, handoff, now):
                    continue
                await _enqueue_posts(svc, s, handoff, dm_zone=zone)
        except IntegrityError:
            continue  # another replica recorded it between our check and our insert
        announced += 1
        log.info("announced the %s handoff of %s", team.name, handoff.at.isoformat())
    if announced:
        svc.wake()
    return announced


async def _enqueue_posts(svc: Services, session: AsyncSession, handoff: Handoff, *,
                         dm_zone: tzinfo | None) -> None:
    now = svc.clock.now()
    team = handoff.team
    key = f"oncall-handoff:{team.name}:{handoff.at.isoformat()}"
    post = handoff_post(handoff, names=svc.names, zone=team_zone(svc.config, team), now=now)
    await enqueue(session, key=f"{key}:channel", kind=CHANNEL_POST, now=now,
                  payload=post.post(channel=team.channel, what="handoff"))
    await sync_handle(session, team, why=f"handoff:{handoff.at.isoformat()}", now=now)  # its user group follows
    incoming = handoff.status.primary
    dm = handoff_dm(handoff, zone=dm_zone, now=now) if dm_zone is not None else None
    if dm is not None and incoming is not None:
        await enqueue(session, key=f"{key}:dm", kind=DM, now=now,
                      payload=dm.dm(user=incoming.person, what="handoff"))


def schedule_handoffs(scheduler: BaseScheduler, svc: Services) -> None:
    """Every minute; the first run a minute after start, when the rest of the bot is up."""
    scheduler.add_job(_job, "interval", seconds=INTERVAL_SECONDS, args=[svc], id=JOB_ID, replace_existing=True,
                      coalesce=True, max_instances=1, misfire_grace_time=INTERVAL_SECONDS)


async def _job(svc: Services) -> None:
    try:
        await run_due_handoffs(svc)
    except Exception:  # the next run retries; a failure must not stop the schedule
        log.exception("the handoff job failed")
