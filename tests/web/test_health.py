"""Load balancer and Prometheus endpoints."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.clock import ManualClock
from bot.sandbox.slack import SlackStandIn
from tests.support.factories import am_alert, am_notification
from tests.support.harness import Harness, start_harness


async def test_healthz_and_readyz(harness: Harness) -> None:
    for method in ("GET", "HEAD"):
        async with harness.http.request(method, harness.url + "/healthz") as resp:
            assert resp.status == 200
    async with harness.http.get(harness.url + "/readyz") as resp:
        assert resp.status == 200 and (await resp.json())["status"] == "ready"


async def test_metrics_count_alerts_by_source_and_severity(harness: Harness) -> None:
    await harness.alertmanager(am_notification(am_alert()))
    await harness.drain()
    async with harness.http.get(harness.url + "/metrics") as resp:
        text = await resp.text()
    assert resp.status == 200
    assert 'watchstander_alerts_received_total{severity="critical",source="alertmanager"} 1.0' in text
    assert 'watchstander_notifications_sent_total{channel="slack",kind="alert"} 1.0' in text
    assert "watchstander_open_alert_groups 1.0" in text
    assert 'watchstander_http_request_duration_seconds_count{method="POST",route="/alerts/alertmanager",status="2xx"} 1.0' in text


@pytest.fixture
async def guarded(slack: SlackStandIn, clock: ManualClock, db_url: str) -> AsyncIterator[Harness]:
    async with start_harness(slack=slack, clock=clock, db_url=db_url, settings={"metrics_token": "scrape-me-123"}) as h:
        yield h


async def test_metrics_token(guarded: Harness) -> None:
    async with guarded.http.get(guarded.url + "/metrics") as resp:
        assert resp.status == 401
    async with guarded.http.get(guarded.url + "/metrics", headers={"Authorization": "Bearer scrape-me-123"}) as resp:
        assert resp.status == 200
