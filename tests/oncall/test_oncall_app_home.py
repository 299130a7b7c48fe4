"""The App Home tab: who is on call, the viewer's next shift, their open alerts."""

from __future__ import annotations

from bot.alerts import actions
from bot.db import transaction
from bot.sandbox.slack import SandboxView
from tests.support.factories import ALICE, CAROL, DAVE, am_alert, am_notification
from tests.support.harness import Harness
from tests.support.visible import visible_text


async def open_home(h: Harness, user: str) -> SandboxView:
    before = h.slack.home(user)
    version = before.view.get("hash") if before else None
    resp = await h.driver.open_app_home(user)
    assert resp.status == 200
    return await h.slack.wait_for(
        lambda: (v if (v := h.slack.home(user)) is not None and v.view.get("hash") != version else None))


async def fire(h: Harness, name: str, fingerprint: str, service: str) -> None:
    alert = am_alert(name, fingerprint=fingerprint, labels={"severity": "warning", "service": service})
    status, _ = await h.alertmanager(am_notification(alert, group_key=f'{{}}:{{alertname="{name}"}}'))
    assert status == 202


async def test_home_shows_who_is_on_call_your_next_shift_and_your_open_alerts(harness: Harness) -> None:
    await fire(harness, "HighErrorRate", "fp-1", "api")
    await fire(harness, "PaymentsDown", "fp-2", "payments")  # routed to payments, which nobody is on call for
    async with transaction(harness.bot.services.sessions) as s:
        await actions.acknowledge(s, 2, actor=DAVE, via="slack", now=harness.clock.now(),
                                  severities=harness.config.severities)
    await harness.drain()

    alice = visible_text(await open_home(harness, ALICE))  # on call for platform now
    lines = alice.splitlines()
    assert lines[:6] == [
        "📟 On call now",
        "*platform* · #platform-alerts",
        "Primary: <@U0ALICE01> until Mon 30 Nov 09:00 CET",
        "Backup: <@U0BOB0001> until Mon 30 Nov 09:00 CET",
        "Next: <@U0BOB0001> from Mon 30 Nov 09:00 CET",
        "📅 <http://localhost:0/oncall/platform.ics?token=platform-ics-token|Subscribe to the platform calendar>",
    ]
    assert "🗓️ Your next shift\nYou're *primary* on call for *platform* now, until Mon 30 Nov 09:00 CET." in alice
    assert "🚨 Your open alerts\n🟡 *#1* HighErrorRate — firing since Tue 24 Nov 14:00 CET" in alice
    assert "PaymentsDown" not in alice

    carol = visible_text(await open_home(harness, CAROL))  # backup from next Monday
    assert "You're *backup* for *platform* from Mon 30 Nov 08:00 GMT until Mon 7 Dec 08:00 GMT." in carol
    assert "Nothing open for you or the teams you're on call for." in carol

    dave = visible_text(await open_home(harness, DAVE))  # in no rotation, but he acknowledged #2
    assert "You have no shift in the next 12 weeks." in dave
    assert "🟡 *#2* PaymentsDown — acknowledged by <@U0DAVE001> since Tue 24 Nov 22:00 JST" in dave
    assert "HighErrorRate" not in dave


async def test_home_follows_an_override(harness: Harness) -> None:
    resp = await harness.driver.slash("/oncall", "override @Dave 2h", user_id=ALICE,
                                      channel_id=harness.slack.channel_id("platform-alerts"))
    assert resp.status == 200
    await harness.slack.wait_for(lambda: harness.slack.ephemerals(ALICE) or None)
    dave = visible_text(await open_home(harness, DAVE))
    assert "Primary: <@U0DAVE001> until Wed 25 Nov 00:00 JST (override)" in dave
    assert "You're *primary* on call for *platform* now, until Wed 25 Nov 00:00 JST (override)." in dave
