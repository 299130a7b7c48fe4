"""The weekly summary's uptime lines: each check's uptime over the week against its target, and its downtime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.clock import ManualClock
from bot.sandbox.slack import SlackStandIn
from tests.reports.test_weekly_summary import post_summary
from tests.reports.week import DUE
from tests.support.factories import make_config
from tests.support.harness import Harness, start_harness
from tests.web.status_seed import CHECKS, check_state, outage

WEEK_START = DUE - timedelta(days=7)  # Mon 16 Nov 09:00 Berlin


@pytest.fixture
async def harness(slack: SlackStandIn, clock: ManualClock, db_url: str) -> AsyncIterator[Harness]:
    async with start_harness(slack=slack, clock=clock, db_url=db_url, config=make_config(CHECKS),
                             background=False) as h:
        yield h


async def test_each_check_has_its_uptime_line_against_its_target(harness: Harness) -> None:
    h = harness
    await check_state(h, "api-health", watching_since=WEEK_START - timedelta(days=30))
    await outage(h, "api-health", DUE - timedelta(days=2), DUE - timedelta(days=2) + timedelta(minutes=90))
    await outage(h, "api-health", DUE - timedelta(days=20), DUE - timedelta(days=19))  # weeks ago: not this week
    await check_state(h, "shop-tls", watching_since=WEEK_START - timedelta(days=30))
    # down across the week's start: only the 30 minutes inside the week count
    await check_state(h, "internal-db", watching_since=WEEK_START - timedelta(days=1))
    await outage(h, "internal-db", WEEK_START - timedelta(minutes=30), WEEK_START + timedelta(minutes=30))
    h.clock.set(DUE)
    text = await post_summary(h)
    assert ("*🩺 Uptime* over 7 days: 2 checks below target\n"
            "• ⚠️ api-health — *99.10%* (target 99.9%) · 90 min down\n"
            "• ✅ shop-tls — *100%* (target 99.9%) · no downtime\n"
            "• ⚠️ internal-db — *99.70%* (target 99.9%) · 30 min down") in text


async def test_a_check_not_yet_watched_says_so_and_a_quiet_week_keeps_the_uptime(harness: Harness) -> None:
    h = harness
    await check_state(h, "api-health", watching_since=WEEK_START)
    h.clock.set(DUE)
    text = await post_summary(h)
    assert "🌙 *A quiet week: no alerts, no pages, no incidents.*" in text
    assert ("*🩺 Uptime* over 7 days: every check on target\n"
            "• ✅ api-health — *100%* (target 99.9%) · no downtime\n"
            "• ⚪ shop-tls — not watched in this period\n"
            "• ⚪ internal-db — not watched in this period") in text
