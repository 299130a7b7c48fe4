"""`/oncall checks`: every check with its state, latency and uptime against its target, as the caller sees it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import ManualClock
from bot.sandbox.slack import SlackStandIn
from tests.support.factories import ALICE, BOB, T0, make_config
from tests.support.harness import Harness, start_harness
from tests.support.oncall_helpers import oncall
from tests.web.status_seed import CHECKS, check_state, outage, rollup

DAY = timedelta(days=1)


@pytest.fixture
async def harness(slack: SlackStandIn, clock: ManualClock, db_url: str) -> AsyncIterator[Harness]:
    async with start_harness(slack=slack, clock=clock, db_url=db_url, config=make_config(CHECKS),
                             background=False) as h:
        yield h


async def test_every_check_with_state_latency_uptime_and_certificate(harness: Harness) -> None:
    h = harness
    await check_state(h, "api-health", watching_since=T0 - 40 * DAY)
    await outage(h, "api-health", T0 - 3 * DAY, T0 - 3 * DAY + timedelta(minutes=60))  # 1 h in 7 d and 30 d
    for hours_ago in (1, 2):  # 100 probes: p50 in 25–50 ms, p95 in 100–250 ms
        await rollup(h, "api-health", T0 - timedelta(hours=hours_ago), [20, 20, 5, 5])
    await check_state(h, "shop-tls", watching_since=T0 - 40 * DAY,
                      cert_expires_at=datetime(2027, 1, 6, 12, 0, tzinfo=UTC))
    await check_state(h, "internal-db", watching_since=T0 - 40 * DAY, down_since=T0 - timedelta(minutes=30),
                      alerted=True, last_error="HTTP 503 Service Unavailable", last_latency_ms=None)
    await outage(h, "internal-db", T0 - timedelta(minutes=28), None)

    text = await oncall(h, "checks", user=ALICE)  # Alice reads Berlin time
    assert text.startswith("Checks: 2 up, 1 down\n")
    api, tls, db, footer = text.split("\n\n")
    assert api.splitlines()[1:] == [
        "🟢 *api-health* — up · http://127.0.0.1:9/health",
        "last probe 42 ms (20s ago) · p50 31 ms · p95 175 ms over 24 h (100 probes)",
        "uptime 7 d 99.40% ⚠️ · 30 d 99.86% ⚠️ (target 99.9%)",
    ]
    assert tls.splitlines()[0] == "🟢 *shop-tls* — up · tls://127.0.0.1:9"
    assert "uptime 7 d 100% ✅ · 30 d 100% ✅ (target 99.9%)" in tls
    assert "🔒 certificate expires 2027-01-06 (in 42 days)" in tls
    assert db.splitlines()[:2] == ["🔴 *internal-db* — *down* · http://127.0.0.1:9/db",
                                   "since Tue 24 Nov 13:30 CET (30m 00s): HTTP 503 Service Unavailable"]
    assert "last probe no answer (20s ago)" in db
    assert "uptime 7 d 99.72% ⚠️ · 30 d 99.93% ✅ (target 99.9%)" in db  # 28 minutes of an outage still on
    assert "bucket estimate" in footer and "Times in CET" in footer


async def test_a_check_never_probed_and_one_named_check(harness: Harness) -> None:
    h = harness
    await check_state(h, "shop-tls", watching_since=T0 - timedelta(hours=1), probed=False)
    text = await oncall(h, "checks shop-tls", user=BOB)
    assert "⚪ *shop-tls* — not probed yet · tls://127.0.0.1:9" in text
    assert "uptime 7 d 100% ✅" in text  # watched an hour, no outage in it
    assert "🔒 certificate: not read yet" in text
    assert "api-health" not in text
    text = await oncall(h, "checks nope", user=BOB)
    assert text == ("⚠️ there is no check called `nope`. Checks: `api-health`, `shop-tls`, `internal-db`.")
    assert "`/oncall checks [NAME]`" in await oncall(h, "help", user=BOB)


async def test_without_checks_it_says_how_to_add_one(slack: SlackStandIn, clock: ManualClock, db_url: str) -> None:
    async with start_harness(slack=slack, clock=clock, db_url=db_url, background=False) as h:
        text = await oncall(h, "checks", user=ALICE)
    assert text.startswith("No checks are configured")
    assert "checks:\n  - {name: api-health, url: https://example.com/health" in text
