"""HTTP and TLS checks against local endpoints that go down, slow down and come back.

Time between probes is the injected clock; the probes themselves are real requests, so latency is
real (a "slow" endpoint really sleeps a fraction of a second)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import trustme
from sqlalchemy import select

from bot.alerts.models import Alert
from bot.clock import ManualClock
from bot.escalation.engine import start_escalation
from bot.monitors.models import CheckOutage, CheckRollup, MonitorState
from bot.monitors.raising import AlertSink
from bot.monitors.runner import CheckRunner
from bot.sandbox.slack import SlackStandIn
from bot.web.probes import Prober
from tests.monitors.endpoints import Endpoint, http_endpoint, tls_server
from tests.support.factories import make_config
from tests.support.harness import Harness, start_harness
from tests.support.visible import visible_text

EVERY = timedelta(seconds=30)


def check_config(url: str, **extra: str) -> str:
    fields = {"name": "api-health", "url": url, "every": "30s", "timeout": "2s", "down_after": "1m",
              "slow_after": "0.2s", "team": "platform", "expect": "{status: 200, body_contains: '\"status\":\"ok\"'}",
              **extra}
    body = ", ".join(f"{k}: {v}" for k, v in fields.items())
    return f"severities:\n  critical: {{escalate: false}}\nchecks:\n  - {{{body}}}\n"


@pytest.fixture
async def endpoint() -> AsyncIterator[Endpoint]:
    async with http_endpoint() as e:
        yield e


@pytest.fixture
async def harness(slack: SlackStandIn, clock: ManualClock, db_url: str, endpoint: Endpoint) -> AsyncIterator[Harness]:
    async with start_harness(slack=slack, clock=clock, db_url=db_url, config=make_config(check_config(endpoint.url)),
                             background=False) as h:
        yield h


async def tick(h: Harness, times: int = 1) -> list[int]:
    """Move the clock on by the check interval and run the due probes, ``times`` times; the number
    of probes each pass made."""
    probed = []
    for _ in range(times):
        h.clock.advance(EVERY)
        probed.append(await h.bot.checks.run_due())
        await h.drain()
    return probed


async def own_alerts(h: Harness) -> list[Alert]:
    async with h.bot.services.sessions() as s:
        return list((await s.scalars(select(Alert).where(Alert.integration == "watchstander")
                                     .order_by(Alert.id))).all())


async def state(h: Harness, name: str = "api-health") -> MonitorState:
    async with h.bot.services.sessions() as s:
        row = await s.get(MonitorState, f"check/{name}")
        assert row is not None
        return row


async def test_an_outage_raises_one_alert_after_down_after_and_resolves_after_two_good_probes(
        harness: Harness, endpoint: Endpoint) -> None:
    assert await tick(harness) == [1]
    endpoint.status, endpoint.body = 503, '{"status":"down"}'
    assert await tick(harness, 2) == [1, 1]  # failing for 30 s: under down_after, nothing yet
    assert harness.slack.messages("platform-alerts") == []
    await tick(harness)  # failing for 1 min: down
    [msg] = harness.slack.messages("platform-alerts")
    text = visible_text(msg)
    assert text.startswith("🔴 api-health is down")
    assert f"GET {endpoint.url}: HTTP 503, expected 200. Failing since 14:01:00 CET (1m 00s, down_after 1m)" in text
    assert "📋 Playbook: Service down" in text

    assert await tick(harness, 4) == [1, 0, 1, 0]  # while down, probes back off: every 30 s, then 60 s
    assert len(harness.slack.messages("platform-alerts")) == 1  # one alert per outage, not one per probe
    assert len(await own_alerts(harness)) == 1

    endpoint.status, endpoint.body = 200, '{"status":"ok"}'
    probes = await tick(harness, 4)
    assert sum(probes) == 2
    [alert] = await own_alerts(harness)
    assert alert.status == "resolved"
    text = visible_text(harness.slack.messages("platform-alerts")[0])
    assert "✅ *Resolved* by Watchstander" in text
    assert "Back up at" in text and "of downtime (down since 14:01:00 CET)." in text
    async with harness.bot.services.sessions() as s:
        [outage] = (await s.scalars(select(CheckOutage))).all()
    assert outage.started_at == datetime(2026, 11, 24, 13, 1, tzinfo=UTC)
    assert outage.ended_at is not None and outage.ended_at < alert.resolved_at  # the first good probe
    assert outage.reason == "HTTP 503, expected 200"


async def test_one_failed_probe_raises_nothing_and_one_good_probe_does_not_end_an_outage(
        harness: Harness, endpoint: Endpoint) -> None:
    await tick(harness)
    endpoint.status = 500
    await tick(harness)
    endpoint.status = 200
    await tick(harness, 3)
    assert await own_alerts(harness) == []
    assert (await state(harness)).down_since is None

    endpoint.status = 500  # now it flaps: fail, good, fail, good...
    for _ in range(3):
        endpoint.status = 500
        await tick(harness)
        endpoint.status = 200
        await tick(harness)
    [alert] = await own_alerts(harness)
    assert alert.status == "firing"  # a flapping endpoint is down, and a single good probe does not say otherwise
    endpoint.status = 200
    await tick(harness, 3)
    [alert] = await own_alerts(harness)
    assert alert.status == "resolved"


async def test_one_slow_probe_raises_nothing_three_raise_a_warning_two_fast_ones_clear_it(
        harness: Harness, endpoint: Endpoint) -> None:
    endpoint.delay = 0.35
    await tick(harness, 2)
    assert await own_alerts(harness) == []
    await tick(harness)
    [alert] = await own_alerts(harness)
    assert alert.title == "api-health is slow" and alert.severity == "medium"
    [msg] = harness.slack.messages("platform-alerts")
    text = visible_text(msg)
    assert text.startswith("🟡 api-health is slow")
    assert f"GET {endpoint.url}: 3 probes running slower than 0.2s; the last took 3" in text  # 350-399 ms
    assert "📋 Playbook: Slow responses" in text
    endpoint.delay = 0
    await tick(harness)
    assert (await own_alerts(harness))[0].status == "firing"
    await tick(harness)
    assert (await own_alerts(harness))[0].status == "resolved"


async def test_body_json_and_connection_errors_are_named_in_the_alert(
        slack: SlackStandIn, clock: ManualClock, db_url: str, endpoint: Endpoint) -> None:
    endpoint.body = '{"status": "degraded", "checks": {"db": "ok"}}'
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]  # nothing listens here once the socket is closed
    config = check_config(endpoint.url, expect="{body_json: {path: status, equals: ok}}") + (
        f"  - {{name: gone, url: 'http://127.0.0.1:{closed_port}/health', every: 30s, timeout: 2s, down_after: 30s}}\n")
    async with start_harness(slack=slack, clock=clock, db_url=db_url, config=make_config(config),
                             background=False) as h:
        await tick(h, 3)
        alerts = {a.title: a for a in await own_alerts(h)}
    assert set(alerts) == {"api-health is down", "gone is down"}
    assert 'status is "degraded", expected "ok"' in alerts["api-health is down"].description
    assert "cannot connect" in alerts["gone is down"].description
    assert alerts["gone is down"].labels["check"] == "gone"


async def test_probe_results_are_kept_as_hourly_rollups(harness: Harness, endpoint: Endpoint) -> None:
    await tick(harness, 3)
    endpoint.status = 500
    await tick(harness)
    async with harness.bot.services.sessions() as s:
        [rollup] = (await s.scalars(select(CheckRollup))).all()
    assert (rollup.check, rollup.hour, rollup.probes, rollup.failures) == (
        "api-health", datetime(2026, 11, 24, 13, tzinfo=UTC), 4, 1)
    assert sum(rollup.buckets) == 4 and rollup.latency_ms_sum > 0


async def test_two_replicas_probe_each_due_check_once(harness: Harness, endpoint: Endpoint) -> None:
    svc = harness.bot.services
    sink = AlertSink(config=svc.config, escalate=start_escalation, playbook_for=lambda labels: None)
    prober = Prober()
    other = CheckRunner(sessions=svc.sessions, config=svc.config, clock=harness.clock, sink=sink, wake=lambda: None,
                        probe=prober, owner="replica-b")
    try:
        for _ in range(4):
            harness.clock.advance(EVERY)
            counts = await asyncio.gather(harness.bot.checks.run_due(), other.run_due())
            assert sum(counts) == 1
    finally:
        await prober.close()
    assert len(endpoint.hits) == 4


async def test_a_tls_certificate_close_to_expiry_raises_a_warning_and_a_mismatch_is_down(
        slack: SlackStandIn, clock: ManualClock, db_url: str, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    clock.set(now)  # the handshake verifies against the real clock; the bot's must agree
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    expiring = ca.issue_cert("localhost", not_after=now + timedelta(days=10, hours=1))
    wrong_host = ca.issue_cert("shop.example.com", not_after=now + timedelta(days=200))
    async with tls_server(expiring) as port_a, tls_server(wrong_host) as port_b:
        config = ("severities:\n  critical: {escalate: false}\nchecks:\n"
                  f"  - {{name: shop-tls, tls: 'localhost:{port_a}', expires_within: 30d, every: 1m, timeout: 5s,"
                  f" ca_file: '{ca_file}', team: platform}}\n"
                  f"  - {{name: other-tls, tls: 'localhost:{port_b}', every: 1m, timeout: 5s, down_after: 1m,"
                  f" ca_file: '{ca_file}', team: platform}}\n")
        async with start_harness(slack=slack, clock=clock, db_url=db_url, config=make_config(config),
                                 background=False) as h:
            for _ in range(3):
                h.clock.advance(timedelta(minutes=1))
                await h.bot.checks.run_due()
                await h.drain()
            alerts = {a.fingerprint: a for a in await own_alerts(h)}
            shop = await state(h, "shop-tls")
            other = await state(h, "other-tls")
    expiry = alerts["check/shop-tls/expiry"]
    assert expiry.title == f"TLS certificate for localhost:{port_a} expires in 10 days"
    assert "Renew it." in expiry.description and expiry.severity == "medium"
    assert "check/shop-tls" not in alerts  # it verifies: not down
    assert shop.cert_expires_at is not None and abs(shop.cert_expires_at - (now + timedelta(days=10, hours=1))) < timedelta(seconds=2)
    down = alerts["check/other-tls"]
    assert down.title == "other-tls is down"
    assert "Hostname mismatch" in down.description and "localhost" in down.description
    assert other.cert_expires_at is not None  # read without verifying, to still tell when it expires
