"""The contract between a slash command's listener and the features behind its subcommands.

``/oncall page`` (escalation), ``/oncall report`` (reports) and the schedule subcommands live in
different modules; the ``/oncall`` listener parses the first word and calls the handler it was given,
so no module reaches into another's internals and nothing registers itself at import time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.services import Services


@dataclass(frozen=True)
class SlashContext:
    user_id: str
    channel_id: str
    text: str  # what follows the subcommand word, stripped
    # Bolt's respond(): for follow-ups after slow work (the listener has already acked).
    respond: Callable[..., Awaitable[Any]]
    trigger_id: str | None = None


@dataclass(frozen=True)
class Reply:
    """What the caller sees: ephemeral unless ``in_channel``; ``blocks`` built with slack_sdk models."""

    text: str
    blocks: list[Any] | None = None
    in_channel: bool = False


SubcommandHandler = Callable[[Services, SlashContext], Awaitable[Reply | None]]
