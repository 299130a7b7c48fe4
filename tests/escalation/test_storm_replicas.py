"""Replicas on one PostgreSQL database show a channel's alert storm as one process would: two
`watchstander serve` processes share a burst of 5,000 alerts while Slack allows one message per
second per channel and refuses edits with 429 at random, and the channel gets exactly one storm
message, which ends showing all 5,000 alerts; a rate limit one replica was told of holds for the
other; a replica that stops halfway through showing the storm has it taken over."""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.alerts.models import Alert, AlertGroup, AlertStorm
from bot.clock import FAKE_CLOCK_ENV, FileClock, ManualClock
from bot.db import create_engine, session_factory
from bot.notify import storms
from bot.notify.storm_posts import EDIT_INTERVAL
from bot.sandbox.slack import RecordedCall, SlackStandIn
from tests.conftest import CHANNELS, USERS
from tests.support.factories import T0, TOKENS, am_alert, am_notification
from tests.support.harness import Harness, start_harness
from tests.support.process import BotProcess, start_bot, write_config
from tests.support.visible import visible_text

pytestmark = pytest.mark.postgres
NOTIFICATIONS, PER_NOTIFICATION, GROUPS = 500, 10, 14  # 5,000 alerts
TOTAL = f"{NOTIFICATIONS * PER_NOTIFICATION:,}"


class RandomRefusals:
    """Slack as the burst begins: it is already rate limiting the channel, and refuses every post of a
    single alert (429, Retry-After 2 s) until the storm message is out. After a storm edit goes
    through, it refuses the next one at random (one at a time)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.on = True
        self.slack: SlackStandIn | None = None
        self.injected = 0  # refusals made here, as opposed to the stand-in's own one-per-second limit

    def __call__(self, call: RecordedCall) -> None:
        if not self.on or self.slack is None:
            return
        if call.method == "chat.postMessage" and call.status == 429 and "storm" not in str(call.args.get("text")):
            self.slack.fail_next("chat.postMessage", status=429, retry_after=2)
            self.injected += 1
        if call.method == "chat.update" and call.status == 200 and self.rng.random() < 0.3:
            self.slack.fail_next("chat.update", status=429, retry_after=self.rng.randint(1, 2))
            self.injected += 1


def _storm_text(slack: SlackStandIn) -> str:
    storms = [m for m in slack.messages("platform-alerts") if "storm" in m.text.lower()]
    return visible_text(storms[0]) if len(storms) == 1 else ""


def _storm_calls(calls: list[RecordedCall]) -> list[RecordedCall]:
    """The storm message's posts and edits that Slack took."""
    return [c for c in calls if c.ok and c.method in ("chat.postMessage", "chat.update")
            and "Alert storm" in str(c.args.get("text"))]


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


async def test_two_replicas_show_one_storm_with_every_alert(tmp_path: Path, pg_url: str) -> None:
    seed = random.randrange(2**32)
    refusals = RandomRefusals(seed)
    async with SlackStandIn(channels=CHANNELS, users=USERS, rate_limit_per_channel=1.0,
                            on_call=refusals) as slack:
        refusals.slack = slack
        slack.fail_next("chat.postMessage", status=429, retry_after=2)
        config = write_config(tmp_path)
        bots = [await start_bot(db_path=tmp_path / "unused.db", config_path=config, slack_api_url=slack.api_url,
                                extra_env={"DATABASE_URL": pg_url}) for _ in range(2)]
        try:
            await _burst([b.url for b in bots])
            burst_end, seen = time.monotonic(), len(slack.calls)
            refusals.on = False
            # A generous bound, only so that a broken build fails instead of hanging; how soon the
            # message is current is asserted below from the calls themselves, not from the wall clock.
            await slack.wait_for(lambda: f"{TOTAL} alerts" in _storm_text(slack), timeout=180)
            caught_up = time.monotonic() - burst_end
        finally:
            for b in bots:
                await b.stop()
        text = _storm_text(slack)
        refused = [c for c in slack.calls if c.status == 429]
        messages = slack.messages("platform-alerts")
        before = len(_storm_calls(slack.calls[:seen]))
        shown = [str(c.args.get("text")) for c in _storm_calls(slack.calls)]
    over_budget = len(refused) - refusals.injected - 1  # the stand-in's own 429s: a call sooner than 1 s after the last
    print(f"seed {seed}: caught up {caught_up:.1f}s after the burst; {len(refused)} refusals, "
          f"{over_budget} for going over Slack's budget")
    # The storm is claimed by one replica at a time, and each claim reads the figures afresh: of the
    # storm calls Slack took after the burst, at most the first can show figures read before its end.
    first = next(i for i, t in enumerate(shown) if f"{TOTAL} alerts" in t)
    assert first <= before + 1, shown[before:]
    assert text.startswith(f"⛈️ Alert storm: {TOTAL} alerts in #platform-alerts\n*{TOTAL} alerts* in 14 groups"), text
    assert f"🔵 {TOTAL} low" in text and f"{TOTAL} firing · 0 acknowledged · 0 resolved" in text
    # 500 notifications over 14 groups: the first ten get 36 (360 alerts), the last four 35.
    assert "• Disk00 ×360\n• Disk01 ×360\n• Disk02 ×360\n• Disk03 ×360\n• Disk04 ×360" in text
    assert len(messages) == 1  # one storm message; no alert posted on its own, no second storm
    # Slack's one message a second per channel holds across both replicas: the pause one of them is
    # told of is the other's too. At most a pause's end met by both at once costs a refusal or two.
    assert over_budget <= 2, over_budget
    assert len(refused) >= 2
    engine = create_engine(pg_url)
    try:
        async with session_factory(engine)() as s:
            assert await s.scalar(select(func.count()).select_from(Alert)) == NOTIFICATIONS * PER_NOTIFICATION
            rows = list(await s.scalars(select(AlertStorm)))
    finally:
        await engine.dispose()
    assert [(st.channel, st.ended_at is None, st.slack_ts == messages[0].ts) for st in rows] == [
        ("platform-alerts", True, True)]


# --- two replicas in this process, on one database, one clock ------------------------------------

@pytest.fixture
async def replicas(pg_url: str, clock: ManualClock) -> AsyncIterator[tuple[Harness, Harness]]:
    async with SlackStandIn(channels=CHANNELS, users=USERS, trigger_ttl=None, clock=clock) as slack, \
            start_harness(slack=slack, clock=clock, db_url=pg_url, background=False) as a, \
            start_harness(slack=slack, clock=clock, db_url=pg_url, background=False) as b:
        yield a, b


async def _fire(h: Harness, i: int) -> None:
    alert = am_alert(f"DiskFull{i % 3}", fingerprint=f"DiskFull-{i}", labels={"severity": "warning", "instance": f"n{i}"})
    status, _ = await h.alertmanager(am_notification(alert, group_key=f"DiskFull-{i}"))
    assert status == 202


async def _stored_storms(h: Harness) -> list[tuple[str | None, int, int]]:
    async with h.bot.services.sessions() as s:
        return [(st.slack_ts, st.version, st.posted_version) for st in await s.scalars(select(AlertStorm))]


async def test_a_rate_limit_one_replica_was_told_of_folds_the_other_replicas_new_alerts(
        replicas: tuple[Harness, Harness]) -> None:
    a, b = replicas
    a.slack.fail_next("chat.postMessage", status=429, retry_after=30)
    await _fire(a, 1)
    await a.drain()
    await _fire(b, 2)
    await b.drain()
    # Slack told replica a to wait 30 s for this channel; b does not try to post alert 2 on its own
    assert [c.status for c in a.slack.calls_to("chat.postMessage")] == [429]
    a.clock.advance(timedelta(seconds=31))
    await a.drain()
    await b.drain()
    [storm] = a.slack.messages("platform-alerts")
    assert visible_text(storm).startswith("⛈️ Alert storm: 2 alerts in #platform-alerts")  # alert 1 folded too


async def test_a_storm_whose_replica_stopped_mid_post_is_taken_over_and_shown_once(
        replicas: tuple[Harness, Harness]) -> None:
    a, b = replicas
    for i in range(10):
        await _fire(a, i)
    held = a.slack.hold("chat.postMessage")  # replica a claims the storm and stops while posting it
    stalled = asyncio.create_task(a.drain())
    await held.reached.wait()
    await b.drain()
    assert a.slack.messages("platform-alerts") == []  # a's claim holds, until its lease runs out
    a.clock.advance(storms.LEASE)
    await b.drain()
    [storm] = a.slack.messages("platform-alerts")
    assert visible_text(storm).startswith("⛈️ Alert storm: 10 alerts in #platform-alerts")
    held.release()  # a's post goes through after all, long after its claim was taken over
    await stalled
    [storm] = a.slack.messages("platform-alerts")  # a took its late message back
    assert visible_text(storm).startswith("⛈️ Alert storm: 10 alerts in #platform-alerts")
    assert [c.method for c in a.slack.calls if c.ok][-2:] == ["chat.postMessage", "chat.delete"]
    await _fire(b, 10)
    a.clock.advance(EDIT_INTERVAL)
    await a.drain()
    await b.drain()
    [storm] = a.slack.messages("platform-alerts")
    assert visible_text(storm).startswith("⛈️ Alert storm: 11 alerts in #platform-alerts")
    [(ts, version, posted_version)] = await _stored_storms(a)
    assert (ts, posted_version) == (storm.ts, version)


# --- a replica killed mid-storm ----------------------------------------------------------------------

async def test_a_replica_killed_while_posting_the_storm_has_it_taken_over(tmp_path: Path, pg_url: str) -> None:
    """Replica a is killed with SIGKILL while Slack is taking its post of the storm message, which it
    never records; replica b takes the storm over once a's claim has run out, finds the message a
    posted and keeps it current. Time is moved with a FileClock for both processes and the stand-in."""
    clock_file = tmp_path / "now"

    def set_clock(since_t0: timedelta) -> None:
        (tmp_path / "now.tmp").write_text((T0 + since_t0).isoformat())
        os.replace(tmp_path / "now.tmp", clock_file)

    set_clock(timedelta(0))
    env = {"DATABASE_URL": pg_url, FAKE_CLOCK_ENV: str(clock_file)}
    config = write_config(tmp_path)
    procs: list[BotProcess] = []

    async def start() -> BotProcess:
        procs.append(await start_bot(db_path=tmp_path / "unused.db", config_path=config,
                                     slack_api_url=slack.api_url, extra_env=env))
        return procs[-1]

    async with SlackStandIn(channels=CHANNELS, users=USERS, clock=FileClock(str(clock_file))) as slack, \
            aiohttp.ClientSession() as http:
        async def fire(bot: BotProcess, first: int, n: int) -> None:
            alerts = [am_alert(f"Disk{i % 3}", fingerprint=f"fp-{i}", labels={"severity": "low", "instance": f"i{i}"})
                      for i in range(first, first + n)]
            async with http.post(f"{bot.url}/alerts/alertmanager", json=am_notification(*alerts, group_key=f"k{first}"),
                                 headers={"Authorization": f"Bearer {TOKENS['AM_TOKEN']}"}) as resp:
                assert resp.status == 202, await resp.text()

        async def folded(n: int) -> None:
            """Wait (bounded at 60 s, only against a hang: a loaded CI machine once needed more than 30 s)
            until ``n`` groups are folded: each replica folds on its own time."""
            engine = create_engine(pg_url)
            try:
                for _ in range(1200):
                    async with session_factory(engine)() as s:
                        count = select(func.count()).select_from(AlertGroup).where(AlertGroup.storm_id.is_not(None))
                        if await s.scalar(count) == n:
                            return
                    await asyncio.sleep(0.05)
            finally:
                await engine.dispose()
            raise AssertionError(f"{n} groups were not folded into the storm")

        try:
            a = await start()
            slack.fail_next("chat.postMessage", status=429, retry_after=30)  # the channel is rate limited
            await fire(a, 0, 1)
            await slack.wait_for(lambda: slack.calls_to("chat.postMessage"), timeout=60)
            for k in range(1, 5):  # folded into a storm while Slack says wait
                await fire(a, k * 10, 10)
            await folded(4)
            held = slack.hold("chat.postMessage")
            set_clock(timedelta(seconds=31))
            await asyncio.wait_for(held.reached.wait(), timeout=60)  # a is posting the storm message
            b = await start()
            await a.kill9()
            held.release()
            await slack.wait_for(lambda: slack.messages("platform-alerts") or None, timeout=60)  # a's post landed
            await fire(b, 100, 9)
            # Every group is folded before the clock moves on, else b's first edit could miss one and the
            # clock stands still: a folds k0 when its pause runs out (unless its pass had read the time
            # before that, and then b folds it), b folds k100. The count can go from 4 to 6 in one step.
            await folded(6)
            set_clock(timedelta(seconds=31) + storms.LEASE)  # a's claim has run out
            await slack.wait_for(lambda: "50 alerts" in visible_text(slack.messages("platform-alerts")[0]),
                                 timeout=60)
        finally:
            for proc in procs:
                await proc.stop()
        messages = slack.messages("platform-alerts")
    assert len(messages) == 1  # b found a's message by its metadata instead of posting a second
    assert visible_text(messages[0]).startswith("⛈️ Alert storm: 50 alerts in #platform-alerts\n*50 alerts* in 6 groups")
    assert not [line for line in b.log if "Traceback" in line or '"level": "error"' in line], b.log
    engine = create_engine(pg_url)
    try:
        async with session_factory(engine)() as s:
            [stored] = list(await s.scalars(select(AlertStorm)))
    finally:
        await engine.dispose()
    assert (stored.slack_ts, stored.posted_version) == (messages[0].ts, stored.version)
