"""Rows the check runner and people would have written, put straight into the test database, for
the status page and `/oncall checks` tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.db import transaction
from bot.incidents import lifecycle
from bot.monitors.models import FRESH, LATENCY_BUCKETS_MS, CheckOutage, CheckRollup, MonitorState
from tests.support.factories import ALICE, T0
from tests.support.harness import Harness

PAGE_TOKEN = "status-page-token-01"
CHECKS = """
checks:
  - {name: api-health, url: "http://127.0.0.1:9/health", every: 1m, target: 99.9, slow_after: 2s}
  - {name: shop-tls, tls: "127.0.0.1:9", every: 1h}
  - {name: internal-db, url: "http://127.0.0.1:9/db", every: 1m}
"""
PUBLIC_PAGE = CHECKS + """
status_page:
  title: Example status
  description: Live status of Example's API and shop.
  checks: [api-health, shop-tls]
"""
PRIVATE_PAGE = CHECKS + f"""
status_page: {{title: Internal status, checks: [api-health], public: false, token: "{PAGE_TOKEN}"}}
"""
WIDTH = len(LATENCY_BUCKETS_MS) + 1


async def check_state(h: Harness, name: str, *, watching_since: datetime, probed: bool = True,
                      **fields: object) -> None:
    row: dict[str, object] = {"key": f"check/{name}", "watching_since": watching_since, "next_due_at": T0,
                              **FRESH}
    if probed:
        row.update(last_probe_at=T0 - timedelta(seconds=20), last_ok_at=T0 - timedelta(seconds=20), last_status=200,
                   last_latency_ms=42.0)
    async with transaction(h.bot.services.sessions) as s:
        await s.merge(MonitorState(**{**row, **fields}))  # the bot registered the check at start


async def outage(h: Harness, name: str, start: datetime, end: datetime | None, reason: str = "HTTP 503") -> None:
    async with transaction(h.bot.services.sessions) as s:
        s.add(CheckOutage(check=name, started_at=start, ended_at=end, reason=reason))


async def rollup(h: Harness, name: str, hour: datetime, buckets: Sequence[int], failures: int = 0) -> None:
    counts = list(buckets) + [0] * (WIDTH - len(buckets))
    async with transaction(h.bot.services.sessions) as s:
        s.add(CheckRollup(check=name, hour=hour, probes=sum(counts), failures=failures, latency_ms_sum=0.0,
                          buckets=counts))


async def incident(h: Harness, title: str, updates: Sequence[tuple[str, bool]] = (), *, at: datetime = T0,
                   status: str | None = None, notes: Sequence[str] = (), resolved_at: datetime | None = None) -> int:
    """An incident declared at ``at`` with ``updates`` (text, public) a minute apart after it."""
    svc = h.bot.services
    async with transaction(svc.sessions) as s:
        found = await lifecycle.declare(s, policy=svc.kit.policy, title=title, severity="SEV2", reporter=ALICE,
                                        commander=ALICE, now=at)
        when = at
        for text, public in updates:
            when += timedelta(minutes=1)
            await lifecycle.post_status(s, incident_id=found.id, text=text, actor=ALICE, now=when, public=public,
                                        status=status)
        for text in notes:
            await lifecycle.add_note(s, incident_id=found.id, text=text, actor=ALICE, now=when)
        if resolved_at is not None:
            await lifecycle.resolve(s, policy=svc.kit.policy, incident_id=found.id, actor=ALICE, now=resolved_at,
                                    summary="Internal summary: the root cause was a bad deploy")
        return found.id
