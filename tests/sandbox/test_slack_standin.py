"""The Slack stand-in, driven by the real slack_sdk client, and the driver, checked by real verifiers."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs

import aiohttp
import pytest
from aiohttp import web
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.sandbox.slack import RecordedCall, SandboxUser, SlackStandIn
from bot.sandbox.slack_scopes import AppGrants
from bot.sandbox.slack_user import SlackDriver

ALICE = SandboxUser(id="U0ALICE01", name="alice", real_name="Alice Liddell", tz="Europe/Berlin")
BOB = SandboxUser(id="U0BOB0001", name="bob", real_name="Bob Builder", tz="America/New_York")
SECRET = "sandbox-signing-secret"
TS = re.compile(r"^\d{10}\.\d{6}$")
# The stand-in's own tests use methods and events the bot does not; the app they play may do anything.
EVERYTHING = AppGrants.everything(commands=["/oncall", "/incident"], shortcuts=["declare_incident"])


@pytest.fixture
async def slack() -> AsyncIterator[SlackStandIn]:
    async with SlackStandIn(users=[ALICE, BOB], grants=EVERYTHING) as stand_in:
        yield stand_in


@pytest.fixture
def client(slack: SlackStandIn) -> AsyncWebClient:
    return AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)


async def refusal(call: Any) -> dict[str, Any]:
    """The body of a Slack ok:false answer."""
    with pytest.raises(SlackApiError) as caught:
        await call
    return dict(caught.value.response.data)


# --- auth and plumbing --------------------------------------------------------------------------


async def test_auth_test_and_bad_tokens(slack: SlackStandIn, client: AsyncWebClient) -> None:
    me = await client.auth_test()
    assert (me["user_id"], me["team_id"], me["bot_id"]) == ("U0WATCHBOT", "T0SANDBOX", "B0WATCHBOT")

    wrong = AsyncWebClient(token="xoxb-wrong", base_url=slack.api_url)
    assert (await refusal(wrong.auth_test()))["error"] == "invalid_auth"
    anonymous = AsyncWebClient(base_url=slack.api_url)
    assert (await refusal(anonymous.auth_test()))["error"] == "not_authed"
    assert (await refusal(client.api_call("chat.fly")))["error"] == "unknown_method"


async def test_post_by_name_or_id_returns_increasing_ts(slack: SlackStandIn, client: AsyncWebClient) -> None:
    alerts = slack.channel_id("alerts")
    first = await client.chat_postMessage(channel="alerts", text="one")
    second = await client.chat_postMessage(channel="#alerts", text="two")
    third = await client.chat_postMessage(channel=alerts, text="three")

    assert first["channel"] == second["channel"] == third["channel"] == alerts
    assert all(TS.match(r["ts"]) for r in (first, second, third))
    assert float(first["ts"]) < float(second["ts"]) < float(third["ts"])
    assert [m.text for m in slack.messages("alerts")] == ["one", "two", "three"]
    assert (await refusal(client.chat_postMessage(channel="nowhere", text="x")))["error"] == "channel_not_found"


async def test_threads_broadcasts_and_metadata(slack: SlackStandIn, client: AsyncWebClient) -> None:
    parent = await client.chat_postMessage(
        channel="alerts", text="HighErrorRate", metadata={"event_type": "alert", "event_payload": {"id": 7}}
    )
    await client.chat_postMessage(channel="alerts", text="paged Alice", thread_ts=parent["ts"])
    await client.chat_postMessage(channel="alerts", text="resolved", thread_ts=parent["ts"], reply_broadcast=True)

    assert [m.text for m in slack.messages("alerts")] == ["HighErrorRate", "resolved"]
    assert [m.text for m in slack.thread("alerts", parent["ts"])] == ["HighErrorRate", "paged Alice", "resolved"]

    channel = parent["channel"]  # reading takes the conversation's id; a name is channel_not_found
    assert (await refusal(client.conversations_history(channel="alerts")))["error"] == "channel_not_found"
    assert (await refusal(client.conversations_replies(channel="alerts", ts=parent["ts"])))["error"] == \
        "channel_not_found"
    history = await client.conversations_history(channel=channel, include_all_metadata=True)
    oldest = history["messages"][-1]
    assert oldest["metadata"] == {"event_type": "alert", "event_payload": {"id": 7}}
    assert oldest["reply_count"] == 2
    assert "metadata" not in (await client.conversations_history(channel=channel))["messages"][-1]
    replies = await client.conversations_replies(channel=channel, ts=parent["ts"])
    assert [m["text"] for m in replies["messages"]] == ["HighErrorRate", "paged Alice", "resolved"]
    bad = await refusal(client.chat_postMessage(channel="alerts", text="x", thread_ts="1.000001"))
    assert bad["error"] == "invalid_thread_ts"
    window = await client.conversations_history(channel=channel, oldest=parent["ts"], inclusive=True)
    assert [m["text"] for m in window["messages"]] == ["resolved", "HighErrorRate"]
    for name, bent in [("oldest", "not-a-ts"), ("latest", "nan"), ("oldest", "1" * 400)]:
        refused = await refusal(client.conversations_history(channel=channel, **{name: bent}))
        assert refused["error"] == f"invalid_ts_{name}"  # Slack's error, not the stand-in's 500


async def test_a_dropped_answer_leaves_the_post_done_and_the_client_without_its_ts(
        slack: SlackStandIn) -> None:
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url, retry_handlers=[])  # no resending
    slack.drop_response_next("chat.postMessage", matching=lambda args: args.get("text") == "second")
    await client.chat_postMessage(channel="alerts", text="first")
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await client.chat_postMessage(channel="alerts", text="second")
    await client.chat_postMessage(channel="alerts", text="third")  # one drop, then answers again
    assert [m.text for m in slack.messages("alerts")] == ["first", "second", "third"]
    assert [c.ok for c in slack.calls_to("chat.postMessage")] == [True, True, True]


async def test_update_keeps_edit_history_and_delete_removes(slack: SlackStandIn, client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel="alerts", text="firing")
    await client.chat_update(channel=posted["channel"], ts=posted["ts"], text="acknowledged")
    await client.chat_update(channel=posted["channel"], ts=posted["ts"], text="resolved")

    (message,) = slack.messages("alerts")
    assert message.text == "resolved"
    assert [e.text for e in message.edits] == ["firing", "acknowledged"]

    human = slack.post_as_user("alerts", ALICE.id, "looking")
    not_ours = await refusal(client.chat_update(channel="alerts", ts=human.ts, text="x"))
    assert not_ours["error"] == "cant_update_message"
    await client.chat_delete(channel=posted["channel"], ts=posted["ts"])
    assert [m.text for m in slack.messages("alerts")] == ["looking"]
    assert (await refusal(client.chat_delete(channel="alerts", ts=posted["ts"])))["error"] == "message_not_found"


# --- Block Kit limits ---------------------------------------------------------------------------


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def button(action_id: str, text: str = "Ack", value: str = "1") -> dict[str, Any]:
    return {"type": "button", "action_id": action_id, "text": {"type": "plain_text", "text": text}, "value": value}


@pytest.mark.parametrize(
    ("blocks", "pointer"),
    [
        ([{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}], "/blocks/0/text/text"),
        ([section("x")] * 51, "/blocks"),
        ([section("d" * 3001)], "/blocks/0/text/text"),
        ([{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}], "/blocks/0/fields"),
        ([{"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2001}]}], "/blocks/0/fields/0/text"),
        ([{"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11}], "/blocks/0/elements"),
        ([{"type": "actions", "elements": [button(f"b{i}") for i in range(26)]}], "/blocks/0/elements"),
        ([{"type": "actions", "elements": [button("ack", text="A" * 76)]}], "/blocks/0/elements/0/text/text"),
        ([{"type": "actions", "elements": [button("ack", value="v" * 2001)]}], "/blocks/0/elements/0/value"),
        ([{"type": "actions", "elements": [button("a" * 256)]}], "/blocks/0/elements/0/action_id"),
        ([{"type": "actions", "elements": [button("ack"), button("ack")]}], "/blocks/0/elements/1/action_id"),
        ([{"type": "actions", "block_id": "b" * 256, "elements": [button("ack")]}], "/blocks/0/block_id"),
        (
            [{"type": "actions", "elements": [{"type": "overflow", "action_id": "more", "options": [
                {"text": {"type": "plain_text", "text": "Snooze"}, "value": "snooze"}]}]}],
            "/blocks/0/elements/0/options",
        ),
    ],
)
async def test_block_kit_limits_answer_invalid_blocks(
    client: AsyncWebClient, blocks: list[dict[str, Any]], pointer: str
) -> None:
    body = await refusal(client.chat_postMessage(channel="alerts", text="fallback", blocks=blocks))
    assert body["error"] == "invalid_blocks"
    assert any(e.endswith(f"[json-pointer:{pointer}]") for e in body["errors"]), body["errors"]
    assert all(m.startswith("[ERROR] ") for m in body["response_metadata"]["messages"])


async def test_text_limits(slack: SlackStandIn, client: AsyncWebClient) -> None:
    assert (await refusal(client.chat_postMessage(channel="alerts", text="x" * 40_001)))["error"] == "msg_too_long"
    # api_call, because chat_postMessage() warns before sending a message without text
    no_text = await refusal(client.api_call("chat.postMessage", json={"channel": "alerts"}))
    assert no_text["error"] == "no_text"
    ok = await client.chat_postMessage(channel="alerts", text="fine", blocks=[section("d" * 3000)] * 50)
    assert ok["ok"] and slack.messages("alerts")[0].blocks[0]["block_id"]


# --- conversations ------------------------------------------------------------------------------


async def test_create_invite_topic_archive(slack: SlackStandIn, client: AsyncWebClient) -> None:
    created = await client.conversations_create(name="inc-2026-11-24-api-error-rate")
    channel = created["channel"]["id"]
    assert (await refusal(client.conversations_create(name="inc-2026-11-24-api-error-rate")))["error"] == "name_taken"
    for name, error in [("Inc Upper", "invalid_name_specials"), ("x" * 81, "invalid_name_maxlength"),
                        ("", "invalid_name_required")]:
        assert (await refusal(client.conversations_create(name=name)))["error"] == error

    await client.conversations_invite(channel=channel, users=[ALICE.id, BOB.id])
    assert slack.members(channel) == ["U0WATCHBOT", ALICE.id, BOB.id]
    again = await refusal(client.conversations_invite(channel=channel, users=[ALICE.id]))
    assert again["error"] == "already_in_channel"
    assert (await refusal(client.conversations_invite(channel=channel, users=["U0NOBODY"])))["error"] == (
        "user_not_found"
    )

    await client.conversations_setTopic(channel=channel, topic="SEV1 · IC @alice")
    info = await client.conversations_info(channel=channel)
    assert info["channel"]["topic"]["value"] == "SEV1 · IC @alice"
    await client.conversations_archive(channel=channel)
    assert (await refusal(client.chat_postMessage(channel=channel, text="late")))["error"] == "is_archived"


async def test_list_paginates_with_cursor(client: AsyncWebClient) -> None:
    names: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = await client.conversations_list(limit=2, cursor=cursor)
        names += [c["name"] for c in page["channels"]]
        pages += 1
        cursor = page["response_metadata"]["next_cursor"]
        if not cursor:
            break
    assert names == ["alerts", "incidents", "ops-weekly"] and pages == 2


async def test_join_and_dm_channel_is_stable(slack: SlackStandIn, client: AsyncWebClient) -> None:
    outside = slack.add_channel("platform-alerts")
    outside.members.remove(slack.bot_user_id)
    await client.conversations_join(channel=outside.id)
    assert slack.bot_user_id in slack.members("platform-alerts")

    first = await client.conversations_open(users=[ALICE.id])
    second = await client.conversations_open(users=[ALICE.id])
    dm = first["channel"]["id"]
    assert dm.startswith("D") and second["channel"]["id"] == dm and second["already_open"]
    await client.chat_postMessage(channel=dm, text="You are paged: HighErrorRate")
    await client.chat_postMessage(channel=BOB.id, text="by user id")  # Slack routes a user ID to the DM
    assert [m.text for m in slack.dms(ALICE.id)] == ["You are paged: HighErrorRate"]
    assert [m.text for m in slack.dms(BOB.id)] == ["by user id"]


async def test_ephemeral_pins_bookmarks_reactions_permalink(slack: SlackStandIn, client: AsyncWebClient) -> None:
    await client.chat_postEphemeral(channel="alerts", user=ALICE.id, text="only you")
    assert [e.text for e in slack.ephemerals(ALICE.id)] == ["only you"] and not slack.ephemerals(BOB.id)

    posted = await client.chat_postMessage(channel="alerts", text="header")
    await client.pins_add(channel=posted["channel"], timestamp=posted["ts"])
    again = await refusal(client.pins_add(channel=posted["channel"], timestamp=posted["ts"]))
    assert again["error"] == "already_pinned"
    assert [m.ts for m in slack.pins("alerts")] == [posted["ts"]]

    await client.bookmarks_add(channel_id=posted["channel"], title="Runbook", type="link", link="https://r.example")
    assert slack.bookmarks("alerts")[0]["title"] == "Runbook"

    await client.reactions_add(channel=posted["channel"], timestamp=posted["ts"], name="eyes")
    assert (await refusal(client.reactions_add(channel=posted["channel"], timestamp=posted["ts"], name="eyes")))[
        "error"
    ] == "already_reacted"
    link = await client.chat_getPermalink(channel=posted["channel"], message_ts=posted["ts"])
    assert link["permalink"].endswith("/p" + posted["ts"].replace(".", ""))


async def test_users_info_has_time_zone(client: AsyncWebClient) -> None:
    alice = (await client.users_info(user=ALICE.id))["user"]
    assert alice["tz"] == "Europe/Berlin" and alice["tz_offset"] in (3600, 7200)
    assert alice["tz_label"] in ("CET", "CEST") and alice["profile"]["real_name"] == "Alice Liddell"
    assert (await refusal(client.users_info(user="U0NOBODY")))["error"] == "user_not_found"
    members = (await client.users_list())["members"]
    assert [m["id"] for m in members] == ["U0WATCHBOT", ALICE.id, BOB.id] and members[0]["is_bot"]


# --- views --------------------------------------------------------------------------------------


def modal(title: str = "Declare incident", blocks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "type": "modal", "callback_id": "declare", "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": "Declare"}, "private_metadata": "alert=7",
        "blocks": blocks or [{"type": "input", "block_id": "title", "label": {"type": "plain_text", "text": "Title"},
                              "element": {"type": "plain_text_input", "action_id": "title"}}],
    }


async def test_views_need_fresh_triggers_and_current_hash(slack: SlackStandIn, client: AsyncWebClient) -> None:
    trigger = slack.issue_trigger_id(ALICE.id)
    opened = (await client.views_open(trigger_id=trigger, view=modal()))["view"]
    assert opened["id"].startswith("V") and slack.open_views(ALICE.id)[0].callback_id == "declare"
    assert (await refusal(client.views_open(trigger_id=trigger, view=modal())))["error"] == "exchanged_trigger_id"

    too_long = await refusal(client.views_open(trigger_id=slack.issue_trigger_id(ALICE.id), view=modal("T" * 25)))
    assert too_long["error"] == "invalid_arguments"
    assert "[json-pointer:/view/title/text]" in too_long["response_metadata"]["messages"][0]

    updated = await client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal("Declared"))
    stale = await refusal(client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal("Again")))
    assert updated["view"]["title"]["text"] == "Declared" and stale["error"] == "hash_conflict"

    home = {"type": "home", "blocks": [section("You are on call until Monday 09:00")]}
    await client.views_publish(user_id=ALICE.id, view=home)
    published = slack.home(ALICE.id)
    assert published is not None and published.blocks[0]["text"]["text"].startswith("You are on call")


async def test_expired_trigger(slack: SlackStandIn) -> None:
    async with SlackStandIn(users=[ALICE], trigger_ttl=0.0) as strict:
        client = AsyncWebClient(token=strict.bot_token, base_url=strict.api_url)
        trigger = strict.issue_trigger_id(ALICE.id)
        assert (await refusal(client.views_open(trigger_id=trigger, view=modal())))["error"] == "expired_trigger_id"


# --- files --------------------------------------------------------------------------------------


async def test_files_upload_v2_end_to_end(slack: SlackStandIn, client: AsyncWebClient) -> None:
    thread = await client.chat_postMessage(channel="incidents", text="Incident resolved")
    draft = "# Post-mortem: API error rate — 24 Nov 2026\n\n## Timeline\n".encode()
    result = await client.files_upload_v2(
        channel=slack.channel_id("incidents"), content=draft, filename="postmortem.md",
        title="Post-mortem draft", initial_comment="Draft attached", thread_ts=thread["ts"],
    )

    assert result["file"]["id"].startswith("F") and result["file"]["title"] == "Post-mortem draft"
    (upload,) = slack.uploads
    assert (upload.name, upload.title, upload.content) == ("postmortem.md", "Post-mortem draft", draft)
    assert upload.channel == slack.channel_id("incidents") and upload.thread_ts == thread["ts"]
    reply = slack.thread("incidents", thread["ts"])[-1]
    assert reply.text == "Draft attached" and reply.files[0]["name"] == "postmortem.md"
    assert [c.method for c in slack.calls[-3:]] == [
        "files.getUploadURLExternal", "file_upload", "files.completeUploadExternal"]


# --- faults and rate limits ---------------------------------------------------------------------


async def test_429_retry_after_is_honoured_by_the_sdk_retry_handler(slack: SlackStandIn) -> None:
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url,
                            retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)])
    slack.fail_next("chat.postMessage", status=429, retry_after=0)

    await client.chat_postMessage(channel="alerts", text="after the storm")

    posts = slack.calls_to("chat.postMessage")
    assert [(c.status, c.error) for c in posts] == [(429, "ratelimited"), (200, None)]
    assert [m.text for m in slack.messages("alerts")] == ["after the storm"]


async def test_429_without_handler_surfaces_retry_after(slack: SlackStandIn, client: AsyncWebClient) -> None:
    slack.fail_next("chat.postMessage", status=429, retry_after=7)
    with pytest.raises(SlackApiError) as caught:
        await client.chat_postMessage(channel="alerts", text="x")
    assert caught.value.response.status_code == 429
    assert caught.value.response.headers["Retry-After"] == "7"


async def test_server_errors_and_error_names(slack: SlackStandIn) -> None:
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url,
                            retry_handlers=[AsyncServerErrorRetryHandler(max_retry_count=1)])
    slack.fail_next("chat.update", status=503)
    slack.fail_next("*", error="fatal_error", times=2)

    with pytest.raises(SlackApiError):
        await client.auth_test()
    with pytest.raises(SlackApiError):
        await client.users_list()
    assert (await client.auth_test())["ok"]
    posted = await client.chat_postMessage(channel="alerts", text="v1")
    await client.chat_update(channel=posted["channel"], ts=posted["ts"], text="v2")  # retried once after 503
    assert [c.status for c in slack.calls_to("chat.update")] == [503, 200]


async def test_per_channel_rate_limit(slack: SlackStandIn, client: AsyncWebClient) -> None:
    slack.rate_limit_per_channel = 1.0
    await client.chat_postMessage(channel="alerts", text="first")
    with pytest.raises(SlackApiError) as caught:
        await client.chat_postMessage(channel="alerts", text="too soon")
    assert caught.value.response.status_code == 429 and caught.value.response.headers["Retry-After"] == "1"
    await client.chat_postMessage(channel="incidents", text="other channel is fine")


# --- waiting and hooks --------------------------------------------------------------------------


async def test_wait_for_wakes_on_the_call_and_times_out_with_context(
    slack: SlackStandIn, client: AsyncWebClient
) -> None:
    seen: list[RecordedCall] = []
    slack.on_call = seen.append
    post = asyncio.create_task(client.chat_postMessage(channel="alerts", text="HighErrorRate firing"))

    message = await slack.wait_for_message("alerts", contains="HighErrorRate")
    await post
    assert message.text == "HighErrorRate firing" and [c.method for c in seen] == ["chat.postMessage"]
    with pytest.raises(TimeoutError, match="chat.postMessage"):
        await slack.wait_for(lambda: len(slack.messages("alerts")) > 1, timeout=0.05)


# --- response URLs ------------------------------------------------------------------------------


async def test_response_urls(slack: SlackStandIn, client: AsyncWebClient) -> None:
    alerts = slack.channel_id("alerts")
    posted = await client.chat_postMessage(channel="alerts", text="firing")
    url = slack.new_response_url(channel_id=alerts, user_id=ALICE.id, message_ts=posted["ts"])
    hook = AsyncWebhookClient(url)

    assert (await hook.send(text="Only you can see this")).status_code == 200
    assert (await hook.send(text="Acknowledged by Alice", replace_original=True)).status_code == 200
    assert (await hook.send(text="Alice is looking", response_type="in_channel")).status_code == 200
    assert [e.text for e in slack.ephemerals(ALICE.id)] == ["Only you can see this"]
    assert [m.text for m in slack.messages("alerts")] == ["Acknowledged by Alice", "Alice is looking"]
    assert (await hook.send(delete_original=True)).status_code == 200
    assert [m.text for m in slack.messages("alerts")] == ["Alice is looking"]
    assert (await hook.send(text="fifth use")).status_code == 200
    assert (await hook.send(text="sixth use")).status_code == 404  # five uses, like Slack
    assert [(r.response_type, r.replace_original) for r in slack.responses][:3] == [
        ("ephemeral", False), ("ephemeral", True), ("in_channel", False)]


# --- the driver, against a receiver that verifies like a bot would ------------------------------


class Receiver:
    """A minimal bot endpoint: verifies Slack's signature and records what arrived."""

    def __init__(self) -> None:
        self.verifier = SignatureVerifier(SECRET)
        self.bodies: list[bytes] = []
        self.headers: list[dict[str, str]] = []
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if not self.verifier.is_valid_request(body, dict(request.headers)):
            return web.Response(status=401, text="invalid signature")
        self.bodies.append(body)
        self.headers.append(dict(request.headers))
        if request.content_type == "application/json":
            data = json.loads(body)
            if data.get("type") == "url_verification":
                return web.Response(text=data["challenge"], content_type="text/plain")
            return web.Response(status=200)
        form = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
        if "command" in form:
            return web.json_response({"response_type": "ephemeral", "text": f"pong {form['text']}"})
        return web.Response(status=200)

    def payload(self, index: int = -1) -> dict[str, Any]:
        form = parse_qs(self.bodies[index].decode(), keep_blank_values=True)
        return dict(json.loads(form["payload"][0])) if "payload" in form else {k: v[0] for k, v in form.items()}


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/slack/events", receiver.handle)
    receiver.runner = web.AppRunner(app, access_log=None)
    await receiver.runner.setup()
    site = web.TCPSite(receiver.runner, "127.0.0.1", 0)
    await site.start()
    receiver.url = f"http://127.0.0.1:{receiver.runner.addresses[0][1]}/slack/events"
    yield receiver
    await receiver.runner.cleanup()


@pytest.fixture
async def driver(slack: SlackStandIn, receiver: Receiver) -> AsyncIterator[SlackDriver]:
    async with SlackDriver(receiver.url, signing_secret=SECRET, slack=slack) as driver:
        yield driver


async def test_signed_slash_command_and_its_ack(slack: SlackStandIn, receiver: Receiver, driver: SlackDriver) -> None:
    response = await driver.slash("/oncall", "platform", user_id=ALICE.id, channel_id="alerts")

    assert response.status == 200 and response.json()["text"] == "pong platform"
    form = receiver.payload()
    assert (form["command"], form["text"], form["user_id"], form["channel_name"]) == (
        "/oncall", "platform", ALICE.id, "alerts")
    assert form["response_url"].startswith(slack.base_url + "/response/") and form["trigger_id"]
    assert [e.text for e in slack.ephemerals(ALICE.id)] == ["pong platform"]


async def test_unsigned_forged_and_stale_requests_are_refused(driver: SlackDriver) -> None:
    body = b"command=%2Foncall&text="
    assert (await driver.raw(body, {"Content-Type": "application/x-www-form-urlencoded"})).status == 401
    forged = {**driver.sign(body), "X-Slack-Signature": "v0=" + "0" * 64}
    assert (await driver.raw(body, forged)).status == 401
    stale = driver.sign(body, timestamp=int(time.time()) - 600)
    assert (await driver.raw(body, stale)).status == 401
    assert (await driver.raw(body, driver.sign(body))).status == 200


async def test_click_carries_the_real_block_and_action_ids(
    slack: SlackStandIn, client: AsyncWebClient, receiver: Receiver, driver: SlackDriver
) -> None:
    overflow = {"type": "overflow", "action_id": "alert_more", "options": [
        {"text": {"type": "plain_text", "text": "Snooze 30m"}, "value": "snooze:30m"},
        {"text": {"type": "plain_text", "text": "Snooze 1h"}, "value": "snooze:1h"}]}
    await client.chat_postMessage(channel="alerts", text="HighErrorRate", blocks=[
        section("*HighErrorRate*"),
        {"type": "actions", "block_id": "alert_actions:7", "elements": [button("alert_ack", value="7"), overflow]},
    ])
    (message,) = slack.messages("alerts")

    await driver.click(message, "alert_ack", user_id=BOB.id)
    payload = receiver.payload()
    assert payload["type"] == "block_actions" and payload["user"]["id"] == BOB.id
    assert payload["actions"][0] | {"action_ts": None} == {
        "action_id": "alert_ack", "block_id": "alert_actions:7", "type": "button", "value": "7",
        "text": {"type": "plain_text", "text": "Ack"}, "action_ts": None}
    assert payload["container"] == {"type": "message", "message_ts": message.ts, "channel_id": message.channel,
                                    "is_ephemeral": False}
    assert payload["message"]["blocks"] == message.blocks and payload["response_url"].startswith(slack.base_url)

    await driver.click(message, "alert_more", user_id=BOB.id, selected_option_value="snooze:1h")
    assert receiver.payload()["actions"][0]["selected_option"]["value"] == "snooze:1h"
    with pytest.raises(LookupError, match="alert_ack"):
        await driver.click(message, "nope", user_id=BOB.id)


async def test_events_retries_shortcuts_and_url_verification(
    slack: SlackStandIn, receiver: Receiver, driver: SlackDriver
) -> None:
    message, _ = await driver.say("incidents", "DB failover done", user_id=ALICE.id)
    await driver.react(message, ":pushpin:", user_id=ALICE.id)
    await driver.event({"type": "reaction_added", "user": ALICE.id, "reaction": "pushpin"},
                       event_id="Ev0RETRY", retry_num=1)
    envelope = json.loads(receiver.bodies[-1])
    assert envelope["event_id"] == "Ev0RETRY" and envelope["type"] == "event_callback"
    assert receiver.headers[-1]["X-Slack-Retry-Num"] == "1"
    assert receiver.headers[-1]["X-Slack-Retry-Reason"] == "http_timeout"
    assert json.loads(receiver.bodies[0])["event"]["text"] == "DB failover done"
    assert message.reactions == {"pushpin": [ALICE.id]}

    await driver.shortcut("declare_incident", message, user_id=BOB.id)
    shortcut = receiver.payload()
    assert (shortcut["type"], shortcut["callback_id"], shortcut["message"]["ts"]) == (
        "message_action", "declare_incident", message.ts)
    answer = await driver.url_verification("challenge-123")
    assert answer.text == "challenge-123"


# --- the driver and stand-in against a real Bolt app ------------------------------------------


async def test_bolt_app_round_trip(slack: SlackStandIn) -> None:
    """Payloads are what Bolt expects: command → modal → submission, and a button click."""
    app = AsyncApp(client=AsyncWebClient(token=slack.bot_token, base_url=slack.api_url), signing_secret=SECRET)
    submitted: list[dict[str, Any]] = []

    @app.command("/incident")
    async def declare(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await client.views_open(trigger_id=body["trigger_id"], view=modal(blocks=[
            {"type": "input", "block_id": "title", "label": {"type": "plain_text", "text": "Title"},
             "element": {"type": "plain_text_input", "action_id": "title", "initial_value": body["text"]}},
            {"type": "input", "block_id": "sev", "label": {"type": "plain_text", "text": "Severity"},
             "element": {"type": "static_select", "action_id": "sev", "options": [
                 {"text": {"type": "plain_text", "text": s}, "value": s} for s in ("SEV1", "SEV2")]}},
            {"type": "input", "block_id": "ic", "label": {"type": "plain_text", "text": "Commander"},
             "element": {"type": "users_select", "action_id": "ic"}},
        ]))

    @app.view("declare")
    async def on_submit(ack: AsyncAck, view: dict[str, Any]) -> None:
        await ack()
        submitted.append(view["state"]["values"])

    @app.action("alert_ack")
    async def on_ack(ack: AsyncAck, respond: AsyncRespond, body: dict[str, Any]) -> None:
        await ack()
        await respond(text=f"Acknowledged by <@{body['user']['id']}>", replace_original=True)

    runner = web.AppRunner(app.web_app(path="/slack/events"), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"
    try:
        async with SlackDriver(url, signing_secret=SECRET, slack=slack) as driver:
            assert (await driver.slash("/incident", "API down", user_id=ALICE.id, channel_id="alerts")).status == 200
            view = await slack.wait_for(lambda: next(iter(slack.open_views(ALICE.id)), None))
            with pytest.raises(ValueError, match="Severity"):
                await driver.submit_view(view, {"ic": BOB.id}, user_id=ALICE.id)
            await driver.submit_view(view, {"sev": "SEV1", "ic": BOB.id}, user_id=ALICE.id)
            assert submitted == [{
                "title": {"title": {"type": "plain_text_input", "value": "API down"}},
                "sev": {"sev": {"type": "static_select", "selected_option": {
                    "text": {"type": "plain_text", "text": "SEV1"}, "value": "SEV1"}}},
                "ic": {"ic": {"type": "users_select", "selected_user": BOB.id}},
            }]
            assert not slack.open_views(ALICE.id)

            posted = await AsyncWebClient(token=slack.bot_token, base_url=slack.api_url).chat_postMessage(
                channel="alerts", text="firing", blocks=[{"type": "actions", "elements": [button("alert_ack")]}])
            message = slack.messages("alerts")[0]
            assert (await driver.click(message, "alert_ack", user_id=BOB.id)).status == 200
            await slack.wait_for(lambda: slack.messages("alerts")[0].edits)
            assert slack.messages("alerts")[0].text == f"Acknowledged by <@{BOB.id}>"
            assert posted["ts"] == slack.messages("alerts")[0].ts
    finally:
        await runner.cleanup()
