"""Every Slack Web API call goes through ``bot.slack.client.SlackClient``, which turns Slack's
errors into the typed ones of ``bot.slack.errors``: no other module of the bot handles slack_sdk's
``SlackApiError`` or builds its own ``AsyncWebClient`` (which would skip the mapping, the error
metric and the helpers). The stand-ins in ``bot/sandbox`` play Slack's side and are exempt."""

from __future__ import annotations

import ast
from pathlib import Path

BOT = Path(__file__).resolve().parents[2] / "bot"
DOOR = {"slack/client.py", "slack/errors.py"}  # the client and its exceptions
RAW = {"SlackApiError", "SlackRequestError", "AsyncWebClient", "WebClient"}


def raw_slack_uses(source: str) -> list[str]:
    """Where ``source`` names slack_sdk's raw client or errors: imports and any other mention."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("slack_sdk"):
            found += [f"line {node.lineno}: imports {a.name}" for a in node.names if a.name in RAW]
        elif isinstance(node, ast.Name | ast.Attribute):
            name = node.id if isinstance(node, ast.Name) else node.attr
            if name in RAW:
                found.append(f"line {node.lineno}: uses {name}")
    return found


def test_only_the_client_module_touches_slack_sdk_s_client_and_errors() -> None:
    offenders = {}
    for path in sorted(BOT.rglob("*.py")):
        rel = path.relative_to(BOT).as_posix()
        if rel in DOOR or rel.startswith("sandbox/"):
            continue
        if uses := raw_slack_uses(path.read_text()):
            offenders[rel] = uses
    assert offenders == {}, "go through bot.slack.client.SlackClient and catch bot.slack.errors instead"


def test_the_check_finds_a_raw_slack_error_handler() -> None:
    source = (
        "from slack_sdk.errors import SlackApiError\n"
        "async def f(client):\n"
        "    try:\n"
        "        await client.views_open(trigger_id='t', view={})\n"
        "    except SlackApiError:\n"
        "        pass\n"
    )
    assert raw_slack_uses(source) == ["line 1: imports SlackApiError", "line 5: uses SlackApiError"]
    assert raw_slack_uses("import slack_sdk.errors as e\ntry:\n    pass\nexcept e.SlackApiError:\n    pass\n") == [
        "line 4: uses SlackApiError"]
    assert raw_slack_uses("from slack_sdk.models.views import View\n") == []
