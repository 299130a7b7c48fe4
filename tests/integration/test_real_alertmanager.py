"""The real Prometheus Alertmanager fires and resolves an alert through its webhook into the bot."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import textwrap
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from bot.clock import ManualClock
from bot.sandbox.slack import SlackStandIn
from bot.slack.ids import AlertAction
from tests.support.factories import BOB, TOKENS, make_config
from tests.support.harness import Harness, start_harness
from tests.support.visible import visible_text

BINARY = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
pytestmark = pytest.mark.alertmanager
if BINARY is None and not os.environ.get("CI"):
    pytestmark = [pytest.mark.alertmanager,
                  pytest.mark.skip(reason="needs the prometheus-alertmanager Debian package (.ci/run installs it)")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def harness(slack: SlackStandIn, clock: ManualClock, db_url: str) -> AsyncIterator[Harness]:
    """Paging is off here: this test is about what Alertmanager's notifications do to the message."""
    config = make_config("severities:\n  critical: {escalate: false}\n")
    async with start_harness(slack=slack, clock=clock, db_url=db_url, config=config) as h:
        yield h


@pytest.fixture
def alertmanager(tmp_path: Path, harness: Harness) -> Iterator[str]:
    assert BINARY, "prometheus-alertmanager is not installed"
    port = free_port()
    config = tmp_path / "alertmanager.yml"
    config.write_text(textwrap.dedent(f"""
        route:
          receiver: watchstander
          group_by: [alertname, service]
          group_wait: 200ms
          group_interval: 1s
          repeat_interval: 4h
        receivers:
          - name: watchstander
            webhook_configs:
              - url: {harness.url}/alerts/alertmanager
                send_resolved: true
                http_config:
                  authorization:
                    credentials: {TOKENS["AM_TOKEN"]}
    """))
    proc = subprocess.Popen(
        [BINARY, f"--config.file={config}", f"--storage.path={tmp_path / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=", "--log.level=warn"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def _wait_ready(url: str) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(200):  # bounded: about 10 s of a real process starting
            try:
                async with http.get(f"{url}/-/ready") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.05)
    raise AssertionError("Alertmanager did not become ready")


async def _post_alert(url: str, *, ends_at: datetime) -> None:
    alert = {
        "labels": {"alertname": "HighErrorRate", "severity": "critical", "service": "api", "instance": "api-1"},
        "annotations": {"summary": "error rate 7.2% > 5%", "runbook_url": "https://runbooks.example.com/errors"},
        "startsAt": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
        "endsAt": ends_at.isoformat(),
        "generatorURL": "http://prometheus.example.com/graph",
    }
    async with aiohttp.ClientSession() as http, http.post(f"{url}/api/v2/alerts", json=[alert]) as resp:
        assert resp.status == 200, await resp.text()


@pytest.fixture
async def am_url(alertmanager: str) -> AsyncIterator[str]:
    await _wait_ready(alertmanager)
    yield alertmanager


async def test_alertmanager_fires_acks_and_resolves_through_the_bot(harness: Harness, am_url: str) -> None:
    slack = harness.slack
    await _post_alert(am_url, ends_at=datetime.now(UTC) + timedelta(hours=1))
    msg = await slack.wait_for(lambda: next(iter(slack.messages("platform-alerts")), None), timeout=30)
    text = visible_text(msg)
    assert text.startswith("🔴 HighErrorRate") and "🚨 *Firing*" in text
    assert "error rate 7.2% &gt; 5%" in text and "*Service*\napi" in text

    harness.clock.advance(timedelta(minutes=1, seconds=12))
    await harness.driver.click(msg, AlertAction.ACKNOWLEDGE, user_id=BOB)
    await harness.drain()
    assert "👀 *Acknowledged* by <@U0BOB0001> after 1m 12s" in visible_text(slack.messages("platform-alerts")[0])

    harness.clock.advance(timedelta(minutes=5))
    await _post_alert(am_url, ends_at=datetime.now(UTC) - timedelta(seconds=1))  # the problem is over
    resolved = await slack.wait_for(
        lambda: "Resolved* by Alertmanager" in visible_text(slack.messages("platform-alerts")[0]), timeout=30)
    assert resolved
    await harness.drain()
    [msg] = slack.messages("platform-alerts")
    assert "✅ *Resolved* by Alertmanager after 6m 12s" in visible_text(msg)
    replies = [r.text for r in slack.thread("platform-alerts", msg.ts)][1:]
    assert replies == ["👀 Acknowledged by <@U0BOB0001> after 1m 12s.", "✅ Resolved by Alertmanager after 6m 12s."]
