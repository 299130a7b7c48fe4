"""Publishing an incident update on the status page: `/incident status --public …` or the update
form's box; everything else about the incident stays internal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.incidents.policy import parse_public
from bot.incidents.public import plain_text
from bot.sandbox.slack import SlackStandIn
from bot.slack.ids import IncidentAction, IncidentField, IncidentModal
from tests.incidents.flow import CHANNEL, declare, ephemeral, incident, open_modal, posted
from tests.support.factories import ALICE, BOB, make_config
from tests.support.harness import Harness, start_harness
from tests.support.visible import visible_text
from tests.web.status_seed import PUBLIC_PAGE


@pytest.fixture
async def harness(slack: SlackStandIn, clock: ManualClock, db_url: str) -> AsyncIterator[Harness]:
    async with start_harness(slack=slack, clock=clock, db_url=db_url, config=make_config(PUBLIC_PAGE)) as h:
        yield h


async def status_json(h: Harness) -> Any:
    async with h.http.get(h.url + "/status.json") as resp:
        assert resp.status == 200
        return await resp.json()


def test_the_public_flag_is_read_before_or_after_the_status_word() -> None:
    assert parse_public("--public Fix deployed") == (True, "Fix deployed")
    assert parse_public("monitoring --public Fix deployed") == (True, "monitoring Fix deployed")
    assert parse_public("—public Fix deployed") == (True, "Fix deployed")  # Slack's editor made a dash of --
    assert parse_public("Run it with --public later") == (False, "Run it with --public later")
    assert parse_public("--public") == (True, "")


async def test_published_updates_reach_the_status_page_and_say_so_in_slack(harness: Harness) -> None:
    h = harness
    await declare(h, "Checkout failing", user=BOB, commander=BOB)
    assert (await status_json(h))["incidents"]["open"] == []  # nothing published yet: not on the page

    await incident(h, "status investigating INTERNAL: payments-db at 100% CPU", user=BOB)
    await posted(h, "INTERNAL: payments-db")
    await incident(h, "note INTERNAL NOTE: Bob restarted the pod", user=BOB)
    await incident(h, "status monitoring --public Fix deployed, payments are recovering", user=BOB)
    post = visible_text(await posted(h, "Fix deployed"))
    assert "*Monitoring* from <@U0BOB0001> · 🌐 published on the status page" in post

    [header] = h.slack.pins(CHANNEL)
    await h.driver.click(header, IncidentAction.POST_UPDATE, user_id=ALICE)
    view = await open_modal(h, ALICE, IncidentModal.STATUS)
    assert "Publish to status page" in str(view.blocks)
    await h.driver.submit_view(view, {IncidentField.STATUS: "monitoring",
                                      IncidentField.UPDATE: "Payments are back to normal",
                                      IncidentField.PUBLIC: ["publish"]}, user_id=ALICE)
    await posted(h, "Payments are back to normal")
    await h.driver.click(header, IncidentAction.POST_UPDATE, user_id=ALICE)
    view = await open_modal(h, ALICE, IncidentModal.STATUS)
    await h.driver.submit_view(view, {IncidentField.STATUS: "monitoring",
                                      IncidentField.UPDATE: "INTERNAL FORM: left unticked"}, user_id=ALICE)
    await posted(h, "INTERNAL FORM")

    body = await status_json(h)
    [shown] = body["incidents"]["open"]
    assert shown["title"] == "Checkout failing"
    assert [(u["status"], u["text"]) for u in shown["updates"]] == [
        ("monitoring", "Payments are back to normal"), ("monitoring", "Fix deployed, payments are recovering")]
    async with h.http.get(h.url + "/status") as resp:
        html = await resp.text()
    assert "Fix deployed, payments are recovering" in html
    for secret in ("INTERNAL", "payments-db", "restarted"):
        assert secret not in html and secret not in str(body)

    await incident(h, "timeline", user=BOB)
    timeline = await ephemeral(h, BOB, "Timeline of incident")
    assert "Status update (published on the status page): Monitoring — Fix deployed" in str(timeline.blocks)
    await incident(h, "help", user=BOB)
    assert "--public" in str((await ephemeral(h, BOB, "/incident help")).blocks)


def test_slack_markup_in_a_public_update_reads_as_plain_words() -> None:
    assert plain_text("Ask <@U0ALICE01> or <@U0BOB0001|bob> in <#C123|ops>; <!here> see <https://x.example/a|the notice> "
                      "&amp; <https://y.example> &lt;b&gt; <script>") == (
        "Ask @a teammate or @bob in #ops; @here see the notice (https://x.example/a) & https://y.example <b> "
        "<script>")
    assert plain_text("<!date^1700000000^{date}|Nov 14> <!subteam^S1|@oncall>") == "Nov 14 @oncall"
