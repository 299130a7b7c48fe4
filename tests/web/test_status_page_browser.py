"""The status page in a real browser: headless Chromium renders it at a phone's width, in light and
dark, and at a desktop's, and its DOM says what the page should say. The screenshots stay in the
test's tmp dir."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.sandbox.slack import SlackStandIn
from tests.support.browser import chromium, needs_chromium
from tests.support.factories import T0, make_config
from tests.support.harness import Harness, start_harness
from tests.web.status_seed import PUBLIC_PAGE, check_state, incident, outage

pytestmark = needs_chromium
DAY = timedelta(days=1)
PHONE = (420, 900)


@pytest.fixture
async def harness(slack: SlackStandIn, clock: ManualClock, db_url: str) -> AsyncIterator[Harness]:
    async with start_harness(slack=slack, clock=clock, db_url=db_url, config=make_config(PUBLIC_PAGE),
                             background=False) as h:
        yield h


async def seed(h: Harness) -> None:
    await check_state(h, "api-health", watching_since=T0 - 40 * DAY)
    await outage(h, "api-health", T0 - 12 * DAY, T0 - 12 * DAY + timedelta(hours=3))
    await outage(h, "api-health", T0 - 3 * DAY, T0 - 3 * DAY + timedelta(minutes=20))
    await check_state(h, "shop-tls", watching_since=T0 - 80 * DAY, slow_alerted=True)
    await incident(h, "Checkout payments failing for some cards", [
        ("Some card payments are declined; we are investigating.", True),
        ("INTERNAL: payments-db failover started by Bob", False),
        ("A fix is rolling out; payments are recovering.", True),
    ], status="identified")
    await incident(h, "Slow search <results>", [("Search was slow for some users.", True)], at=T0 - 5 * DAY,
                   resolved_at=T0 - 5 * DAY + timedelta(hours=2))


async def test_the_status_page_renders_in_chromium_on_a_phone_in_light_and_dark(harness: Harness,
                                                                                tmp_path: Path) -> None:
    h = harness
    await seed(h)
    url = f"{h.url}/status"

    dom = (await chromium(tmp_path / "profile-dom", "--dump-dom", url, size=PHONE)).decode()
    assert "Example status" in dom
    assert "Checkout payments failing for some cards" in dom
    assert "A fix is rolling out; payments are recovering." in dom
    assert "Slow search &lt;results&gt;" in dom  # shown as text
    assert "INTERNAL" not in dom
    assert "Degraded performance" in dom and "Operational" in dom
    assert len(re.findall(r'<li class="(?:ok|minor|partial|major|none)" title="', dom)) == 2 * 90  # a cell a day

    light = tmp_path / "status-light.png"
    await chromium(tmp_path / "profile-light", f"--screenshot={light}", url, size=PHONE)
    dark = tmp_path / "status-dark.png"
    await chromium(tmp_path / "profile-dark", "--force-dark-mode", "--blink-settings=preferredColorScheme=0",
                   f"--screenshot={dark}", url, size=PHONE)
    desktop = tmp_path / "status-desktop.png"
    await chromium(tmp_path / "profile-desktop", f"--screenshot={desktop}", url, size=(1280, 1000))
    for shot in (light, dark, desktop):
        data = shot.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000, shot
    assert light.read_bytes() != dark.read_bytes()  # prefers-color-scheme: dark changed the colours
