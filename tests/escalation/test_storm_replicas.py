"""Two `watchstander serve` processes on one PostgreSQL database share a burst of 2,000 alerts while
Slack allows one message per second per channel and refuses edits with 429 at random: the channel
gets exactly one storm message, and it ends showing all 2,000 alerts within seconds of the burst."""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.alerts.models import Alert, AlertStorm
from bot.db import create_engine, session_factory
from bot.sandbox.slack import RecordedCall, SlackStandIn
from tests.conftest import CHANNELS, USERS
from tests.support.factories import TOKENS, am_alert, am_notification
from tests.support.process import start_bot, write_config
from tests.support.visible import visible_text

pytestmark = pytest.mark.postgres
NOTIFICATIONS, PER_NOTIFICATION, GROUPS = 200, 10, 14  # 2,000 alerts


class RandomRefusals:
    """After a storm edit goes through, Slack refuses the next one with 429 at random (one at a time)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.on = True
        self.slack: SlackStandIn | None = None

    def __call__(self, call: RecordedCall) -> None:
        if self.on and self.slack and call.method == "chat.update" and call.status == 200 and self.rng.random() < 0.3:
            self.slack.fail_next("chat.update", status=429, retry_after=self.rng.randint(1, 2))


def _storm_text(slack: SlackStandIn) -> str:
    storms = [m for m in slack.messages("platform-alerts") if "storm" in m.text.lower()]
    return visible_text(storms[0]) if len(storms) == 1 else ""


async def _burst(urls: list[str]) -> None:
    """Alertmanager notifications of 10 new alerts each, for 14 groups, spread over both replicas."""
    gate = asyncio.Semaphore(4)

    async def send(http: aiohttp.ClientSession, n: int) -> None:
        k = n % GROUPS
        alerts = [am_alert(f"Disk{k:02d}", fingerprint=f"fp-{n}-{j}", labels={"severity": "low", "instance": f"i{j}"})
                  for j in range(PER_NOTIFICATION)]
        async with gate, http.post(f"{urls[n % len(urls)]}/alerts/alertmanager",
                                   json=am_notification(*alerts, group_key=f"disk-{k}"),
                                   headers={"Authorization": f"Bearer {TOKENS['AM_TOKEN']}"}) as resp:
            assert resp.status == 202, await resp.text()

    async with aiohttp.ClientSession() as http:
        await asyncio.gather(*(send(http, n) for n in range(NOTIFICATIONS)))


@pytest.mark.xfail(strict=False, reason="known race, issue 17 still open: with two replicas the stored storm's "
                   "slack_ts sometimes differs from the one visible storm message (about 2 runs in 3)")
async def test_two_replicas_show_one_storm_with_every_alert(tmp_path: Path, pg_url: str) -> None:
    seed = random.randrange(2**32)
    refusals = RandomRefusals(seed)
    async with SlackStandIn(channels=CHANNELS, users=USERS, rate_limit_per_channel=1.0,
                            on_call=refusals) as slack:
        refusals.slack = slack
        # Slack is already rate limiting the channel as the burst begins: the first posts are refused,
        # so no alert goes out on its own before the storm is open, and the storm holds all 2,000.
        slack.fail_next("chat.postMessage", status=429, retry_after=2, times=3)
        config = write_config(tmp_path)
        bots = [await start_bot(db_path=tmp_path / "unused.db", config_path=config, slack_api_url=slack.api_url,
                                extra_env={"DATABASE_URL": pg_url}) for _ in range(2)]
        try:
            await _burst([b.url for b in bots])
            burst_end = time.monotonic()
            refusals.on = False
            await slack.wait_for(lambda: "2,000 alerts" in _storm_text(slack), timeout=30)
            caught_up = time.monotonic() - burst_end
        finally:
            for b in bots:
                await b.stop()
        text = _storm_text(slack)
        refused = [c for c in slack.calls if c.status == 429]
        messages = slack.messages("platform-alerts")
    print(f"seed {seed}: caught up {caught_up:.1f}s after the burst; {len(refused)} refusals")
    assert caught_up <= 10, f"seed {seed}: the storm message caught up {caught_up:.1f}s after the burst"
    assert text.startswith("⛈️ Alert storm: 2,000 alerts in #platform-alerts\n*2,000 alerts* in 14 groups"), text
    assert "🔵 2,000 low" in text and "2,000 firing · 0 acknowledged · 0 resolved" in text
    assert "• Disk00 ×150\n• Disk01 ×150\n• Disk02 ×150\n• Disk03 ×150\n• Disk04 ×140" in text
    assert len(messages) == 1  # one storm message; no alert posted on its own, no second storm
    assert len(refused) >= 3
    engine = create_engine(pg_url)
    try:
        async with session_factory(engine)() as s:
            assert await s.scalar(select(func.count()).select_from(Alert)) == 2000
            storms = list(await s.scalars(select(AlertStorm)))
    finally:
        await engine.dispose()
    assert [(st.channel, st.ended_at is None, st.slack_ts == messages[0].ts) for st in storms] == [
        ("platform-alerts", True, True)]
