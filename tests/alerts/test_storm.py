"""An alert storm is folded into one message edited in place; nothing is dropped or queued for hours."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from bot.alerts.models import Alert, AlertGroup, AlertStorm
from bot.clock import ManualClock
from bot.notify.storm_posts import EDIT_INTERVAL
from bot.notify.storms import STORM_QUIET
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
    quiet.clock.advance(EDIT_INTERVAL)  # storm edits are spaced a second apart
    await quiet.drain()
    [storm] = quiet.slack.messages("platform-alerts")
    assert "0 firing · 20 acknowledged · 0 resolved" in visible_text(storm)
    assert quiet.slack.ephemerals()[-1].text == "Acknowledged 20 firing alert(s) of this storm."

    await _fire(quiet, 99, name="Late")  # still within the storm's quiet period: folded too
    quiet.clock.advance(EDIT_INTERVAL)
    await quiet.drain()
    assert len(quiet.slack.messages("platform-alerts")) == 1
    assert "21 alerts" in visible_text(quiet.slack.messages("platform-alerts")[0])

    quiet.clock.advance(timedelta(minutes=6))  # quiet for longer than a storm lasts
    await _fire(quiet, 100, name="After")
    await quiet.drain()
    storm, single = quiet.slack.messages("platform-alerts")
    assert visible_text(storm).startswith("🌤️ Storm over: 21 alerts in 21 groups over 2s\n")
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


def _storm(h: Harness) -> str:
    """The storm message as the channel shows it ("" while there is none)."""
    storms = [m for m in h.slack.messages("platform-alerts") if "storm" in m.text.lower()]
    assert len(storms) <= 1
    return visible_text(storms[0]) if storms else ""


async def test_a_refused_last_edit_is_retried_after_the_burst_until_the_message_is_current(quiet: Harness) -> None:
    for i in range(10):
        await _fire(quiet, i)
    await quiet.drain()
    assert _storm(quiet).startswith("⛈️ Alert storm: 10 alerts")
    for i in range(10, 15):  # the burst's last alerts; Slack refuses the edit that would show them
        await _fire(quiet, i)
    quiet.slack.fail_next("chat.update", status=429, retry_after=3)
    quiet.clock.advance(EDIT_INTERVAL)
    await quiet.drain()
    assert _storm(quiet).startswith("⛈️ Alert storm: 10 alerts")
    quiet.clock.advance(timedelta(seconds=2))
    await quiet.drain()  # Retry-After has not passed: nothing is tried
    assert _storm(quiet).startswith("⛈️ Alert storm: 10 alerts")
    assert len(quiet.slack.calls_to("chat.update")) == 1
    quiet.clock.advance(timedelta(seconds=1))  # no new alert arrives, yet the storm message catches up
    await quiet.drain()
    assert _storm(quiet).startswith("⛈️ Alert storm: 15 alerts in #platform-alerts")


async def test_a_storm_whose_first_post_was_refused_is_posted(quiet: Harness) -> None:
    quiet.slack.fail_next("chat.postMessage", status=429, retry_after=2)
    for i in range(10):
        await _fire(quiet, i)
    await quiet.drain()
    assert quiet.slack.messages("platform-alerts") == []
    async with quiet.bot.services.sessions() as s:
        [storm] = list(await s.scalars(select(AlertStorm)))
        assert (storm.posted_version, storm.sync_error) == (0, "ratelimited")
    quiet.clock.advance(timedelta(seconds=2))
    await quiet.drain()
    assert _storm(quiet).startswith("⛈️ Alert storm: 10 alerts in #platform-alerts")


async def test_a_storm_that_ends_says_so_and_its_acknowledge_all_still_works(quiet: Harness) -> None:
    for i in range(10):
        await _fire(quiet, i)
    await quiet.drain()
    quiet.clock.advance(timedelta(minutes=3, seconds=10))
    for i in range(10, 12):
        await _fire(quiet, i)
    await quiet.drain()
    quiet.clock.advance(STORM_QUIET)  # no new alert: the storm ends by itself, and its message says so
    await quiet.drain()
    [message] = quiet.slack.messages("platform-alerts")
    assert visible_text(message).startswith("🌤️ Storm over: 12 alerts in 12 groups over 3m 10s\n")
    assert "12 firing · 0 acknowledged · 0 resolved" in visible_text(message)
    await quiet.driver.click(message, AlertAction.STORM_ACK_ALL, user_id=ALICE)
    await quiet.drain()
    [message] = quiet.slack.messages("platform-alerts")
    assert "0 firing · 12 acknowledged · 0 resolved" in visible_text(message)
    assert quiet.slack.ephemerals()[-1].text == "Acknowledged 12 firing alert(s) of this storm."


async def test_a_channel_has_at_most_one_open_storm(quiet: Harness) -> None:
    for i in range(10):
        await _fire(quiet, i)
    await quiet.drain()
    async with quiet.bot.services.sessions() as s:
        s.add(AlertStorm(channel="platform-alerts", started_at=quiet.clock.now(), last_added_at=quiet.clock.now()))
        with pytest.raises(IntegrityError):
            await s.commit()


async def test_a_burst_of_2000_alerts_with_random_429s_ends_showing_all_2000(quiet: Harness) -> None:
    """200 Alertmanager notifications of 10 alerts each, for 14 groups, over real HTTP; Slack answers
    429 with Retry-After at random. The storm message must end showing the true figures."""
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    print(f"seed {seed}")
    injected = 0
    for n in range(200):
        k = n % 14
        alerts = [am_alert(f"Disk{k:02d}", fingerprint=f"fp-{n}-{j}", labels={"severity": "low", "instance": f"i{j}"})
                  for j in range(10)]
        assert (await quiet.alertmanager(am_notification(*alerts, group_key=f"disk-{k}")))[0] == 202
        if n % 10 == 9:  # the dispatcher runs while the burst goes on, Slack refusing at random
            refused = sum(c.status == 429 for c in quiet.slack.calls)
            if rng.random() < 0.5 and refused == injected:  # one refusal waiting at a time
                method = "chat.update" if _storm(quiet) else "chat.postMessage"  # the next call of the storm's
                quiet.slack.fail_next(method, status=429, retry_after=rng.randint(1, 3))
                injected += 1
            quiet.clock.advance(timedelta(milliseconds=250))
            await quiet.drain()
    end = quiet.clock.now()
    while "2,000 alerts" not in _storm(quiet) and quiet.clock.now() - end < timedelta(seconds=30):
        quiet.clock.advance(timedelta(milliseconds=250))
        await quiet.drain()
    print(f"caught up {quiet.clock.now() - end} after the burst")
    assert quiet.clock.now() - end <= timedelta(seconds=10), f"seed {seed}"
    text = _storm(quiet)
    assert text.startswith("⛈️ Alert storm: 2,000 alerts in #platform-alerts\n*2,000 alerts* in 14 groups"), seed
    assert "🔵 2,000 low" in text and "2,000 firing · 0 acknowledged · 0 resolved" in text
    assert "• Disk00 ×150\n• Disk01 ×150\n• Disk02 ×150\n• Disk03 ×150\n• Disk04 ×140" in text
    assert len(quiet.slack.messages("platform-alerts")) == 1  # nothing posted on its own
    assert sum(c.status == 429 for c in quiet.slack.calls) >= 1, "Slack never refused: the test proves nothing"
    async with quiet.bot.services.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Alert)) == 2000
        assert await s.scalar(select(func.count()).select_from(AlertStorm)) == 1
