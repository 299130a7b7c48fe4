"""Several replicas on one PostgreSQL database share due steps (``FOR UPDATE SKIP LOCKED``): every step
runs exactly once, and SMS short codes stay unique per person, however the replicas interleave."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.alerts.models import AlertGroup
from bot.clock import ManualClock
from bot.db import create_engine, session_factory, transaction
from bot.escalation.engine import Paging, start_escalation
from bot.escalation.models import PageRecord
from bot.escalation.runner import EscalationRunner
from bot.oncall.schedule import Schedules
from tests.support.factories import ALICE, BOB, T0, make_config

pytestmark = pytest.mark.postgres
ALERTS = 150


async def test_replicas_never_run_a_step_twice_nor_miss_one(pg_url: str) -> None:
    config = make_config()
    clock = ManualClock(T0)
    engines = [create_engine(pg_url) for _ in range(3)]
    runners = [EscalationRunner(sessions=session_factory(e), clock=clock, notify=lambda: None,
                                paging=Paging(config=config, schedules=Schedules.load(config), sms_enabled=True))
               for e in engines]
    sessions = session_factory(engines[0])
    try:
        async with transaction(sessions) as s:
            for i in range(ALERTS):
                group = AlertGroup(integration="prometheus", group_key=f"g{i}", team="platform",
                                   channel="platform-alerts", title=f"Alert{i}", severity="critical", status="firing",
                                   created_at=T0, updated_at=T0)
                s.add(group)
                await s.flush()
                await start_escalation(s, config, group, T0)
        handled = Counter[int]()

        async def replica(n: int) -> None:
            handled[n] += await runners[n].run_due()

        for minute in (0, 5, 10, 20, 30, 35, 40, 50, 60):
            clock.set(T0 + timedelta(minutes=minute))
            await asyncio.gather(*(replica(n) for n in range(len(runners))))
        async with sessions() as s:
            pages = list(await s.scalars(select(PageRecord)))
    finally:
        for e in engines:
            await e.dispose()

    assert sum(handled.values()) == ALERTS * 8  # 4 steps, twice (repeat: 1), each claimed once
    per_step = Counter((p.group_id, p.round, p.step, p.person, p.via) for p in pages)
    assert set(per_step.values()) == {1}
    assert len(pages) == ALERTS * 2 * 5  # per round: DM Alice, SMS Alice, SMS Bob, DM Bob, @here
    for person in (ALICE, BOB):
        codes = {p.group_id: p.code for p in pages if p.person == person and p.via == "sms"}
        assert len(set(codes.values())) == ALERTS  # one code per alert, none shared between alerts
        assert all(p.code == codes[p.group_id] for p in pages if p.person == person and p.via == "sms")
