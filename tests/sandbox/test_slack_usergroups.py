"""The Slack stand-in's user groups answer as Slack does: shapes, errors and the scopes they need."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox.slack import SandboxUser, SlackStandIn
from bot.sandbox.slack_scopes import AppGrants

ALICE = SandboxUser(id="U0ALICE01", name="alice", real_name="Alice Liddell")
BOB = SandboxUser(id="U0BOB0001", name="bob", real_name="Bob Builder")


@pytest.fixture
async def slack() -> AsyncIterator[SlackStandIn]:
    async with SlackStandIn(users=[ALICE, BOB], grants=AppGrants.everything()) as stand_in:
        yield stand_in


@pytest.fixture
def client(slack: SlackStandIn) -> AsyncWebClient:
    return AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)


async def error_of(call: Any) -> str:
    with pytest.raises(SlackApiError) as caught:
        await call
    return str(caught.value.response["error"])


async def test_create_update_list(slack: SlackStandIn, client: AsyncWebClient) -> None:
    made = (await client.usergroups_create(name="Platform on call", handle="platform-oncall"))["usergroup"]
    assert made["id"].startswith("S") and made["handle"] == "platform-oncall" and made["users"] == []
    assert made["is_usergroup"] is True and made["date_delete"] == 0 and made["created_by"] == slack.bot_user_id
    updated = (await client.usergroups_users_update(usergroup=made["id"], users=[ALICE.id, BOB.id]))["usergroup"]
    assert updated["users"] == [ALICE.id, BOB.id]
    [listed] = (await client.usergroups_list())["usergroups"]
    assert "users" not in listed and listed["id"] == made["id"]
    [listed] = (await client.usergroups_list(include_users=True, include_count=True))["usergroups"]
    assert (listed["users"], listed["user_count"]) == ([ALICE.id, BOB.id], 2)
    assert (await client.usergroups_users_list(usergroup=made["id"]))["users"] == [ALICE.id, BOB.id]
    assert slack.workspace.usergroups.members("platform-oncall") == [ALICE.id, BOB.id]
    assert len(slack.calls_to("usergroups.users.update")) == 1


async def test_slacks_refusals(slack: SlackStandIn, client: AsyncWebClient) -> None:
    made = (await client.usergroups_create(name="Platform", handle="platform-oncall"))["usergroup"]
    assert await error_of(client.usergroups_create(name="Platform", handle="other")) == "name_already_exists"
    assert await error_of(client.usergroups_create(name="Other", handle="platform-oncall")) == "handle_already_exists"
    assert await error_of(client.usergroups_create(name="Other", handle="alice")) == "handle_already_exists"
    assert await error_of(client.usergroups_create(name="Other", handle="Bad Handle")) == "bad_handle"
    assert await error_of(client.api_call("usergroups.create", json={})) == "missing_subteam_name"
    update = client.usergroups_users_update
    assert await error_of(update(usergroup=made["id"], users="")) == "no_users_provided"
    assert await error_of(update(usergroup=made["id"], users=["U0NOBODY1"])) == "invalid_users"
    assert await error_of(update(usergroup=made["id"], users=[slack.bot_user_id])) == "invalid_users"
    assert await error_of(update(usergroup="S0NOPE", users=[ALICE.id])) == "no_such_subteam"
    assert await error_of(client.usergroups_users_list(usergroup="S0NOPE")) == "no_such_subteam"
    slack.workspace.usergroups.apps_may_manage = False
    assert await error_of(update(usergroup=made["id"], users=[ALICE.id])) == "permission_denied"


async def test_disabled_groups_are_listed_only_when_asked(slack: SlackStandIn, client: AsyncWebClient) -> None:
    old = slack.workspace.usergroups.add("old-oncall", users=[ALICE.id], disabled=True)
    assert (await client.usergroups_list())["usergroups"] == []
    [listed] = (await client.usergroups_list(include_disabled=True))["usergroups"]
    assert listed["id"] == old.id and listed["date_delete"] != 0
    assert await error_of(client.usergroups_users_list(usergroup=old.id)) == "no_such_subteam"
    assert (await client.usergroups_users_list(usergroup=old.id, include_disabled=True))["users"] == [ALICE.id]


async def test_reading_needs_usergroups_read_and_writing_usergroups_write() -> None:
    async with SlackStandIn(users=[ALICE], grants=AppGrants.from_manifest({"oauth_config": {"scopes": {
            "bot": ["usergroups:read"]}}})) as narrow:
        c = AsyncWebClient(token=narrow.bot_token, base_url=narrow.api_url)
        assert (await c.usergroups_list())["usergroups"] == []
        with pytest.raises(SlackApiError) as caught:
            await c.usergroups_create(name="x", handle="x")
        assert (caught.value.response["error"], caught.value.response["needed"]) == ("missing_scope",
                                                                                      "usergroups:write")
