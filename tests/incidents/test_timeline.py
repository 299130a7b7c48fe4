"""The timeline writes itself: changes by different people at known times, the alert's own history,
📌 and pinned messages (and their edits and deletions), checklist ticks — all in the post-mortem."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from bot.incidents.models import TimelineEntry
from bot.slack.ids import AlertAction, Callback, IncidentAction
from tests.incidents.flow import (
    CHANNEL,
    declare,
    ephemeral,
    incident,
    open_modal,
    posted,
    set_up,
    submit_declare,
    uploaded,
)
from tests.support.factories import ALICE, BOB, CAROL, DAVE, am_alert, am_notification
from tests.support.harness import Harness
from tests.support.visible import visible_text

WHEN = re.compile(r"^\| (2026-11-24 \d\d:\d\d:\d\d CET) \| (\S[^|]*?) \| (\S[^|]*?) \| (.*) \|$")


async def entries(h: Harness) -> list[TimelineEntry]:
    async with h.bot.services.sessions() as s:
        return list(await s.scalars(select(TimelineEntry).order_by(TimelineEntry.id)))


async def test_timeline_and_durations_across_a_severity_and_a_role_change(harness: Harness) -> None:
    h = harness
    # 13:58 UTC the error rate climbs; 14:00 CET (13:00 UTC) the alert reaches Watchstander.
    await h.alertmanager(am_notification(am_alert("HighErrorRate", starts_at="2026-11-24T12:58:00Z")))
    await h.drain()
    [alert] = h.slack.messages("platform-alerts")
    h.clock.advance(timedelta(minutes=2))  # 14:02 Alice acknowledges
    await h.driver.click(alert, AlertAction.ACKNOWLEDGE, user_id=ALICE)
    await h.slack.wait_for(lambda: "Acknowledged" in visible_text(h.slack.messages("platform-alerts")[0]) or None)
    h.clock.advance(timedelta(minutes=3))  # 14:05 Alice declares a SEV2 from the alert
    await h.driver.click(h.slack.messages("platform-alerts")[0], AlertAction.DECLARE_INCIDENT, user_id=ALICE)
    await submit_declare(h, await open_modal(h, ALICE, Callback.DECLARE_MODAL), user=ALICE, severity="SEV2")
    channel = (await set_up(h, ALICE)).id
    h.clock.advance(timedelta(minutes=3))  # 14:08 Bob raises it to SEV1
    await incident(h, "sev 1", user=BOB, channel=channel)
    await posted(h, "raised the severity", channel=channel)
    h.clock.advance(timedelta(minutes=2))  # 14:10 Carol hands command to Bob
    await incident(h, "role commander <@U0BOB0001>", user=CAROL, channel=channel)
    await posted(h, "is now *commander*", channel=channel)
    h.clock.advance(timedelta(minutes=10))  # 14:20 Bob: mitigated
    await incident(h, "status monitoring: error rate back under 1%", user=BOB, channel=channel)
    await posted(h, "Status update", channel=channel)
    h.clock.advance(timedelta(minutes=15))  # 14:35 Bob resolves
    await incident(h, "resolve Rolled back api 1.42", user=BOB, channel=channel)

    resolved = visible_text(await posted(h, "resolved* by", channel=channel))
    assert "*Time to detect*\n2m 00s" in resolved  # 13:58 impact → 14:00 alert
    assert "*Time to acknowledge*\n2m 00s" in resolved  # → 14:02 Alice's ack
    assert "*Time to mitigate*\n20m 00s" in resolved  # → 14:20 "monitoring"
    assert "*Time to resolve*\n35m 00s" in resolved  # → 14:35

    draft = (await uploaded(h)).text
    section = draft.split("## Timeline", 1)[1].split("## Alerts", 1)[0]
    timeline = [m.groups() for line in section.splitlines() if (m := WHEN.match(line))]
    assert [(at[11:16], kind, who) for at, kind, who, _ in timeline] == [
        ("14:00", "alert", "Alertmanager"),
        ("14:00", "page", "Watchstander"),
        ("14:02", "ack", "Alice"),
        ("14:05", "declared", "Alice"),
        ("14:05", "alert", "Alice"),
        ("14:08", "severity", "Bob"),
        ("14:10", "role", "Carol"),
        ("14:20", "status", "Bob"),
        ("14:35", "resolved", "Bob"),
    ]
    texts = [t for *_, t in timeline]
    assert texts[3] == "Declared SEV2: HighErrorRate" and texts[5] == "Severity SEV2 → SEV1"
    assert texts[6] == "Bob is now commander (was Alice)" and texts[8] == "Resolved: Rolled back api 1.42"
    assert "| Severity changes | declared as SEV2 by Alice at 2026-11-24 14:05:00 CET<br>SEV2 → SEV1 by Bob at " \
           "2026-11-24 14:08:00 CET |" in draft
    assert "| Commander | Bob |" in draft
    assert "| 2026-11-24 14:00:00 CET | Alice | Slack | step 1 | HighErrorRate |" in draft  # people paged
    assert "- **Window:** 2026-11-24 13:58:00 CET to 2026-11-24 14:20:00 CET" in draft
    for heading in ("## Root cause", "## Five whys", "## What went well", "## What went badly",
                    "## Where we got lucky"):
        assert heading in draft


async def test_pushpin_and_pins_join_the_timeline_and_follow_edits_and_deletes(harness: Harness) -> None:
    h = harness
    channel = await declare(h, user=BOB, commander=BOB, team="platform")
    h.clock.advance(timedelta(minutes=4))
    found, _ = await h.driver.say(CHANNEL, "Found it: the payment client times out after 1s since 1.42",
                                  user_id=CAROL)
    event = {"type": "reaction_added", "user": DAVE, "reaction": "pushpin", "item_user": CAROL,
             "item": {"type": "message", "channel": channel.id, "ts": found.ts}}
    await h.driver.event(event, event_id="Ev0PUSHPIN1")
    await h.driver.event(event, event_id="Ev0PUSHPIN1", retry_num=1)  # Slack's retry: acted on once
    # Dave is not in the channel, so Slack refuses him an ephemeral there: he is told in a DM.
    await h.slack.wait_for(lambda: any("Added to the timeline of incident #1" in m.text for m in h.slack.dms(DAVE))
                           or None)
    await h.driver.react(found, "pushpin", user_id=ALICE)  # a second 📌 on the same message: still one entry
    h.clock.advance(timedelta(minutes=1))
    plan, _ = await h.driver.say(CHANNEL, "Plan: roll back to 1.41", user_id=ALICE)
    await h.driver.pin(plan, user_id=BOB)
    await ephemeral(h, BOB, "Added to the timeline")
    await h.drain()
    pins = [e for e in await entries(h) if e.kind == "pin"]
    assert [(e.actor, e.detail["author"], e.detail["how"], e.text) for e in pins] == [
        (DAVE, CAROL, "pushpin", "Found it: the payment client times out after 1s since 1.42"),
        (BOB, ALICE, "pin", "Plan: roll back to 1.41"),
    ]
    assert pins[0].permalink == f"https://sandbox.slack.com/archives/{channel.id}/p{found.ts.replace('.', '')}"

    # Carol corrects her message; Alice deletes hers.
    h.slack.workspace.edit(found, text="Found it: the payment client times out after 2s since 1.42", blocks=None)
    await h.driver.event({"type": "message", "subtype": "message_changed", "channel": channel.id, "hidden": True,
                          "message": {"type": "message", "user": CAROL, "ts": found.ts,
                                      "text": "Found it: the payment client times out after 2s since 1.42"},
                          "previous_message": {"type": "message", "user": CAROL, "ts": found.ts, "text": found.text},
                          "ts": "1795525500.000200"})
    h.slack.workspace.delete(channel, plan)
    await h.driver.event({"type": "message", "subtype": "message_deleted", "channel": channel.id, "hidden": True,
                          "deleted_ts": plan.ts, "ts": "1795525500.000300"})
    # Ordinary chatter in any channel is acknowledged and ignored.
    await h.driver.say("platform-alerts", "lunch?", user_id=DAVE)
    await incident(h, "timeline", user=ALICE)
    timeline = visible_text(await ephemeral(h, ALICE, "Timeline of incident #1"))
    assert ("`2026-11-24 14:04:00 CET` · <@U0DAVE001> · Marked with 📌: message from <@U0CAROL01>: "
            "Found it: the payment client times out after 2s since 1.42 (<https://sandbox.slack.com/") in timeline
    assert "Plan: roll back" not in timeline
    assert [e.kind for e in await entries(h)].count("pin") == 1


async def test_checklist_ticks_are_recorded_and_shown(harness: Harness) -> None:
    h = harness
    await declare(h, user=BOB, commander=BOB, team="platform")
    [investigate] = [m for m in h.slack.messages(CHANNEL) if "— Investigate" in visible_text(m)]
    h.clock.advance(timedelta(minutes=6))
    step = f"{IncidentAction.CHECKLIST}:investigate-2"
    await h.driver.click(investigate, step, user_id=CAROL, selected_option_value="investigate-2")
    await h.slack.wait_for(lambda: "✅ done — <@U0CAROL01>" in visible_text(
        h.slack.workspace.message(h.slack.channel(CHANNEL), investigate.ts)) or None)
    await h.driver.click(investigate, step, user_id=CAROL, selected_option_value="investigate-2")  # double click
    await h.drain()
    [tick] = [e for e in await entries(h) if e.kind == "checklist"]
    assert (tick.actor, tick.detail["item"], tick.detail["done"]) == (CAROL, "investigate-2", True)
    assert tick.text.startswith("Split the failures")
    redrawn = h.slack.workspace.message(h.slack.channel(CHANNEL), investigate.ts)
    box = next(b["accessory"] for b in redrawn.blocks if b.get("block_id") == "checklist:1:investigate-2")
    assert [o["value"] for o in box["initial_options"]] == ["investigate-2"]
    await incident(h, "timeline", user=BOB)
    assert "`2026-11-24 14:06:00 CET` · <@U0CAROL01> · Done: Investigate step 2 — Split the failures" in \
        visible_text(await ephemeral(h, BOB, "Timeline of incident #1"))
