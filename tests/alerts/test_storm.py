"""An alert storm is folded into one message edited in place; nothing is dropped or queued for hours."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.alerts.models import AlertGroup
from bot.clock import ManualClock
from bot.sandbox.slack import SlackStandIn
from bot.slack.ids import AlertAction
from tests.support.factories import ALICE, am_alert, am_notification
from tests.support.harness import Harness, start_harness
from tests.support.visible import visible_text


@pytest.fixture
async def quiet(slack: SlackStandIn, clock: ManualClock, db_url: str) -> AsyncIterator[Harness]:
    async with start_harness(slack=slack, clock=clock, db_url=db_url, background=False) as h:
        yield h


async def _fire(h: Harness, i: int, name: str = "DiskFull") -> None:
    alert = am_alert(f"{name}{i % 3}", fingerprint=f"{name}-{i}", labels={"severity": "warning", "instance": f"n{i}"})
    status, _ = await h.alertmanager(am_notification(alert, group_key=f"{name}-{i}"))
    assert status == 202


async def test_many_new_alerts_at_once_become_one_storm_message(quiet: Harness) -> None:
    for i in range(20):
        await _fire(quiet, i)
    await quiet.drain()
    [storm] = quiet.slack.messages("platform-alerts")
    text = visible_text(storm)
    assert text.startswith("⛈️ Alert storm: 20 alerts in #platform-alerts")
    assert "🟡 20 medium" in text and "20 firing · 0 acknowledged · 0 resolved" in text
    assert "• DiskFull0 ×7" in text and "• DiskFull1 ×7" in text and "• DiskFull2 ×6" in text
    async with quiet.bot.services.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(AlertGroup)) == 20  # nothing dropped

    await quiet.driver.click(storm, AlertAction.STORM_ACK_ALL, user_id=ALICE)
    await quiet.drain()
    [storm] = quiet.slack.messages("platform-alerts")
    assert "0 firing · 20 acknowledged · 0 resolved" in visible_text(storm)
    assert quiet.slack.ephemerals()[-1].text == "Acknowledged 20 firing alert(s) of this storm."

    await _fire(quiet, 99, name="Late")  # still within the storm's quiet period: folded too
    await quiet.drain()
    assert len(quiet.slack.messages("platform-alerts")) == 1
    assert "21 alerts" in visible_text(quiet.slack.messages("platform-alerts")[0])

    quiet.clock.advance(timedelta(minutes=6))  # quiet for longer than a storm lasts
    await _fire(quiet, 100, name="After")
    await quiet.drain()
    storm, single = quiet.slack.messages("platform-alerts")
    assert "The storm ended" in visible_text(storm)
    assert visible_text(single).startswith("🟡 After1")


async def test_while_slack_rate_limits_the_channel_new_alerts_fold(quiet: Harness) -> None:
    quiet.slack.fail_next("chat.postMessage", status=429, retry_after=30)
    await _fire(quiet, 1)
    await quiet.drain()
    assert quiet.slack.messages("platform-alerts") == []  # Slack said wait 30 s
    for i in range(2, 5):
        await _fire(quiet, i)
    await quiet.drain()
    assert quiet.slack.messages("platform-alerts") == []
    quiet.clock.advance(timedelta(seconds=31))
    await quiet.drain()
    # Everything new while Slack said "wait" is in the storm message, the first alert included.
    [storm] = quiet.slack.messages("platform-alerts")
    assert visible_text(storm).startswith("⛈️ Alert storm: 4 alerts in #platform-alerts")
