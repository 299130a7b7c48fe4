"""The Slack app manifests and the code stay in step: every event, command and scope."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bot.manifest import load_manifest
from bot.slack.app import REQUIRED_SCOPES
from tests.support.harness import Harness


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
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == REQUIRED_SCOPES
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["socket_mode_enabled"] is socket
    if socket:
        assert "request_url" not in settings["interactivity"]
    else:
        assert settings["interactivity"]["request_url"] == "https://bot.example.com/slack/events"
        assert settings["event_subscriptions"]["request_url"] == "https://bot.example.com/slack/events"
        for command in manifest["features"].get("slash_commands", []):
            assert command["url"] == "https://bot.example.com/slack/events"


def test_manifest_command_fills_in_public_url() -> None:
    env = {**os.environ, "PUBLIC_URL": "https://watch.example.org/"}
    out = subprocess.run([sys.executable, "-m", "bot", "manifest"], capture_output=True, text=True, env=env,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert "request_url: https://watch.example.org/slack/events" in out.stdout
    assert "${PUBLIC_URL}" not in out.stdout
