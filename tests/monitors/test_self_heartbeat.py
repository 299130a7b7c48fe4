"""``self_heartbeat``: the bot pings a dead man's switch outside while it is healthy, and only then."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from aiohttp import web

from bot.clock import ManualClock
from bot.heartbeat import Heartbeat, Loop
from bot.sandbox.slack import SlackStandIn
from bot.web.keys import STATE
from tests.support.factories import make_config
from tests.support.harness import start_harness

SWITCH_PATH = "/ping/3f0c6a1e-secret-uuid"


@pytest.fixture
async def switch() -> AsyncIterator[tuple[str, list[str]]]:
    """A dead man's switch on 127.0.0.1 (healthchecks.io's shape: GET the URL); records each ping."""
    pings: list[str] = []

    async def ping(request: web.Request) -> web.Response:
        pings.append(request.method)
        return web.Response(text="OK")

    app = web.Application()
    app.router.add_get(SWITCH_PATH, ping)
    app.router.add_get("/down", lambda _r: web.Response(status=503))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}", pings
    await runner.cleanup()


async def test_pings_are_counted_at_the_switch_and_stop_while_a_loop_is_stalled(
        slack: SlackStandIn, clock: ManualClock, db_url: str, switch: tuple[str, list[str]],
        caplog: pytest.LogCaptureFixture) -> None:
    base, pings = switch
    config = make_config(f"self_heartbeat: {{url: '{base}{SWITCH_PATH}', every: 1m}}\n")
    async with start_harness(slack=slack, clock=clock, db_url=db_url, config=config, background=False) as h:
        pinger = h.bot.pinger
        assert pinger is not None
        assert [await pinger.ping_once() for _ in range(3)] == [True, True, True]
        assert pings == ["GET", "GET", "GET"]

        later = [0.0]
        stalled = Heartbeat(1.0, now=lambda: later[0])
        later[0] = 3600.0  # the dispatcher last went round an hour ago
        h.bot.web[STATE].loops[Loop.DISPATCHER] = stalled
        assert await pinger.ping_once() is False
        assert pings == ["GET", "GET", "GET"]  # a bot that cannot page must look dead from outside
        assert "self_heartbeat: not pinging while unready: dispatcher: stalled" in caplog.text
        assert SWITCH_PATH not in caplog.text


async def test_a_switch_that_refuses_is_a_warning_without_the_url(
        slack: SlackStandIn, clock: ManualClock, db_url: str, switch: tuple[str, list[str]],
        caplog: pytest.LogCaptureFixture) -> None:
    base, _pings = switch
    config = make_config(f"self_heartbeat: {{url: '{base}/down', every: 30s}}\n")
    async with start_harness(slack=slack, clock=clock, db_url=db_url, config=config) as h:
        job = h.bot.scheduler.get_job("self_heartbeat")
        assert job is not None and job.trigger.interval == timedelta(seconds=30)
        assert h.bot.pinger is not None and await h.bot.pinger.ping_once() is False
    assert "self_heartbeat: the dead man's switch did not take the ping: HTTP 503" in caplog.text
    assert "/down" not in caplog.text
