"""The on-call handle: ``teams[].slack_handle`` is a Slack user group that holds whoever is on call,
changed at handoffs and overrides, counted at the Slack stand-in's ``usergroups.users.update``; and
``slack:@handle`` as an escalation target.

Platform hands off Mondays 09:00 Berlin: Alice is primary now (Tue 24 Nov), Bob from 30 Nov.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.config import Config, ConfigError, parse_config
from bot.escalation.policy import describe_target
from bot.notify.handoff_posts import run_due_handoffs
from bot.outbox import OutboxKind, OutboxMessage
from bot.sandbox.slack import SlackStandIn
from tests.escalation.paging import fire, thread_texts
from tests.support.factories import ALICE, BOB, CAROL, DAVE, TOKENS, config_text
from tests.support.harness import Harness, start_harness
from tests.support.oncall_helpers import oncall
from tests.support.visible import visible_text

HANDOFF_30_NOV = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
HANDLE = "platform-oncall"


def handle_config(team_lines: str = "    slack_handle: platform-oncall\n",
                  first_step: str = "slack:primary") -> Config:
    text = config_text().replace("    repeat: 1\n", "    repeat: 1\n" + team_lines, 1)
    text = text.replace("{after: 0m,  notify: [slack:primary]}", f"{{after: 0m,  notify: [{first_step}]}}", 1)
    return parse_config(text, env=TOKENS)


def updates(slack: SlackStandIn) -> int:
    return len([c for c in slack.calls_to("usergroups.users.update") if c.ok])


def members(slack: SlackStandIn, handle: str = HANDLE) -> list[str] | None:
    return slack.workspace.usergroups.members(handle)


@pytest.fixture
async def handled(slack: SlackStandIn, clock: ManualClock, db_url: str) -> AsyncIterator[Harness]:
    async with start_harness(slack=slack, clock=clock, db_url=db_url, config=handle_config()) as h:
        await h.drain()
        yield h


async def test_the_group_is_created_at_start_and_follows_the_handoff(handled: Harness) -> None:
    slack = handled.slack
    group = slack.workspace.usergroups.by_handle(HANDLE)
    assert group is not None and (group.name, group.created_by) == ("platform on-call", slack.bot_user_id)
    assert members(slack) == [ALICE] and updates(slack) == 1
    handled.clock.set(HANDOFF_30_NOV)
    assert await run_due_handoffs(handled.bot.services) == 1
    await handled.drain()
    assert members(slack) == [BOB] and updates(slack) == 2
    # The job's next runs find the handoff announced; and nothing changed, so Slack is not called.
    handled.clock.set(HANDOFF_30_NOV + timedelta(minutes=5))
    assert await run_due_handoffs(handled.bot.services) == 0
    await handled.drain()
    assert updates(slack) == 2


async def test_a_restart_syncs_a_drifted_group_and_leaves_a_right_one_alone(
        handled: Harness, slack: SlackStandIn, clock: ManualClock, db_url: str) -> None:
    assert updates(slack) == 1
    async with start_harness(slack=slack, clock=clock, db_url=db_url, config=handle_config()) as again:
        await again.drain()
        assert updates(slack) == 1  # already right: listed, not updated
    group = slack.workspace.usergroups.by_handle(HANDLE)
    assert group is not None
    group.users = [CAROL, DAVE]  # someone edited it in Slack while the bot was down
    async with start_harness(slack=slack, clock=clock, db_url=db_url, config=handle_config()) as again:
        await again.drain()
        assert members(slack) == [ALICE] and updates(slack) == 2


async def test_an_override_moves_the_group_and_its_end_moves_it_back(handled: Harness) -> None:
    slack = handled.slack
    answer = await oncall(handled, "take 2h", user=DAVE)
    assert answer.startswith("✅ <@U0DAVE001> is on call for platform")
    await handled.drain()
    assert members(slack) == [DAVE] and updates(slack) == 2
    handled.clock.advance(timedelta(hours=2, minutes=1))
    assert await run_due_handoffs(handled.bot.services) == 1  # the override's end hands back to Alice
    await handled.drain()
    assert members(slack) == [ALICE] and updates(slack) == 3


async def test_a_cancelled_override_gives_the_group_back(handled: Harness) -> None:
    await oncall(handled, "override @bob 4h", user=ALICE)
    await handled.drain()
    assert members(handled.slack) == [BOB]
    await oncall(handled, "cancel 1", user=ALICE)
    await handled.drain()
    assert members(handled.slack) == [ALICE] and updates(handled.slack) == 3


async def test_with_slack_handle_backup_the_group_holds_primary_and_backup(
        slack: SlackStandIn, clock: ManualClock, db_url: str) -> None:
    config = handle_config("    slack_handle: platform-oncall\n    slack_handle_backup: true\n")
    async with start_harness(slack=slack, clock=clock, db_url=db_url, config=config) as h:
        await h.drain()
        assert members(slack) == [ALICE, BOB]
        clock.set(HANDOFF_30_NOV)
        await run_due_handoffs(h.bot.services)
        await h.drain()
        assert members(slack) == [BOB, CAROL] and updates(slack) == 2


async def test_an_existing_group_is_used_not_created_again(slack: SlackStandIn, clock: ManualClock,
                                                           db_url: str) -> None:
    made = slack.workspace.usergroups.add(HANDLE, name="Platform on call", users=[ALICE])
    async with start_harness(slack=slack, clock=clock, db_url=db_url, config=handle_config()) as h:
        await h.drain()
    assert list(slack.workspace.usergroups.groups) == [made.id]
    assert slack.calls_to("usergroups.create") == [] and updates(slack) == 0


async def test_slack_refusing_the_bot_is_recorded_on_the_row(slack: SlackStandIn, clock: ManualClock,
                                                             db_url: str) -> None:
    slack.workspace.usergroups.apps_may_manage = False
    async with start_harness(slack=slack, clock=clock, db_url=db_url, config=handle_config()) as h:
        await h.drain()
        async with h.bot.services.sessions() as s:
            row = (await s.scalars(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.HANDLE_SYNC))).one()
    assert row.sent_at is None and "permission_denied" in (row.last_error or "")


# --- slack:@handle as an escalation target ---------------------------------------------------------


async def test_a_group_step_dms_the_teams_on_call_and_mentions_the_group_in_the_thread(
        slack: SlackStandIn, clock: ManualClock, db_url: str) -> None:
    config = handle_config(first_step="slack:@platform-oncall")
    async with start_harness(slack=slack, clock=clock, db_url=db_url, config=config) as h:
        await h.drain()
        msg = await fire(h)
        await h.drain()
        group = slack.workspace.usergroups.by_handle(HANDLE)
        assert group is not None
        [dm] = slack.dms(ALICE)
        assert visible_text(dm).startswith("📟 *You are being paged* for *platform* (step 1).")
        assert slack.dms(BOB) == [] and slack.calls_to("usergroups.users.list") == []
        replies = thread_texts(h, msg)
        assert "📟 Paging <@U0ALICE01> (step 1)" in replies
        assert "📣 Paging the user group @platform-oncall (step 1)" in replies
        [mention] = [t for t in replies if "subteam" in t]
        assert mention == (f"📣 <!subteam^{group.id}> you are paged for 🔴 *HighErrorRate* (step 1). "
                           "Can someone take it?")


async def test_any_other_group_is_read_from_slack_and_each_member_paged(
        slack: SlackStandIn, clock: ManualClock, db_url: str) -> None:
    experts = slack.workspace.usergroups.add("db-experts", users=[CAROL, DAVE])
    config = handle_config(team_lines="", first_step="slack:@db-experts")
    async with start_harness(slack=slack, clock=clock, db_url=db_url, config=config) as h:
        msg = await fire(h)
        await h.drain()
        assert [len(slack.dms(p)) for p in (ALICE, CAROL, DAVE)] == [0, 1, 1]
        assert visible_text(slack.dms(CAROL)[0]).startswith("📟 *You are being paged* for *platform* (step 1).")
        replies = thread_texts(h, msg)
        assert f"📣 <!subteam^{experts.id}> you are paged for 🔴 *HighErrorRate* (step 1). Can someone take it?" \
            in replies
        assert "📟 Paging <@U0CAROL01> (step 1)" in replies and "📟 Paging <@U0DAVE001> (step 1)" in replies
        assert len(slack.calls_to("usergroups.users.list")) == 1


async def test_a_group_that_does_not_exist_is_said_in_the_thread(slack: SlackStandIn, clock: ManualClock,
                                                                 db_url: str) -> None:
    config = handle_config(team_lines="", first_step="slack:@nobody-here")
    async with start_harness(slack=slack, clock=clock, db_url=db_url, config=config) as h:
        msg = await fire(h)
        await h.drain()
        assert ("⚠️ Paging the user group @nobody-here failed (usergroup_not_found). The escalation goes on."
                in thread_texts(h, msg))


# --- config -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("lines", "step", "problem"), [
    ("    slack_handle: Platform On Call\n", "slack:primary", "is not a Slack user group handle"),
    ("", "slack:@Bad_Handle", "'Bad_Handle' is not a Slack user group handle"),
    ("", "sms:@platform-oncall", "unknown target 'sms:@platform-oncall'"),
    ("    slack_handle_backup: true\n", "slack:primary", "slack_handle_backup: true but the team has no slack_handle"),
])
def test_config_says_what_is_wrong_with_a_handle(lines: str, step: str, problem: str) -> None:
    with pytest.raises(ConfigError) as err:
        handle_config(lines, first_step=step)
    assert problem in str(err.value)


def test_a_leading_at_is_fine_and_two_teams_cannot_share_a_handle() -> None:
    assert handle_config("    slack_handle: \"@platform-oncall\"\n").team("platform").slack_handle == HANDLE  # type: ignore[union-attr]
    text = config_text().replace("    repeat: 1\n", "    repeat: 1\n    slack_handle: oncall\n", 1)
    text = text.replace("    channel: payments-alerts\n", "    channel: payments-alerts\n    slack_handle: oncall\n")
    with pytest.raises(ConfigError) as err:
        parse_config(text, env=TOKENS)
    assert "the slack_handle 'oncall' is used by two teams" in str(err.value)


def test_the_escalate_dialog_words_a_group_step() -> None:
    assert describe_target("slack:@platform-oncall") == "Slack DM to each of @platform-oncall and a mention in the thread"
