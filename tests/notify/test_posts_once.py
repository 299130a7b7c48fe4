"""A crash between Slack accepting a post and the bot recording it never shows the message twice.

For each kind of post the outbox sends — a reply in an alert's thread, a channel post, a DM, the
handoff announcement, the weekly summary, the incident channel's posts and its announcement — the
Slack stand-in takes the post and then resets the connection instead of answering
(:meth:`~bot.sandbox.slack.SlackStandIn.drop_response_next`): the message is in Slack, and the bot
does not know its ``ts``. The bot is then restarted on the same database and sends what is due;
the person in Slack sees the message once, and the row records that message's ``ts``.

Only the retry looks (``conversations.history`` / ``conversations.replies``): the first attempt
makes no call but the post itself.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
from sqlalchemy import select

from bot.alerts import actions
from bot.clock import ManualClock
from bot.db import transaction
from bot.incidents.models import Incident
from bot.notify.handoff_posts import run_due_handoffs
from bot.notify.weekly_summary import run_due_summary
from bot.outbox import OutboxMessage
from bot.sandbox.slack import SandboxMessage, SlackStandIn
from bot.sandbox.slack_workspace import JSON
from bot.slack.ids import Callback, Command, IncidentField
from tests.incidents.flow import open_modal
from tests.reports.week import DUE
from tests.support.factories import ALICE, BOB, CAROL, TOKENS, am_alert, am_notification
from tests.support.harness import Harness, start_harness
from tests.support.oncall_helpers import dm_texts, oncall
from tests.support.process import start_bot, write_config
from tests.support.visible import visible_text

LOOKUPS = ("conversations.history", "conversations.replies")
HANDOFF_30_NOV = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)  # platform: Alice → Bob, Mon 09:00 Berlin


def lookups(slack: SlackStandIn) -> list[str]:
    return [c.method for c in slack.calls if c.method in LOOKUPS]


def posts(slack: SlackStandIn) -> int:
    return len(slack.calls_to("chat.postMessage"))


@asynccontextmanager
async def bot(slack: SlackStandIn, clock: ManualClock, db_url: str) -> AsyncIterator[Harness]:
    """A bot process on the database: it sends only when the test drains it, and starts as
    ``watchstander serve`` does (the dispatcher's start-up recovery, then its first pass)."""
    async with start_harness(slack=slack, clock=clock, db_url=db_url, background=False) as h:
        await h.bot.dispatcher.recover()
        yield h


async def row(h: Harness, key: str) -> OutboxMessage:
    """The one outbox row whose key matches ``key`` (SQL LIKE: ``%`` for any text)."""
    async with h.bot.services.sessions() as s:
        return (await s.scalars(select(OutboxMessage).where(OutboxMessage.key.like(key)))).one()


async def answer_lost(h: Harness, key: str) -> None:
    """The state the crash left: the row neither sent nor failed, one attempt counted, no lookup made."""
    item = await row(h, key)
    assert (item.sent_at, item.failed_at, item.attempts) == (None, None, 1)
    assert "connection_error" in (item.last_error or "")
    assert lookups(h.slack) == []  # a first attempt costs no call but the post


def to(channel_prefix: str, *, text: str = "", thread: bool | None = None) -> Callable[[JSON], bool]:
    """A predicate on chat.postMessage arguments, for the one post whose answer gets lost."""

    def matches(args: JSON) -> bool:
        return (str(args.get("channel", "")).startswith(channel_prefix) and text in str(args.get("text", ""))
                and (thread is None or bool(args.get("thread_ts")) == thread))

    return matches


async def warning_alert(h: Harness) -> SandboxMessage:
    """An alert that pages nobody (warning), shown in #platform-alerts."""
    status, _ = await h.alertmanager(am_notification(am_alert(labels={"severity": "warning"})))
    assert status == 202
    await h.drain()
    [message] = h.slack.messages("platform-alerts")
    return message


# --- a reply in an alert's thread ------------------------------------------------------------------


async def test_a_thread_reply_whose_answer_was_lost_is_found_in_the_thread_not_posted_again(
        slack: SlackStandIn, clock: ManualClock, db_url: str) -> None:
    async with bot(slack, clock, db_url) as h:
        alert = await warning_alert(h)
        slack.drop_response_next("chat.postMessage", matching=to("C", thread=True))
        async with transaction(h.bot.services.sessions) as s:
            await actions.acknowledge(s, 1, actor=ALICE, via="slack", now=clock.now(), severities=h.config.severities)
        await h.drain()
        replies = slack.thread("platform-alerts", alert.ts)[1:]
        assert [r.text for r in replies] == ["👀 Acknowledged by <@U0ALICE01> after 0s."]
        await answer_lost(h, "thread:%")

    async with bot(slack, clock, db_url) as restarted:
        before = posts(slack)
        await restarted.drain()
        assert [r.text for r in slack.thread("platform-alerts", alert.ts)[1:]] == ["👀 Acknowledged by <@U0ALICE01> after 0s."]
        assert posts(slack) == before and lookups(slack) == ["conversations.replies"]
        item = await row(restarted, "thread:%")
        assert item.sent_at is not None and item.result == {"ts": replies[0].ts}


# --- a channel post and a DM: the override announcement ---------------------------------------------


async def test_an_override_announcement_and_its_dm_are_posted_once_across_a_crash_each(
        slack: SlackStandIn, clock: ManualClock, db_url: str) -> None:
    async with bot(slack, clock, db_url) as h:
        await warning_alert(h)  # the bot has posted in #platform-alerts before: it knows its id
        slack.drop_response_next("chat.postMessage", matching=to("platform-alerts", text="put <@U0BOB0001> on call"))
        slack.drop_response_next("chat.postMessage", matching=to("D", text="put you on call"))
        await oncall(h, "override <@U0BOB0001|bob> 4h", user=CAROL)
        await h.drain()
        announcement = [m for m in slack.messages("platform-alerts") if "put <@U0BOB0001> on call" in m.text]
        assert len(announcement) == 1
        assert len(dm_texts(h, BOB)) == 1
        await answer_lost(h, "oncall-override:1:%:channel")
        assert (await row(h, "oncall-override:1:%:dm:U0BOB0001")).sent_at is None

    async with bot(slack, clock, db_url) as restarted:
        before = posts(slack)
        await restarted.drain()
        assert [m.ts for m in slack.messages("platform-alerts") if "put <@U0BOB0001> on call" in m.text] == \
            [announcement[0].ts]
        [dm] = slack.dms(BOB)
        assert "<@U0CAROL01> put you on call for platform" in visible_text(dm)
        assert posts(slack) == before  # neither was posted again
        assert sorted(lookups(slack)) == ["conversations.history", "conversations.history"]
        assert (await row(restarted, "oncall-override:1:%:channel")).result == {
            "channel": slack.channel_id("platform-alerts"), "ts": announcement[0].ts}
        assert (await row(restarted, "oncall-override:1:%:dm:U0BOB0001")).result["ts"] == dm.ts


# --- the handoff announcement and DM ---------------------------------------------------------------


async def test_a_handoff_announced_as_the_bot_crashed_is_announced_once(
        slack: SlackStandIn, clock: ManualClock, db_url: str) -> None:
    """#platform-alerts was never posted to before, so the bot does not know its id: the retry posts,
    learns the id from Slack's answer, finds the first post and deletes its own new copy."""
    async with bot(slack, clock, db_url) as h:
        slack.drop_response_next("chat.postMessage", matching=to("platform-alerts", text="Handoff:"))
        slack.drop_response_next("chat.postMessage", matching=to("D", text="You're now on call"))
        clock.set(HANDOFF_30_NOV)
        assert await run_due_handoffs(h.bot.services) == 1
        await h.drain()
        [first] = slack.messages("platform-alerts")
        assert "🔁 Handoff: Bob is now on call for platform" in visible_text(first)
        await answer_lost(h, "oncall-handoff:platform:2026-11-30T08:00:00+00:00:channel")

    async with bot(slack, clock, db_url) as restarted:
        await restarted.drain()
        assert [m.ts for m in slack.messages("platform-alerts")] == [first.ts]
        assert [t for t in dm_texts(restarted, BOB) if "You're now on call" in t] != []
        assert len(slack.dms(BOB)) == 1
        [deleted] = slack.calls_to("chat.delete")  # the retry's copy, gone the moment it was seen
        assert deleted.args["ts"] != first.ts
        assert (await row(restarted, "oncall-handoff:platform:2026-11-30T08:00:00+00:00:channel")).result["ts"] == \
            first.ts
        # The id is known now: another crash in this channel is looked up before posting.
        clock.set(HANDOFF_30_NOV + timedelta(days=7))
        slack.drop_response_next("chat.postMessage", matching=to("platform-alerts", text="Handoff:"))
        assert await run_due_handoffs(restarted.bot.services) == 1
        await restarted.drain()
    async with bot(slack, clock, db_url) as again:
        await again.drain()
        handoffs = [m for m in slack.messages("platform-alerts") if "Handoff:" in m.text]
        assert len(handoffs) == 2 and "Carol is now on call" in visible_text(handoffs[1])
        assert len(slack.calls_to("chat.delete")) == 1


# --- the weekly summary ----------------------------------------------------------------------------


async def test_the_weekly_summary_is_posted_once_across_a_crash(
        slack: SlackStandIn, clock: ManualClock, db_url: str) -> None:
    async with bot(slack, clock, db_url) as h:
        clock.set(DUE - timedelta(days=7) + timedelta(seconds=5))
        assert await run_due_summary(h.bot.services)  # the week before went out as usual
        await h.drain()
        slack.drop_response_next("chat.postMessage", matching=to("ops-weekly", text="Weekly on-call summary"))
        clock.set(DUE + timedelta(seconds=5))
        assert await run_due_summary(h.bot.services)
        await h.drain()
        assert len(slack.messages("ops-weekly")) == 2
        await answer_lost(h, "weekly-summary:2026-11-16%:post")

    async with bot(slack, clock, db_url) as restarted:
        before = posts(slack)
        await restarted.drain()
        summaries = slack.messages("ops-weekly")
        assert len(summaries) == 2
        assert "Mon 16 Nov 09:00 CET → Mon 23 Nov 09:00 CET" in visible_text(summaries[1])
        assert posts(slack) == before and lookups(slack) == ["conversations.history"]
        assert (await row(restarted, "weekly-summary:2026-11-16%:post")).result["ts"] == summaries[1].ts


# --- incidents: the channel's header and the announcement ------------------------------------------


async def declare(h: Harness, title: str) -> None:
    response = await h.driver.slash(Command.INCIDENT, f"declare {title}", user_id=BOB,
                                    channel_id=h.slack.channel_id("platform-alerts"))
    assert response.status == 200, response.text
    view = await open_modal(h, BOB, Callback.DECLARE_MODAL)
    response = await h.driver.submit_view(view, {IncidentField.SEVERITY: "SEV2"}, user_id=BOB)
    assert response.status == 200, response.text
    await h.drain()


async def stored_incident(h: Harness) -> Incident:
    async with h.bot.services.sessions() as s:
        return (await s.scalars(select(Incident))).one()


async def test_an_incident_header_and_announcement_are_posted_once_across_crashes(
        slack: SlackStandIn, clock: ManualClock, db_url: str) -> None:
    async with bot(slack, clock, db_url) as h:
        slack.drop_response_next("chat.postMessage", matching=to("C", text="Search is slow"))  # the header
        await declare(h, "Search is slow")
        incident = await stored_incident(h)
        assert incident.channel_id is not None and incident.header_ts is None
        [header] = slack.messages(incident.channel_id)
        assert slack.pins(incident.channel_id) == []
        await answer_lost(h, "incident-setup:%")

    async with bot(slack, clock, db_url) as restarted:
        # This time the announcement's answer is lost, in #incidents, where the bot never posted.
        slack.drop_response_next("chat.postMessage", matching=to("incidents"))
        await restarted.drain()
        incident = await stored_incident(restarted)
        assert incident.header_ts == header.ts
        assert [m.ts for m in slack.pins(incident.channel_id)] == [header.ts]
        assert sum("Search is slow" in visible_text(m) for m in slack.messages(incident.channel_id)) == 1
        [announcement] = slack.messages("incidents")
        assert incident.announcement_ts is None

    async with bot(slack, clock, db_url) as again:
        await again.drain()
        assert [m.ts for m in slack.messages("incidents")] == [announcement.ts]
        incident = await stored_incident(again)
        assert (incident.announcement_channel_id, incident.announcement_ts) == (slack.channel_id("incidents"),
                                                                              announcement.ts)
        assert (await row(again, "incident-setup:%")).sent_at is not None
        told = [e.text for e in slack.ephemerals(BOB) if "is declared" in e.text]
        assert len(told) == 1


async def test_an_incident_update_and_its_mirror_in_the_announcement_thread_are_posted_once(
        slack: SlackStandIn, clock: ManualClock, db_url: str) -> None:
    async with bot(slack, clock, db_url) as h:
        await declare(h, "Search is slow")
        incident = await stored_incident(h)
        assert incident.channel_id and incident.announcement_ts
        slack.drop_response_next("chat.postMessage", matching=to(incident.channel_id, text="Index rebuilt"))
        response = await h.driver.slash(Command.INCIDENT, "status Index rebuilt, watching latency", user_id=BOB,
                                        channel_id=incident.channel_id)
        assert response.status == 200, response.text
        await h.drain()
        assert len([m for m in slack.messages(incident.channel_id) if "Index rebuilt" in visible_text(m)]) == 1
        await answer_lost(h, "incident-entry:%")

    async with bot(slack, clock, db_url) as restarted:
        await restarted.drain()
        updates = [m for m in slack.messages(incident.channel_id) if "Index rebuilt" in visible_text(m)]
        mirrors = [m for m in slack.thread("incidents", incident.announcement_ts)[1:] if "Index rebuilt" in m.text]
        assert len(updates) == 1 and len(mirrors) == 1
        assert (await row(restarted, "incident-entry:%")).sent_at is not None


# --- a real process, killed while Slack holds the answer ----------------------------------------------


async def test_kill_9_after_slack_took_a_thread_reply_and_before_the_bot_heard_back(
        tmp_path: Path, slack: SlackStandIn) -> None:
    """`watchstander serve`, SIGKILLed at exactly that moment, and started again on its database."""
    db, config = tmp_path / "w.db", write_config(tmp_path)
    held = slack.hold("chat.postMessage", matching=to("C", thread=True), done_first=True)
    bot = await start_bot(db_path=db, config_path=config, slack_api_url=slack.api_url)
    try:
        async with aiohttp.ClientSession() as http, http.post(
                f"{bot.url}/alerts/alertmanager", json=am_notification(am_alert()),
                headers={"Authorization": f"Bearer {TOKENS['AM_TOKEN']}"}) as resp:
            assert resp.status == 202
        await asyncio.wait_for(held.reached.wait(), timeout=60)  # the reply is in the thread, unanswered
        await bot.kill9()
        held.release()
        [alert] = slack.messages("platform-alerts")
        [reply] = slack.thread("platform-alerts", alert.ts)[1:]

        bot = await start_bot(db_path=db, config_path=config, slack_api_url=slack.api_url)
        await slack.wait_for(lambda: slack.calls_to("conversations.replies") or None, timeout=60)
    finally:
        await bot.stop()  # a graceful stop: the pass in progress (the retry) finishes and is recorded
    assert [r.ts for r in slack.thread("platform-alerts", alert.ts)[1:] if r.text == reply.text] == [reply.ts]
    with sqlite3.connect(db) as conn:
        [(result, sent)] = conn.execute("SELECT result, sent_at FROM outbox WHERE kind = 'alert_thread'").fetchall()
    assert sent is not None and json.loads(result) == {"ts": reply.ts}
