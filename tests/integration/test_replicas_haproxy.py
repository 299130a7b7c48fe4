"""Two `watchstander serve` replicas on one PostgreSQL database behind a real HAProxy (health checks on
``/readyz``), as the README's sample runs them: 500 escalating alerts are sent through HAProxy, one
replica is killed with SIGKILL halfway through, and every alert is still shown once and every due
page (a Slack DM at once, an SMS five minutes later) sent exactly once, counted at the Slack and
Twilio stand-ins.

Time is a FileClock shared by both replicas and the stand-ins: the test moves it past the dead
replica's claims (they last a minute) and to the SMS step, and waits, bounded only against a hang,
until the database says nothing due is left."""

from __future__ import annotations

import asyncio
import os
import re
import textwrap
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import text

from bot.clock import FAKE_CLOCK_ENV, FileClock
from bot.db import create_engine
from bot.notify.dispatch import LEASE
from bot.sandbox.slack import SlackStandIn
from bot.sandbox.twilio import TwilioStandIn
from tests.conftest import CHANNELS, USERS
from tests.escalation.paging import BOT_NUMBER, PUBLIC_URL
from tests.support.factories import ALICE, BOB, CAROL, T0, TOKENS, am_alert, am_notification
from tests.support.haproxy import haproxy
from tests.support.process import BotProcess, free_port, start_bot

pytestmark = pytest.mark.postgres
TEAMS, PER_TEAM = 100, 5  # 500 alerts; 5 a channel stays below the 8 that fold a channel's alerts into a storm
ALERTS = TEAMS * PER_TEAM
SETTLE_WITHIN = 90.0  # seconds; only against a hang
TITLE = re.compile(r"Disk\d{3}")


def replicas_config() -> str:
    people = [ALICE, BOB, CAROL]
    teams = "".join(f"""\
  - name: t{n:02d}
    channel: t{n:02d}-alerts
    schedule: {{rotation: weekly, handoff: "mon 09:00", timezone: Europe/Berlin, start: 2026-11-02,
               primary: [{", ".join(people[n % 3:] + people[:n % 3])}]}}
    escalation:
      - {{after: 0m, notify: [slack:primary]}}
      - {{after: 5m, notify: [sms:primary]}}
""" for n in range(TEAMS))
    routes = "".join(f"  - {{match: {{team: t{n:02d}}}, team: t{n:02d}}}\n" for n in range(TEAMS))
    return textwrap.dedent("""\
        timezone: Europe/Berlin
        slack: {alerts_channel: alerts, incidents_channel: incidents, summary_channel: ops-weekly}
        people:
          - {slack_id: U0ALICE01, name: Alice, phone: "+15550000001", timezone: Europe/Berlin}
          - {slack_id: U0BOB0001, name: Bob,   phone: "+15550000002", timezone: America/New_York}
          - {slack_id: U0CAROL01, name: Carol, phone: "+15550000003"}
        integrations:
          - {name: prometheus, type: alertmanager, token: "${AM_TOKEN}", team: t00}
        """) + "teams:\n" + teams + "routes:\n" + routes


@dataclass
class Left:
    """What the replicas still have to do at a moment of the fake clock."""

    due: list[str]  # work a replica may take now
    later: int  # due work claimed until later: a row waiting for its parent post, a retry's backoff


async def left_at(url: str, now: datetime) -> Left:
    """:class:`Left` at ``now``, read in one snapshot of the database."""
    unsent = "sent_at IS NULL AND failed_at IS NULL AND due_at <= :now"
    queries = {
        "alerts stored": "SELECT count(*) FROM alert_groups",
        "alert groups not shown": "SELECT count(*) FROM alert_groups WHERE posted_version < version "
                                  "AND (sync_claimed_until IS NULL OR sync_claimed_until <= :now)",
        "outbox rows due": f"SELECT count(*) FROM outbox WHERE {unsent} "
                           "AND (claimed_until IS NULL OR claimed_until <= :now)",
        "escalation steps due": "SELECT count(*) FROM escalations WHERE next_at <= :now",
        "later": f"SELECT count(*) FROM outbox WHERE {unsent} AND claimed_until > :now",
        "groups later": "SELECT count(*) FROM alert_groups WHERE posted_version < version AND sync_claimed_until > :now",
    }
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="REPEATABLE READ")
            counts = {what: int(await conn.scalar(text(sql), {"now": now}) or 0) for what, sql in queries.items()}
    finally:
        await engine.dispose()
    due = [f"{counts['alerts stored']} of {ALERTS} alerts stored"] if counts.pop("alerts stored") != ALERTS else []
    later = counts.pop("later") + counts.pop("groups later")
    return Left(due + [f"{n} {what}" for what, n in counts.items() if n], later)


async def until_settled(url: str, now: datetime, bot: BotProcess, set_clock: Callable[[datetime], object]) -> None:
    """Wait until nothing is left at ``now``; work claimed until a few seconds later (a thread reply
    waiting for its alert's post is looked at again 2 s on) is let through by moving the clock on by
    3 s at a time, as real time would (far less than a claim's minute, so no claim runs out)."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + SETTLE_WITHIN
    while True:
        left = await left_at(url, now)
        if not left.due and not left.later:
            return
        assert bot.proc.returncode is None, "the surviving replica exited:\n" + "".join(bot.log[-10:])
        if loop.time() > give_up:
            raise AssertionError(f"the replicas never finished: {left}\n" + "".join(bot.log[-5:]))
        if not left.due:
            now += timedelta(seconds=3)
            set_clock(now)
        await asyncio.sleep(0.2)


async def send(http: aiohttp.ClientSession, url: str, n: int) -> None:
    """Alert ``n`` to its team, as Alertmanager sends it: again after a failure (a replica that died with
    the request, or HAProxy not yet counting it down), bounded; a repeat is the same alert."""
    alert = am_alert(f"Disk{n:03d}", fingerprint=f"fp-{n}", labels={"team": f"t{n % TEAMS:02d}"})
    for _attempt in range(50):
        try:
            async with http.post(f"{url}/alerts/alertmanager", json=am_notification(alert, group_key=f"k{n}"),
                                 headers={"Authorization": f"Bearer {TOKENS['AM_TOKEN']}"}) as resp:
                if resp.status == 202:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError(f"alert {n} was never accepted")


def titles(texts: list[str]) -> Counter[str]:
    return Counter(match for body in texts for match in set(TITLE.findall(body)))


async def test_two_replicas_behind_haproxy_page_once_when_one_is_killed(tmp_path: Path, pg_url: str) -> None:
    clock_file = tmp_path / "now"

    def set_clock(when: datetime) -> datetime:
        (tmp_path / "now.tmp").write_text(when.isoformat())
        os.replace(tmp_path / "now.tmp", clock_file)
        return when

    set_clock(T0)
    config = tmp_path / "watchstander.yaml"
    config.write_text(replicas_config())
    channels = (*CHANNELS, *(f"t{n:02d}-alerts" for n in range(TEAMS)))
    clock = FileClock(str(clock_file))
    async with SlackStandIn(channels=channels, users=USERS, clock=clock) as slack, \
            TwilioStandIn(from_numbers=[BOT_NUMBER], clock=clock) as twilio:
        env = {"DATABASE_URL": pg_url, FAKE_CLOCK_ENV: str(clock_file), "PUBLIC_URL": PUBLIC_URL,
               "TWILIO_ACCOUNT_SID": twilio.account_sid, "TWILIO_AUTH_TOKEN": twilio.auth_token,
               "TWILIO_FROM_NUMBER": BOT_NUMBER, "TWILIO_API_URL": twilio.api_url}
        ports = [free_port(), free_port()]
        a, b = [await start_bot(db_path=tmp_path / "unused.db", config_path=config, slack_api_url=slack.api_url,
                                extra_env=env, port=port) for port in ports]
        try:
            async with haproxy(tmp_path, ports) as proxy, aiohttp.ClientSession() as http:
                await proxy.until_up("bot1", "bot2")
                gate, accepted, halfway = asyncio.Semaphore(16), [0], asyncio.Event()

                async def one(n: int) -> None:
                    async with gate:
                        await send(http, proxy.url, n)
                    accepted[0] += 1
                    if accepted[0] == ALERTS // 2:
                        halfway.set()

                async def kill_halfway() -> None:
                    await halfway.wait()
                    await a.kill9()  # with requests in flight, and its claimed posts and pages left for b

                await asyncio.gather(kill_halfway(), *(one(n) for n in range(ALERTS)))
                await proxy.until_up("bot2")  # its health checks took the dead one out
                await until_settled(pg_url, set_clock(T0 + 2 * LEASE), b, set_clock)  # a's claims have run out
                await until_settled(pg_url, set_clock(T0 + timedelta(minutes=6)), b, set_clock)  # the SMS step
        finally:
            await b.stop()
            await a.stop()
        shown = [m.text for n in range(TEAMS) for m in slack.messages(f"t{n:02d}-alerts")]
        dms = [m.text for person in (ALICE, BOB, CAROL) for m in slack.dms(person)]
        sms = [m.body for m in twilio.messages if m.direction == "outbound-api"]

    expected = Counter({f"Disk{n:03d}": 1 for n in range(ALERTS)})
    assert len(shown) == ALERTS and titles(shown) == expected  # every alert's message, once
    assert len(dms) == ALERTS and titles(dms) == expected  # the first step's DM, once per alert
    assert len(sms) == ALERTS and titles(sms) == expected  # the SMS step, once per alert
    assert not [line for line in b.log if "Traceback" in line], b.log
    engine = create_engine(pg_url)
    try:
        async with engine.connect() as conn:
            pages = (await conn.execute(text("SELECT via, status, count(*) FROM pages GROUP BY via, status"))).all()
            per_step = await conn.scalar(text("SELECT max(n) FROM (SELECT count(*) AS n FROM pages "
                                              "GROUP BY group_id, step, person, via) AS each_page"))
    finally:
        await engine.dispose()
    assert sorted(pages) == [("slack", "sent", ALERTS), ("sms", "sent", ALERTS)] and per_step == 1
