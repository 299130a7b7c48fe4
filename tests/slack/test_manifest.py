"""The Slack app manifests and the code stay in step: every event, command and scope.

The scopes are not checked against a list kept by hand: the Slack stand-in refuses every Web API
call whose scope the manifest does not grant (``missing_scope``, as Slack does) and delivers only
the events and commands the manifest subscribes to, so the whole suite fails when a scope the code
needs is missing. Here, the other direction: every scope the manifest asks for is needed by a Web
API method the code calls (found in the source), an event it subscribes to, or its commands.
"""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.clock import ManualClock
from bot.manifest import load_manifest
from bot.sandbox.slack import SlackStandIn
from bot.sandbox.slack_scopes import (
    COMMANDS,
    EVENT_SCOPES,
    POST_TO_ANY_PUBLIC_CHANNEL,
    AppGrants,
    ConversationKind,
    method_scopes,
)
from tests.conftest import CHANNELS, USERS
from tests.support.factories import am_alert, am_notification
from tests.support.harness import Harness, start_harness

BOT_SOURCE = Path(__file__).resolve().parents[2] / "bot"
# Where the bot works: team and incident channels, public or made private by an admin, and DMs.
# It never opens group DMs.
CONVERSATIONS = (ConversationKind.PUBLIC, ConversationKind.PRIVATE, ConversationKind.IM)
_IDENTIFIER = re.compile(r"\b[a-z]+_[A-Za-z0-9_]+\b")


def _api_methods(client_method: str) -> set[str]:
    """The Web API methods one slack_sdk client method calls (files_upload_v2 calls two)."""
    source = inspect.getsource(getattr(AsyncWebClient, client_method))
    found = set(re.findall(r'api_call\(\s*"([^"]+)"', source))
    for nested in re.findall(r"self\.([a-z]+_[A-Za-z0-9_]+)\(", source):
        if nested != client_method and hasattr(AsyncWebClient, nested):
            found |= _api_methods(nested)
    return found


def web_api_methods_the_code_calls() -> set[str]:
    """Every slack_sdk Web API method named in the bot's source (``client.users_info(...)`` or
    ``call("chat_update", ...)``), as Slack's method names; the stand-in is not the bot."""
    names: set[str] = set()
    for path in BOT_SOURCE.rglob("*.py"):
        if "sandbox" not in path.relative_to(BOT_SOURCE).parts:
            names |= set(_IDENTIFIER.findall(path.read_text(encoding="utf-8")))
    client_methods = {n for n in names if callable(getattr(AsyncWebClient, n, None)) and n != "api_call"}
    return {api for n in client_methods for api in _api_methods(n)}


def scopes_the_code_needs(manifest: dict) -> set[str]:
    needed = {s for m in web_api_methods_the_code_calls() for s in method_scopes(m, CONVERSATIONS)}
    needed |= {s for e in manifest["settings"]["event_subscriptions"]["bot_events"] if (s := EVENT_SCOPES[e])}
    if manifest["features"].get("slash_commands") or manifest["features"].get("shortcuts"):
        needed.add(COMMANDS)
    needed.add(POST_TO_ANY_PUBLIC_CHANNEL)  # alerts go to team channels without an invite
    return needed


def test_the_code_calls_what_the_scan_finds() -> None:
    """The scan sees the calls made through helpers too (the outbox, the incident poster)."""
    calls = web_api_methods_the_code_calls()
    assert {"chat.postMessage", "chat.update", "conversations.history", "conversations.open", "pins.add",
            "files.getUploadURLExternal", "files.completeUploadExternal", "views.publish"} <= calls
    assert "apps.connections.open" not in calls  # Bolt's Socket Mode handler calls it with the app token


@pytest.mark.parametrize("socket", [False, True])
def test_manifest_asks_for_exactly_the_scopes_the_code_needs(socket: bool) -> None:
    manifest = load_manifest(socket=socket)
    granted = set(manifest["oauth_config"]["scopes"]["bot"])
    needed = scopes_the_code_needs(manifest)
    assert granted - needed == set(), "scopes the manifest asks for but nothing uses"
    assert needed - granted == set(), "scopes the code needs but the manifest does not grant"


@pytest.mark.parametrize("socket", [False, True])
async def test_manifest_matches_the_registered_listeners(harness: Harness, socket: bool) -> None:
    manifest = load_manifest(socket=socket, public_url="https://bot.example.com")
    listeners = harness.bot.listeners
    settings = manifest["settings"]
    assert set(settings["event_subscriptions"]["bot_events"]) == listeners.events
    commands = {c["command"] for c in manifest["features"].get("slash_commands", [])}
    assert commands == listeners.commands
    shortcuts = {s["callback_id"] for s in manifest["features"].get("shortcuts", [])}
    assert shortcuts == listeners.shortcuts
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["socket_mode_enabled"] is socket
    if socket:
        assert "request_url" not in settings["interactivity"]
    else:
        assert settings["interactivity"]["request_url"] == "https://bot.example.com/slack/events"
        assert settings["event_subscriptions"]["request_url"] == "https://bot.example.com/slack/events"
        for command in manifest["features"].get("slash_commands", []):
            assert command["url"] == "https://bot.example.com/slack/events"


def test_both_manifests_grant_the_same_scopes_and_events() -> None:
    http, socket = AppGrants.from_manifest(load_manifest()), AppGrants.from_manifest(load_manifest(socket=True))
    assert http == socket


@pytest.fixture
async def without_chat_write(clock: ManualClock, db_url: str) -> AsyncIterator[Harness]:
    manifest = load_manifest()
    manifest["oauth_config"]["scopes"]["bot"].remove("chat:write")
    async with SlackStandIn(channels=CHANNELS, users=USERS, grants=AppGrants.from_manifest(manifest)) as slack, \
            start_harness(slack=slack, clock=clock, db_url=db_url) as h:
        yield h


async def test_a_scope_missing_from_the_manifest_breaks_a_real_flow(without_chat_write: Harness) -> None:
    h = without_chat_write
    status, _ = await h.alertmanager(am_notification(am_alert()))
    assert status == 202
    await h.drain()
    assert h.slack.messages("platform-alerts") == []  # the team never sees the alert
    refused = [c for c in h.slack.calls_to("chat.postMessage") if c.error == "missing_scope"]
    assert refused and refused[0].response["needed"] == "chat:write"


def test_manifest_command_fills_in_public_url() -> None:
    env = {**os.environ, "PUBLIC_URL": "https://watch.example.org/"}
    out = subprocess.run([sys.executable, "-m", "bot", "manifest"], capture_output=True, text=True, env=env,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert "request_url: https://watch.example.org/slack/events" in out.stdout
    assert "${PUBLIC_URL}" not in out.stdout
