"""`/oncall page` pages a team on demand; `/oncall silence` keeps matching alerts quiet but recorded."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from bot.alerts.models import Alert
from bot.sandbox.slack import SandboxEphemeral
from bot.sandbox.twilio import TwilioStandIn
from tests.escalation.paging import fire, pages_to, post_alert, sent, thread_texts
from tests.support.factories import ALICE, BOB, am_alert
from tests.support.harness import Harness
from tests.support.visible import visible_text


async def oncall(h: Harness, text: str, user: str = BOB) -> SandboxEphemeral:
    seen = len(h.slack.ephemerals(user))
    resp = await h.driver.slash("/oncall", text, user_id=user, channel_id=h.slack.channel_id("platform-alerts"))
    assert resp.status == 200
    answers = await h.slack.wait_for(lambda: h.slack.ephemerals(user)[seen:])
    await h.drain()
    return answers[-1]


async def stored_alerts(h: Harness) -> int:
    async with h.bot.services.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(Alert)) or 0)


async def test_oncall_page_pages_the_team_through_its_policy(pager: Harness, twilio: TwilioStandIn) -> None:
    answer = await oncall(pager, 'page platform "checkout is down"')
    assert answer.text.startswith("📟 Paging *platform* through its escalation policy: “checkout is down” (alert #1")
    [msg] = pager.slack.messages("platform-alerts")
    assert visible_text(msg).startswith("🔴 checkout is down")
    assert sent(pager, twilio)["DM Alice"] == 1
    assert thread_texts(pager, msg)[0] == "📟 Paging <@U0ALICE01> (step 1)"
    pager.clock.advance(timedelta(minutes=5))
    await pager.drain()
    [sms] = pages_to(twilio, ALICE)
    assert sms.body.startswith("CRITICAL checkout is down: Paged by hand with /oncall page platform. Reply ")


async def test_oncall_page_explains_what_is_wrong(pager: Harness, twilio: TwilioStandIn) -> None:
    answer = await oncall(pager, "page databases it is on fire")
    assert answer.text.startswith("Nobody was paged: there is no team named 'databases' (teams: platform, payments).")
    answer = await oncall(pager, "page platform")
    assert answer.text.startswith("Usage: `/oncall page TEAM message`")
    assert pager.slack.messages("platform-alerts") == [] and sent(pager, twilio) == {}


async def test_a_silence_keeps_matching_alerts_quiet_but_recorded_and_ends_early(pager: Harness,
                                                                                 twilio: TwilioStandIn) -> None:
    answer = await oncall(pager, "silence service=api alertname=~^High 2h")
    assert answer.text.startswith("🔕 Silence #1 is on until <!date^")
    assert "`alertname=~^High` `service=api`" in answer.text
    await post_alert(pager)
    pager.clock.advance(timedelta(minutes=30))
    await pager.drain()
    assert pager.slack.messages("platform-alerts") == [] and sent(pager, twilio) == {}
    assert await stored_alerts(pager) == 1
    listing = await oncall(pager, "silence list")
    assert "🔕 *#1* `alertname=~^High` `service=api` until" in visible_text(listing)
    ended = await oncall(pager, "silence end 1")
    assert ended.text == "🔔 Silence #1 ended; matching alerts notify again."
    await fire(pager, am_alert("HighLatency", fingerprint="fp-2"), group_key="latency")
    assert sent(pager, twilio)["DM Alice"] == 1
    again = await oncall(pager, "silence end 1")
    assert again.text.startswith("⚠️ there is no current silence #1")


async def test_a_silence_quiets_an_alert_already_escalating(pager: Harness, twilio: TwilioStandIn) -> None:
    msg = await fire(pager)
    answer = await oncall(pager, "silence alertname=HighErrorRate 1h")
    assert "It quiets 1 open alert too." in answer.text
    assert "🔕 *Silenced* until" in visible_text(pager.slack.messages("platform-alerts")[0])
    pager.clock.advance(timedelta(minutes=30))
    await pager.drain()
    assert sent(pager, twilio) == {"DM Alice": 1}  # step 2 waits for the silence to end
    await oncall(pager, "silence end 1")
    assert "🚨 *Firing*" in visible_text(pager.slack.messages("platform-alerts")[0])
    assert len(pages_to(twilio, ALICE)) == 1  # the held-back step runs at once
    assert "📱 Paging Alice by SMS (step 2)" in thread_texts(pager, msg)


async def test_a_maintenance_window_starts_later(pager: Harness, twilio: TwilioStandIn) -> None:
    # T0 is Tuesday 14:00 in Berlin.
    answer = await oncall(pager, "silence service=api from 14:07 for 2h")
    assert answer.text.startswith("🛠️ Maintenance window #1 from <!date^")
    msg = await fire(pager)
    pager.clock.advance(timedelta(minutes=5))
    await pager.drain()
    assert sent(pager, twilio) == {"DM Alice": 1, "SMS Alice": 1}  # before the window: paged as usual
    pager.clock.advance(timedelta(minutes=5))
    await post_alert(pager, am_alert("HighLatency", fingerprint="fp-2"), group_key="latency")
    # 14:10, inside the window: the new alert is recorded only, and the one already firing stops paging.
    assert [visible_text(m).split("\n")[0] for m in pager.slack.messages("platform-alerts")] == ["🔴 HighErrorRate"]
    assert "🔕 *Silenced* until" in visible_text(msg)
    assert await stored_alerts(pager) == 2
    pager.clock.advance(timedelta(minutes=60))
    await pager.drain()
    assert sent(pager, twilio) == {"DM Alice": 1, "SMS Alice": 1}
    listing = await oncall(pager, "silence list")
    assert "🔕 *#1* `service=api`" in visible_text(listing)


async def test_bad_silences_are_explained(pager: Harness) -> None:
    for text, expected in [
        ("silence 2h", "⚠️ say which alerts to silence with label=value matchers"),
        ("silence service=api", "⚠️ say for how long"),
        ("silence service=api forever", "⚠️ cannot read 'forever'"),
        ("silence alertname=~[ 1h", "⚠️ alertname: bad regular expression '['"),
        ("silence service=api 45d", "⚠️ 45d is longer than the 30 days a silence may last"),
        ("silence end x", "Which one? `/oncall silence end ID`"),
    ]:
        answer = await oncall(pager, text, user=ALICE)
        assert answer.text.startswith(expected), answer.text
    listing = await oncall(pager, "silence list", user=ALICE)
    assert listing.text.startswith("No silences or maintenance windows.")
