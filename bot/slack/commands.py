"""What every slash-command subcommand is: a function from the bot's parts and the parsed command to
the caller's answer.

``/oncall`` and ``/incident`` each have one listener (``bot.slack.listeners.oncall``,
``bot.slack.listeners.incident``) that acks, reads the first word and calls the subcommand its
table names. A subcommand gets :class:`~bot.slack.deps.SlackDeps` and a :class:`SlashContext`, and
returns a :class:`Reply` (or None when it answered itself through ``ctx.respond``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import NotRequired, TypedDict

from slack_sdk.models.blocks import Block

from bot.slack.client import Respond
from bot.slack.deps import SlackDeps


@dataclass(frozen=True)
class SlashContext:
    user_id: str
    channel_id: str
    text: str  # what follows the subcommand word, stripped
    # Bolt's respond(): for follow-ups after slow work (the listener has already acked).
    respond: Respond
    trigger_id: str | None = None


@dataclass(frozen=True)
class Reply:
    """What the caller sees: ephemeral unless ``in_channel``; ``blocks`` built with slack_sdk models."""

    text: str
    blocks: list[Block] | None = None
    in_channel: bool = False


SubcommandHandler = Callable[[SlackDeps, SlashContext], Awaitable[Reply | None]]


def refuse(message: str) -> Reply:
    return Reply(text=f"⚠️ {message}")


class RespondArgs(TypedDict):
    """The keyword arguments of Bolt's ``respond`` that an answer uses."""

    text: str
    response_type: str
    replace_original: bool
    blocks: NotRequired[list[dict[str, object]]]


def reply_args(reply: Reply) -> RespondArgs:
    """``respond(**reply_args(reply))``: ephemeral unless asked, never replacing the original."""
    args = RespondArgs(text=reply.text, response_type="in_channel" if reply.in_channel else "ephemeral",
                       replace_original=False)
    if reply.blocks:
        args["blocks"] = [b.to_dict() for b in reply.blocks]
    return args
