"""The pinned header's buttons open small modals that do what the subcommands do."""

from __future__ import annotations

from datetime import timedelta

from bot.slack.ids import IncidentAction, IncidentField, IncidentModal
from tests.incidents.flow import CHANNEL, declare, ephemeral, open_modal, posted, stored
from tests.support.factories import ALICE, BOB, CAROL, DAVE
from tests.support.harness import Harness
from tests.support.visible import visible_text


async def press(h: Harness, action: IncidentAction, *, user: str) -> None:
    [header] = h.slack.pins(CHANNEL)
    response = await h.driver.click(header, action, user_id=user)
    assert response.status == 200


async def test_update_severity_role_and_resolve_from_the_header(harness: Harness) -> None:
    h = harness
    await declare(h, user=BOB, commander=BOB, severity="SEV2")

    await press(h, IncidentAction.POST_UPDATE, user=ALICE)
    view = await open_modal(h, ALICE, IncidentModal.STATUS)
    await h.driver.submit_view(view, {IncidentField.STATUS: "identified",
                                      IncidentField.UPDATE: "The payment client's timeout is 1s since 1.42"},
                               user_id=ALICE)
    assert "*Identified* from <@U0ALICE01>" in visible_text(await posted(h, "Status update"))

    await press(h, IncidentAction.CHANGE_SEVERITY, user=CAROL)
    view = await open_modal(h, CAROL, IncidentModal.SEVERITY)
    chosen = next(b for b in view.blocks if b.get("block_id") == IncidentField.SEVERITY)
    assert chosen["element"]["initial_option"]["value"] == "SEV2"
    await h.driver.submit_view(view, {IncidentField.SEVERITY: "SEV1"}, user_id=CAROL)
    await posted(h, "raised the severity: SEV2 → *SEV1*")

    await press(h, IncidentAction.ASSIGN_ROLE, user=BOB)
    view = await open_modal(h, BOB, IncidentModal.ROLE)
    await h.driver.submit_view(view, {IncidentField.ROLE: "scribe", IncidentField.PERSON: DAVE}, user_id=BOB)
    await posted(h, "<@U0DAVE001> is now *scribe*")
    await h.drain()
    assert DAVE in h.slack.members(CHANNEL)  # a new role holder is brought into the channel

    h.clock.advance(timedelta(minutes=25))
    await press(h, IncidentAction.RESOLVE, user=DAVE)  # the scribe may resolve
    view = await open_modal(h, DAVE, IncidentModal.RESOLVE)
    await h.driver.submit_view(view, {IncidentField.SUMMARY: "Timeout raised back to 5s"}, user_id=DAVE)
    await posted(h, "resolved* by <@U0DAVE001>")
    await h.drain()  # the header is redrawn right after that post
    [incident] = await stored(h)
    assert (incident.status, incident.summary, incident.resolved_by) == ("resolved", "Timeout raised back to 5s",
                                                                         DAVE)

    await press(h, IncidentAction.POSTMORTEM_DONE, user=ALICE)  # the header now carries this button
    await posted(h, "marked the post-mortem of incident #1 done")
    await press(h, IncidentAction.POSTMORTEM, user=ALICE)
    await h.slack.wait_for(lambda: len([u for u in h.slack.uploads if u.completed]) == 2 or None)


async def test_a_refused_modal_change_is_explained_to_the_person(harness: Harness) -> None:
    h = harness
    await declare(h, user=BOB, commander=BOB, severity="SEV1")
    await press(h, IncidentAction.RESOLVE, user=ALICE)  # Alice holds no role here
    view = await open_modal(h, ALICE, IncidentModal.RESOLVE)
    h.slack.channel(CHANNEL).members.append(ALICE)
    await h.driver.submit_view(view, {}, user_id=ALICE)
    assert "Only the commander (<@U0BOB0001>)" in (await ephemeral(h, ALICE, "Only the commander")).text
    [incident] = await stored(h)
    assert incident.resolved_at is None
