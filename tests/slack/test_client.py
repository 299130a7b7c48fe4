"""The one Slack client against the Slack stand-in: each of Slack's refusals arrives as its typed
error with Slack's own code, counted once in /metrics, and a modal Slack will not open is
explained to the person who asked."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import SectionBlock
from slack_sdk.models.views import View

from bot.delivery import DeliveryError
from bot.metrics import Metrics
from bot.sandbox.slack import SlackStandIn
from bot.slack.client import SlackClient, make_client
from bot.slack.errors import (
    ChannelNotFound,
    InvalidAuth,
    MessageNotFound,
    MissingScope,
    RateLimited,
    SlackError,
    SlackUnavailable,
    SlackUnreachable,
)
from tests.support.factories import ALICE
from tests.support.process import free_port


def client_for(slack: SlackStandIn, metrics: Metrics, **options: bool) -> SlackClient:
    return make_client(slack.bot_token, slack.api_url, errors=metrics.slack_errors, **options)


def counted(metrics: Metrics, method: str, error: str) -> float | None:
    return metrics.registry.get_sample_value("watchstander_slack_api_errors_total", {"method": method, "error": error})


@pytest.mark.parametrize(("error", "typed"), [
    ("channel_not_found", ChannelNotFound), ("missing_scope", MissingScope), ("token_revoked", InvalidAuth),
    ("message_not_found", MessageNotFound), ("is_archived", SlackError),
])
async def test_a_refusal_is_its_typed_error_with_slacks_code(slack: SlackStandIn, error: str,
                                                             typed: type[SlackError]) -> None:
    metrics = Metrics()
    slack.fail_next("chat.update", error=error)
    with pytest.raises(typed) as raised:
        await client_for(slack, metrics).chat_update(channel="alerts", ts="1.2", text="x")
    err = raised.value
    assert type(err) is typed and err.code == error and str(err) == f"chat.update: {error}"
    assert not err.transient and isinstance(err, DeliveryError)
    assert isinstance(err, SlackApiError)  # Bolt's own handling of a refused auth.test still applies
    assert counted(metrics, "chat.update", error) == 1.0


async def test_a_rate_limit_carries_slacks_retry_after(slack: SlackStandIn) -> None:
    metrics = Metrics()
    slack.fail_next("chat.postMessage", status=429, retry_after=7)
    with pytest.raises(RateLimited) as raised:
        await client_for(slack, metrics, wait_on_rate_limit=False).chat_postMessage(channel="alerts", text="x")
    assert raised.value.retry_after == 7.0 and raised.value.transient
    assert counted(metrics, "chat.postMessage", "ratelimited") == 1.0


async def test_slack_down_or_unreachable_is_transient(slack: SlackStandIn) -> None:
    metrics = Metrics()
    slack.fail_next("chat.postMessage", status=503)
    with pytest.raises(SlackUnavailable) as down:
        await client_for(slack, metrics, retries=False).chat_postMessage(channel="alerts", text="x")
    assert down.value.code == "service_unavailable" and down.value.transient
    nowhere = make_client("xoxb-1", f"http://127.0.0.1:{free_port()}/api/", retries=False, errors=metrics.slack_errors)
    with pytest.raises(SlackUnreachable) as unreachable:
        await nowhere.auth_test()
    assert unreachable.value.code == "connection_error" and unreachable.value.cause == "ClientConnectorError"
    assert counted(metrics, "auth.test", "connection_error") == 1.0


@pytest.fixture
async def not_slack() -> AsyncIterator[tuple[str, list[bytes]]]:
    """A server in Slack's place (a captive proxy, a misrouted URL) answering 200 with whatever JSON
    is next in its list."""
    answers: list[bytes] = []

    async def answer(_: web.Request) -> web.Response:
        return web.Response(body=answers.pop(0), content_type="application/json")

    app = web.Application()
    app.router.add_post("/api/{method}", answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/api/", answers
    await runner.cleanup()


async def test_an_answer_that_is_no_json_object_is_slack_unavailable(not_slack: tuple[str, list[bytes]]) -> None:
    """slack_sdk itself raised AttributeError on "x" or 5; the outbox retries SlackUnavailable."""
    url, answers = not_slack
    metrics = Metrics()
    client = make_client("xoxb-1", url, retries=False, errors=metrics.slack_errors)
    for body in (b"[]", b'"x"', b"5", b"null", b"{}"):
        answers.append(body)
        with pytest.raises(SlackUnavailable) as raised:
            await client.chat_postMessage(channel="C1", text="x")
        assert raised.value.code == "not_a_slack_answer" and raised.value.transient, body
    assert counted(metrics, "chat.postMessage", "not_a_slack_answer") == 5.0


async def test_a_post_joins_a_public_channel_the_bot_is_not_in(slack: SlackStandIn) -> None:
    slack.fail_next("chat.postMessage", error="not_in_channel")
    resp = await client_for(slack, Metrics()).post("alerts", text="Disk almost full")
    assert [m.text for m in slack.messages("alerts")] == ["Disk almost full"]
    assert resp["ts"] == slack.messages("alerts")[0].ts
    assert [c.method for c in slack.calls[-3:]] == ["chat.postMessage", "conversations.join", "chat.postMessage"]


async def test_a_modal_slack_will_not_open_is_explained_to_the_person(slack: SlackStandIn) -> None:
    told: list[str] = []

    async def tell(text: str) -> None:
        told.append(text)

    view = View(type="modal", callback_id="declare", title="Declare incident", blocks=[SectionBlock(text="Hi")])
    client = client_for(slack, Metrics())
    slack.fail_next("views.open", error="expired_trigger_id")
    assert await client.open_modal(slack.issue_trigger_id(ALICE), view, tell=tell) is False
    assert told == ["⚠️ Slack would not open the form (expired_trigger_id); please try again."]
    assert slack.open_views(ALICE) == []
    assert await client.open_modal(slack.issue_trigger_id(ALICE), view, tell=tell, what="the playbook") is True
    assert [v.callback_id for v in slack.open_views(ALICE)] == ["declare"] and len(told) == 1


async def test_a_post_whose_answer_was_lost_is_not_sent_again_blindly(slack: SlackStandIn) -> None:
    """slack_sdk's connection-error retry would post it a second time; the outbox looks first instead."""
    metrics = Metrics()
    client = client_for(slack, metrics)
    slack.drop_response_next("chat.postMessage")
    with pytest.raises(SlackUnreachable) as lost:
        await client.post("alerts", text="HighErrorRate is firing")
    assert (lost.value.code, lost.value.transient) == ("connection_error", True)
    assert [m.text for m in slack.messages("alerts")] == ["HighErrorRate is firing"]
    assert counted(metrics, "chat.postMessage", "connection_error") == 1


async def test_other_calls_are_still_retried_when_the_connection_drops(slack: SlackStandIn) -> None:
    client = client_for(slack, Metrics())
    posted = await client.post("alerts", text="firing")
    slack.drop_response_next("chat.update")
    await client.chat_update(channel=posted["channel"], ts=posted["ts"], text="acknowledged")
    assert [c.ok for c in slack.calls_to("chat.update")] == [True, True]  # an edit is safe to repeat
    assert [m.text for m in slack.messages("alerts")] == ["acknowledged"]
