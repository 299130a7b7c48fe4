"""Several replicas on one PostgreSQL database share the checks: each due check is probed by one
replica (a lease, claimed with ``FOR UPDATE SKIP LOCKED``), none twice and none missed, and an
outage raises one alert however the replicas interleave."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

import pytest
from aiohttp import web
from sqlalchemy import select

from bot.alerts.models import Alert
from bot.clock import ManualClock
from bot.db import create_engine, session_factory
from bot.escalation.engine import start_escalation
from bot.monitors.raising import AlertSink
from bot.monitors.runner import CheckRunner
from bot.web.probes import Prober
from tests.support.factories import T0, make_config

pytestmark = pytest.mark.postgres
CHECKS = 30


async def test_replicas_probe_each_due_check_once_and_raise_one_alert(pg_url: str) -> None:
    hits = Counter[str]()
    down = {"c7"}

    async def health(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        hits[name] += 1
        return web.Response(status=503 if name in down else 200)

    app = web.Application()
    app.router.add_get("/{name}", health)
    server = web.AppRunner(app)
    await server.setup()
    site = web.TCPSite(server, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{server.addresses[0][1]}"
    checks = "".join(f"  - {{name: c{i}, url: '{base}/c{i}', every: 1m, timeout: 5s, down_after: 2m}}\n"
                     for i in range(CHECKS))
    config = make_config("checks:\n" + checks)
    clock = ManualClock(T0)
    engines = [create_engine(pg_url) for _ in range(3)]
    probers = [Prober() for _ in engines]
    runners = [CheckRunner(sessions=session_factory(e), config=config, clock=clock, wake=lambda: None, probe=p,
                           sink=AlertSink(config=config, escalate=start_escalation, playbook_for=lambda _l: None),
                           owner=f"replica-{n}")
               for n, (e, p) in enumerate(zip(engines, probers, strict=True))]
    try:
        await asyncio.gather(*(r.register() for r in runners))
        per_round = []
        for minute in range(1, 6):
            clock.set(T0 + timedelta(minutes=minute))
            before = sum(hits.values())
            counts = await asyncio.gather(*(r.run_due() for r in runners))
            assert sum(counts) == sum(hits.values()) - before
            per_round.append(sum(counts))
        async with session_factory(engines[0])() as s:
            alerts = list((await s.scalars(select(Alert).where(Alert.integration == "watchstander"))).all())
    finally:
        for p in probers:
            await p.close()
        for e in engines:
            await e.dispose()
        await server.cleanup()
    healthy = [hits[f"c{i}"] for i in range(CHECKS) if f"c{i}" not in down]
    assert set(healthy) == {5}  # probed once a minute, by exactly one replica each time
    assert hits["c7"] == 4  # down from its first probe, alerted at 2 min, then probed every 2 min
    assert per_round == [CHECKS] * 4 + [CHECKS - 1]
    assert [(a.fingerprint, a.status) for a in alerts] == [("check/c7", "firing")]
