"""Checks and heartbeats across restarts, config changes and failures of their own: a probe that
raises, a batch bigger than one pass, an interval changed, an option removed, a check removed while
down, the bot itself down past a deadline, the Watchdog through PagerDuty, a database gone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from bot.alerts.models import Alert
from bot.clock import ManualClock
from bot.config import Check
from bot.db import transaction
from bot.monitors.models import CheckOutage
from bot.monitors.probes import ProbeResult
from bot.monitors.runner import next_due
from bot.monitors.uptime import load_histories
from bot.sandbox.slack import SlackStandIn
from bot.web.probes import Prober
from tests.monitors.endpoints import Endpoint, http_endpoint
from tests.support.factories import T0, TOKENS, make_config
from tests.support.harness import Harness, start_harness

NO_PAGING = "severities:\n  critical: {escalate: false}\n  medium: {escalate: false}\n"


@pytest.fixture
async def endpoint() -> AsyncIterator[Endpoint]:
    async with http_endpoint() as e:
        yield e


def checks(url: str, n: int = 1, **extra: str) -> str:
    fields = ", ".join(f"{k}: {v}" for k, v in {"every": "30s", "timeout": "2s", "down_after": "30s", **extra}.items())
    return NO_PAGING + "checks:\n" + "".join(f"  - {{name: c{i}, url: '{url}', {fields}}}\n" for i in range(n))


async def own_alerts(h: Harness) -> list[Alert]:
    async with h.bot.services.sessions() as s:
        return list((await s.scalars(select(Alert).where(Alert.integration == "watchstander")
                                     .order_by(Alert.id))).all())


async def tick(h: Harness, step: timedelta = timedelta(seconds=30)) -> int:
    h.clock.advance(step)
    probed = await h.bot.checks.run_due()
    await h.drain()
    return probed


async def test_a_probe_that_raises_fails_its_own_check_only(slack: SlackStandIn, clock: ManualClock, db_url: str,
                                                          endpoint: Endpoint, caplog: pytest.LogCaptureFixture,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    endpoint.status = 500
    real = Prober.__call__

    async def buggy(self: Prober, check: Check) -> ProbeResult:
        if check.name == "c1":
            raise RuntimeError("a bug in one probe")
        return await real(self, check)

    monkeypatch.setattr(Prober, "__call__", buggy)
    async with start_harness(slack=slack, clock=clock, db_url=db_url, config=make_config(checks(endpoint.url, 2)),
                             background=False) as h:
        for _ in range(3):
            await tick(h)
        alerts = {a.fingerprint: a for a in await own_alerts(h)}
    assert set(alerts) == {"check/c0", "check/c1"}  # the other check was recorded, and alerted, all the same
    assert "the probe failed: RuntimeError: a bug in one probe" in alerts["check/c1"].description
    assert "the probe of check c1 raised" in caplog.text


async def test_a_pass_takes_at_most_fifty_checks_and_the_next_one_the_rest(
        slack: SlackStandIn, clock: ManualClock, db_url: str, endpoint: Endpoint) -> None:
    async with start_harness(slack=slack, clock=clock, db_url=db_url, config=make_config(checks(endpoint.url, 60)),
                             background=False) as h:
        h.clock.advance(timedelta(seconds=30))
        passes = [await h.bot.checks.run_due() for _ in range(3)]
    # All 60 were due: 50, then the other 10 (and a check whose next probe already falls within the
    # half second a pass looks ahead), then none.
    assert passes[0] == 50 and 10 <= passes[1] <= 12 and passes[2] == 0


async def test_a_shorter_interval_in_the_config_applies_at_the_next_start(
        slack: SlackStandIn, clock: ManualClock, db_url: str, endpoint: Endpoint) -> None:
    async with start_harness(slack=slack, clock=clock, db_url=db_url,
                             config=make_config(checks(endpoint.url, every="6h", timeout="5s")), background=False) as h:
        assert await tick(h, timedelta(minutes=1)) == 1
    async with start_harness(slack=slack, clock=clock, db_url=db_url,
                             config=make_config(checks(endpoint.url, every="1m")), background=False) as h:
        assert await tick(h, timedelta(minutes=1)) == 1  # not six hours after the last probe


async def test_a_slow_alert_whose_slow_after_is_removed_is_resolved(
        slack: SlackStandIn, clock: ManualClock, db_url: str, endpoint: Endpoint) -> None:
    endpoint.delay = 0.3
    async with start_harness(slack=slack, clock=clock, db_url=db_url,
                             config=make_config(checks(endpoint.url, slow_after="0.1s")), background=False) as h:
        for _ in range(3):
            await tick(h)
        [slow] = await own_alerts(h)
        assert slow.title == "c0 is slow" and slow.status == "firing"
    async with start_harness(slack=slack, clock=clock, db_url=db_url, config=make_config(checks(endpoint.url)),
                             background=False) as h:
        await tick(h)
        [slow] = await own_alerts(h)
    assert slow.status == "resolved"
    assert slow.description.endswith("No longer watched: slow_after was removed from the config.")


async def test_a_check_removed_while_down_and_added_again_starts_with_a_clean_record(
        slack: SlackStandIn, clock: ManualClock, db_url: str, endpoint: Endpoint) -> None:
    endpoint.status = 503
    async with start_harness(slack=slack, clock=clock, db_url=db_url, config=make_config(checks(endpoint.url)),
                             background=False) as h:
        for _ in range(3):
            await tick(h)
    clock.advance(timedelta(hours=1))
    async with start_harness(slack=slack, clock=clock, db_url=db_url, config=make_config(NO_PAGING),
                             background=False) as h:
        async with h.bot.services.sessions() as s:
            [outage] = (await s.scalars(select(CheckOutage))).all()
        assert outage.ended_at == clock.now()  # closed when the check was retired
    clock.advance(timedelta(days=1))
    endpoint.status = 200
    async with start_harness(slack=slack, clock=clock, db_url=db_url, config=make_config(checks(endpoint.url)),
                             background=False) as h:
        for _ in range(4):
            await tick(h)
        async with h.bot.services.sessions() as s:
            history = (await load_histories(s, ["c0"], since=clock.now() - timedelta(days=7), now=clock.now()))["c0"]
    assert history.uptime(clock.now() - timedelta(hours=1), clock.now()) == 1.0  # not the old outage's 0


def test_a_due_time_beyond_one_interval_comes_back_when_the_clock_steps_back() -> None:
    every = timedelta(minutes=1)
    assert next_due(T0, every, T0 + timedelta(seconds=10)) == T0 + every
    assert next_due(T0, every, T0 + timedelta(minutes=5, seconds=10)) == T0 + 6 * every  # missed ones skipped
    assert next_due(T0, every, T0 - timedelta(hours=1)) == T0 - timedelta(hours=1) + every  # stepped back


HEARTBEAT = NO_PAGING + "heartbeats:\n  - {name: hourly-sync, every: EVERY, grace: 5m, token: sync-token-0001}\n"


async def beat(h: Harness) -> None:
    async with h.http.get(f"{h.url}/heartbeat/hourly-sync?token=sync-token-0001") as resp:
        assert resp.status == 200, await resp.text()


async def test_a_longer_heartbeat_interval_in_the_config_does_not_page_on_the_old_deadline(
        slack: SlackStandIn, clock: ManualClock, db_url: str) -> None:
    async with start_harness(slack=slack, clock=clock, db_url=db_url, config=make_config(HEARTBEAT.replace(
            "EVERY", "1h")), background=False) as h:
        await beat(h)
    async with start_harness(slack=slack, clock=clock, db_url=db_url, config=make_config(HEARTBEAT.replace(
            "EVERY", "24h")), background=False) as h:
        clock.advance(timedelta(minutes=70))
        assert await h.bot.monitors.run_due() == 0
        clock.advance(timedelta(hours=23))
        assert await h.bot.monitors.run_due() == 1


async def test_a_deadline_that_passed_while_the_bot_was_down_gets_a_grace_after_start(
        slack: SlackStandIn, clock: ManualClock, db_url: str) -> None:
    config = make_config(HEARTBEAT.replace("EVERY", "1h") + "watchdog: {integration: prometheus, every: 5m}\n")
    async with start_harness(slack=slack, clock=clock, db_url=db_url, config=config, background=False) as h:
        await beat(h)
    clock.advance(timedelta(hours=2))  # a long deploy: the job's beat and the Watchdog were refused meanwhile
    async with start_harness(slack=slack, clock=clock, db_url=db_url, config=config, background=False) as h:
        assert await h.bot.monitors.run_due() == 0  # no page just for having been down
        clock.advance(timedelta(minutes=5))
        assert await h.bot.monitors.run_due() == 2  # still nothing from either: now they are late
        titles = sorted(a.title for a in await own_alerts(h))
    assert titles == ["Heartbeat hourly-sync is late", "Monitoring pipeline is down: no Watchdog alert from prometheus"]


async def test_the_watchdog_through_alertmanagers_default_pagerduty_config(slack: SlackStandIn, clock: ManualClock,
                                                                          db_url: str) -> None:
    config = make_config(NO_PAGING + "watchdog: {integration: pd-compatible, every: 5m}\n")
    event = {"routing_key": TOKENS["PD_ROUTING_KEY"], "event_action": "trigger", "dedup_key": "watchdog-key",
             "payload": {"summary": "[FIRING:1] Watchdog (prometheus monitoring/k8s none)", "source": "alertmanager",
                         "severity": "info", "custom_details": {"firing": "Labels: alertname = Watchdog"}}}
    async with start_harness(slack=slack, clock=clock, db_url=db_url, config=config, background=False) as h:
        for _ in range(3):
            clock.advance(timedelta(minutes=4))
            status, body = await h.post("/v2/enqueue", event)
            assert status == 202, body
            assert await h.bot.monitors.run_due() == 0
        async with h.bot.services.sessions() as s:
            assert (await s.scalars(select(Alert))).all() == []  # recorded as the Watchdog, never an alert


async def test_a_database_gone_is_a_503_not_a_traceback(slack: SlackStandIn, clock: ManualClock, db_url: str,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    async with start_harness(slack=slack, clock=clock, db_url=db_url,
                             config=make_config(HEARTBEAT.replace("EVERY", "1h")), background=False) as h:
        async with transaction(h.bot.services.sessions) as s:
            await s.execute(text("DROP TABLE monitor_states"))
        async with h.http.get(f"{h.url}/heartbeat/hourly-sync?token=sync-token-0001") as resp:
            assert resp.status == 503 and resp.headers["Retry-After"] == "5"
            assert await resp.json() == {"status": "error", "errors": ["database unavailable: retry later"]}
    assert "database unavailable for GET /heartbeat/{name}: OperationalError" in caplog.text
    assert "Traceback" not in caplog.text and "sync-token-0001" not in caplog.text
