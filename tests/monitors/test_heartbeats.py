"""Heartbeats from jobs and Alertmanager's Watchdog: silence raises one alert, the next report ends it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.alerts.models import Alert
from bot.clock import ManualClock
from bot.monitors.models import MonitorState
from bot.sandbox.slack import SlackStandIn
from tests.support.factories import T0, TOKENS, am_alert, am_notification, make_config
from tests.support.harness import Harness, start_harness
from tests.support.visible import visible_text

TOKEN = "backup-beat-token-1"
MONITORS = f"""
severities:
  critical: {{escalate: false}}
heartbeats:
  - {{name: nightly-backup, every: 24h, grace: 1h, team: platform, token: "{TOKEN}"}}
"""
WATCHDOG = """
severities:
  critical: {escalate: false}
watchdog: {integration: prometheus, alertname: Watchdog, every: 5m}
"""


@pytest.fixture
async def harness(slack: SlackStandIn, clock: ManualClock, db_url: str) -> AsyncIterator[Harness]:
    async with start_harness(slack=slack, clock=clock, db_url=db_url, config=make_config(MONITORS),
                             background=False) as h:
        yield h


async def get(h: Harness, path: str, **headers: str) -> tuple[int, dict]:
    async with h.http.get(h.url + path, headers=headers) as resp:
        return resp.status, await resp.json()


async def beat(h: Harness, suffix: str = "", body: bytes = b"") -> dict:
    async with h.http.post(f"{h.url}/heartbeat/nightly-backup{suffix}?token={TOKEN}", data=body) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


async def deadlines(h: Harness) -> int:
    raised = await h.bot.monitors.run_due()
    await h.drain()
    return raised


async def own_alerts(h: Harness) -> list[Alert]:
    async with h.bot.services.sessions() as s:
        return list((await s.scalars(select(Alert).where(Alert.integration == "watchstander")
                                     .order_by(Alert.id))).all())


async def test_a_beat_is_recorded_with_its_next_deadline(harness: Harness) -> None:
    status, body = await get(harness, f"/heartbeat/nightly-backup?token={TOKEN}")  # curl from cron
    assert status == 200
    assert body == {"status": "ok", "heartbeat": "nightly-backup", "at": "2026-11-24T13:00:00+00:00",
                    "next_due_at": "2026-11-25T14:00:00+00:00", "alert_resolved": False, "alert_raised": False}
    status, _ = await get(harness, "/heartbeat/nightly-backup", Authorization=f"Bearer {TOKEN}")
    assert status == 200


async def test_unknown_names_and_bad_tokens_are_refused(harness: Harness) -> None:
    status, body = await get(harness, f"/heartbeat/nightly-restore?token={TOKEN}")
    assert status == 404 and "no heartbeat named 'nightly-restore'" in body["error"]
    status, body = await get(harness, "/heartbeat/nightly-backup")
    assert status == 401 and "needs its token" in body["error"]
    status, body = await get(harness, "/heartbeat/nightly-backup?token=" + TOKENS["AM_TOKEN"])
    assert status == 401 and body["error"] == "wrong token for heartbeat 'nightly-backup'"
    status, body = await get(harness, "/heartbeat/nightly-backup?token=%ED%A0%80")  # a lone surrogate, percent-encoded
    assert status == 401
    assert await own_alerts(harness) == []


async def test_a_missing_beat_raises_one_alert_at_every_plus_grace_and_the_next_beat_resolves_it(
        harness: Harness) -> None:
    await beat(harness)
    harness.clock.advance(timedelta(hours=25) - timedelta(seconds=1))
    assert await deadlines(harness) == 0  # 24h + 1h grace not over yet
    harness.clock.advance(timedelta(seconds=1))
    assert await deadlines(harness) == 1
    harness.clock.advance(timedelta(hours=3))
    assert await deadlines(harness) == 0  # exactly once, however long it stays quiet
    [msg] = harness.slack.messages("platform-alerts")
    text = visible_text(msg)
    assert text.startswith("🔴 Heartbeat nightly-backup is late")
    assert "No heartbeat within 1d1h (every + grace). The last report was at 2026-11-24 14:00 CET (1d 1h ago)." in text
    assert "📋 Playbook: Failed backups" in text  # the shipped playbook matches it

    answer = await beat(harness)
    await harness.drain()
    assert answer["alert_resolved"] is True
    [alert] = await own_alerts(harness)
    assert alert.status == "resolved" and alert.title == "Heartbeat nightly-backup is late"
    text = visible_text(harness.slack.messages("platform-alerts")[0])
    assert "✅ *Resolved* by Watchstander after 3h 00m" in text and "*Service*\nnightly-backup" in text
    assert "Reported in again at 18:00 CET after 3h 00m." in text
    harness.clock.advance(timedelta(hours=24))
    assert await deadlines(harness) == 0  # the new deadline is a full period after the beat


async def test_a_heartbeat_never_seen_is_late_a_full_period_after_watching_began(harness: Harness) -> None:
    assert await deadlines(harness) == 0  # starts watching now
    harness.clock.advance(timedelta(hours=25))
    assert await deadlines(harness) == 1
    [alert] = await own_alerts(harness)
    assert "No report since watching began at 2026-11-24 14:00 CET." in alert.description


async def test_a_failure_report_raises_an_alert_with_the_body_as_reason(harness: Harness) -> None:
    answer = await beat(harness, "/fail", "pg_dump: error: connection to server failed\n\xff".encode("latin-1"))
    await harness.drain()
    assert answer["status"] == "failed" and answer["alert_raised"] is True
    again = await beat(harness, "/fail", b"still failing")
    assert again["alert_raised"] is False  # one alert per failure, not one per report
    [alert] = await own_alerts(harness)
    assert alert.title == "Heartbeat nightly-backup reported a failure"
    assert alert.description == "The job reported a failure: pg_dump: error: connection to server failed\n\ufffd"
    [msg] = harness.slack.messages("platform-alerts")
    assert visible_text(msg).startswith("🔴 Heartbeat nightly-backup reported a failure")
    await beat(harness)
    [alert] = await own_alerts(harness)
    assert alert.status == "resolved"


async def test_the_watchdog_is_recorded_not_posted_and_its_silence_raises_a_critical_alert(
        slack: SlackStandIn, clock: ManualClock, db_url: str) -> None:
    async with start_harness(slack=slack, clock=clock, db_url=db_url, config=make_config(WATCHDOG),
                             background=False) as harness:
        await watchdog_goes_quiet(harness)


async def watchdog_goes_quiet(harness: Harness) -> None:
    watchdog = am_alert("Watchdog", fingerprint="fp-watchdog", labels={"severity": "none"},
                        summary="An alert that should always be firing")
    status, body = await harness.alertmanager(am_notification(watchdog, group_key='{}:{alertname="Watchdog"}'))
    assert status == 202 and body["alerts"] == 1
    await harness.drain()
    assert harness.slack.messages("platform-alerts") == []  # never a message of its own
    assert await own_alerts(harness) == []

    for _ in range(3):  # it keeps arriving every 4 minutes: all is well
        harness.clock.advance(timedelta(minutes=4))
        await harness.alertmanager(am_notification(watchdog, group_key='{}:{alertname="Watchdog"}'))
        assert await deadlines(harness) == 0
    harness.clock.advance(timedelta(minutes=5))
    assert await deadlines(harness) == 1
    [msg] = harness.slack.messages("platform-alerts")
    text = visible_text(msg)
    assert text.startswith("🔴 Monitoring pipeline is down: no Watchdog alert from prometheus")
    assert "has not arrived through prometheus for 5m" in text

    mixed = am_notification(watchdog, am_alert(), group_key='{}:{alertname="Mixed"}')
    status, body = await harness.alertmanager(mixed)  # arrives again, with a real alert beside it
    assert status == 202 and body["alerts"] == 1
    await harness.drain()
    alerts = await own_alerts(harness)
    assert [a.status for a in alerts] == ["resolved"]
    async with harness.bot.services.sessions() as s:
        titles = list((await s.scalars(select(Alert.title).where(Alert.integration == "prometheus"))).all())
    assert titles == ["HighErrorRate"]


async def test_beats_are_not_logged_with_their_token(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    await beat(harness)
    assert TOKEN not in caplog.text
    assert T0  # the clock the answers are dated by


async def test_a_heartbeat_removed_from_the_config_has_its_open_alert_resolved_at_start(
        slack: SlackStandIn, clock: ManualClock, db_url: str) -> None:
    async with start_harness(slack=slack, clock=clock, db_url=db_url, config=make_config(MONITORS),
                             background=False) as h:
        clock.advance(timedelta(hours=26))
        assert await deadlines(h) == 1
    clock.advance(timedelta(minutes=5))
    async with start_harness(slack=slack, clock=clock, db_url=db_url, config=make_config(), background=False) as h:
        await h.drain()
        [alert] = await own_alerts(h)
        assert alert.status == "resolved"
        assert alert.description.endswith("No longer watched: removed from the config.")
        text = visible_text(h.slack.messages("platform-alerts")[0])
        assert "✅ *Resolved* by Watchstander" in text
        async with h.bot.services.sessions() as s:
            assert (await s.scalars(select(MonitorState))).all() == []
