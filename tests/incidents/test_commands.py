"""Every `/incident` subcommand's visible effect, and bad input that changes nothing."""

from __future__ import annotations

from datetime import timedelta

from bot.slack.ids import IncidentAction
from tests.incidents.flow import CHANNEL, declare, entry_count, ephemeral, incident, posted, stored, uploaded
from tests.support.factories import ALICE, BOB, CAROL, DAVE
from tests.support.harness import Harness
from tests.support.visible import buttons, visible_text


def header_text(h: Harness) -> str:
    return visible_text(h.slack.pins(CHANNEL)[0])


def announcement_thread(h: Harness) -> list[str]:
    [root] = h.slack.messages("incidents")
    return [m.text for m in h.slack.thread("incidents", root.ts)[1:]]


async def test_severity_status_role_note_and_action_show_in_the_channel(harness: Harness) -> None:
    h = harness
    await declare(h, user=BOB, commander=BOB, team="platform")

    await incident(h, "sev 2", user=ALICE)
    assert "🔻 <@U0ALICE01> lowered the severity: SEV1 → *SEV2*" in (await posted(h, "lowered the severity")).text
    await h.drain()
    assert header_text(h).startswith("🟠 SEV2 · Checkout failing")
    assert "lowered the severity: SEV1 → *SEV2*" in announcement_thread(h)[0]
    assert "🟠 SEV2 incident declared" in visible_text(h.slack.messages("incidents")[0])

    await incident(h, "status monitoring: error rate back under 1% after the rollback", user=BOB)
    update = await posted(h, "Status update")
    assert "📣 *Status update* — *Monitoring* from <@U0BOB0001>\n> error rate back under 1% after the rollback" in \
        visible_text(update)
    await h.drain()
    assert "*Status*\n👀 Monitoring" in header_text(h)
    assert any("error rate back under 1%" in t for t in announcement_thread(h))

    await incident(h, "role comms <@U0CAROL01>", user=BOB)
    assert "🎖️ <@U0CAROL01> is now *comms*, assigned by <@U0BOB0001>." in (await posted(h, "is now *comms*")).text
    await incident(h, "role commander @alice", user=BOB)  # a name as typed, from the config's people
    assert "<@U0ALICE01> is now *commander* (was <@U0BOB0001>)" in (await posted(h, "is now *commander*")).text
    await h.drain()
    assert "*Commander*\n<@U0ALICE01>" in header_text(h) and "*Comms*\n<@U0CAROL01>" in header_text(h)

    await incident(h, "note Rolled back api to 1.41 <script>", user=CAROL)
    assert "📝 <@U0CAROL01> noted: Rolled back api to 1.41 &lt;script&gt;" in (await posted(h, "noted:")).text
    await incident(h, "action Add a canary stage for checkout @dave", user=ALICE)
    follow_up = await posted(h, "Follow-up added")
    assert follow_up.text == "🛠️ Follow-up added by <@U0ALICE01>: Add a canary stage for checkout — owner <@U0DAVE001>"


async def test_timeline_list_help_postmortem_and_resolve(harness: Harness) -> None:
    h = harness
    await declare(h, user=BOB, commander=BOB, team="platform")
    h.clock.advance(timedelta(minutes=3))
    await incident(h, "note Payments provider says all green", user=ALICE)
    await posted(h, "all green")

    await incident(h, "timeline", user=ALICE)
    timeline = visible_text(await ephemeral(h, ALICE, "Timeline of incident #1"))
    assert "`2026-11-24 14:00:00 CET` · <@U0BOB0001> · Declared SEV1: Checkout failing" in timeline
    assert "`2026-11-24 14:03:00 CET` · <@U0ALICE01> · Note: Payments provider says all green" in timeline

    await incident(h, "list", user=DAVE, channel="ops-weekly")
    listing = visible_text(await ephemeral(h, DAVE, "Open incidents"))
    assert f"🔴 *#1 SEV1* Checkout failing — 🔍 Investigating · <#{h.slack.channel_id(CHANNEL)}>" in listing
    assert "commander <@U0BOB0001> · for 3m 00s" in listing

    await incident(h, "help", user=DAVE, channel="ops-weekly")
    assert "`/incident sev 1|2|3`" in visible_text(await ephemeral(h, DAVE, "declare and run incidents"))

    await incident(h, "postmortem", user=BOB)
    await ephemeral(h, BOB, "Rendering the post-mortem draft")
    interim = await uploaded(h)
    await h.drain()
    assert interim.title == "Post-mortem draft: Checkout failing"
    assert "# Post-mortem: Checkout failing" in interim.text and "| Status | investigating |" in interim.text

    h.clock.advance(timedelta(minutes=40))
    await incident(h, "resolve Rolled back the payment client; card payments succeed again", user=BOB)
    resolved = await posted(h, "resolved* by")
    text = visible_text(resolved)
    assert "✅ *Incident #1 resolved* by <@U0BOB0001>, 43m 00s after it was declared." in text
    assert "*Time to detect*\n—" in text  # no alert: when the impact began is unknown
    assert "*Time to acknowledge*\n0s" in text and "*Time to resolve*\n43m 00s" in text
    assert buttons(resolved) == ["Mark post-mortem done", "📝 Re-render post-mortem"]
    draft = await uploaded(h, 2)
    await h.drain()
    assert draft.channel == h.slack.channel_id(CHANNEL) and draft.name == f"postmortem-{CHANNEL}.md"
    assert "| Status | resolved |" in draft.text and "card payments succeed again" in draft.text
    assert header_text(h).startswith("✅ SEV1 · Checkout failing")
    assert buttons(h.slack.pins(CHANNEL)[0]) == ["Mark post-mortem done", "📝 Re-render post-mortem"]
    assert any(t.startswith("✅ Resolved by <@U0BOB0001>.") for t in announcement_thread(h))

    await h.driver.click(resolved, IncidentAction.POSTMORTEM_DONE, user_id=BOB)
    await posted(h, "marked the post-mortem of incident #1 done")
    [done] = await stored(h)
    assert done.postmortem_done_at is not None
    await incident(h, "list", user=DAVE, channel="ops-weekly")
    assert "post-mortem done" in visible_text(await ephemeral(h, DAVE, "Resolved in the last 7 days"))


async def test_bad_input_is_answered_ephemerally_and_changes_nothing(harness: Harness) -> None:
    h = harness
    await declare(h, user=BOB, commander=BOB, team="platform")
    before = (await entry_count(h), len(h.slack.messages(CHANNEL)), len(h.slack.messages("incidents")))

    await incident(h, "escalate now", user=ALICE)
    assert "`/incident escalate` is not a subcommand I know; nothing was changed." in \
        (await ephemeral(h, ALICE, "not a subcommand")).text
    await incident(h, "sev SEV9", user=ALICE)
    refusal = (await ephemeral(h, ALICE, "SEV9")).text
    assert "SEV9 is not an incident severity here; use 1|2|3" in refusal
    assert "SEV1 (Platform down, payments failing, data loss)" in refusal
    await incident(h, "sev 2", user=ALICE, channel="platform-alerts")
    assert "`/incident sev` works in an incident channel, and this is not one." in \
        (await ephemeral(h, ALICE, "works in an incident channel")).text
    await incident(h, "sev 1", user=ALICE)
    assert "already SEV1; nothing changed" in (await ephemeral(h, ALICE, "already SEV1")).text
    await incident(h, "note", user=ALICE)
    assert "Say what to note" in (await ephemeral(h, ALICE, "Say what to note")).text
    await incident(h, "role boss @carol", user=ALICE)
    assert "Say which role and who: `/incident role commander|comms|scribe @person`" in \
        (await ephemeral(h, ALICE, "Say which role")).text
    await incident(h, "resolve", user=DAVE)  # not involved, not an admin
    assert "Only the commander (<@U0BOB0001>), the reporter, role holders or an admin can resolve" in \
        (await ephemeral(h, DAVE, "Only the commander")).text

    await h.drain()
    after = (await entry_count(h), len(h.slack.messages(CHANNEL)), len(h.slack.messages("incidents")))
    assert after == before
    [unchanged] = await stored(h)
    assert (unchanged.severity, unchanged.status, unchanged.resolved_at) == ("SEV1", "investigating", None)
    assert all("Traceback" not in e.text for e in h.slack.ephemerals())
