"""`/oncall`: ack at once, pick the subcommand by its first word, answer ephemerally.

Subcommands are a plain table of :data:`~bot.slack.commands.SubcommandHandler`; other features
(``page``, ``silence``, ``report``) hand theirs in through ``extra``. A first word that is no
subcommand is read as a team name.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncRespond

from bot.services import Services
from bot.slack.commands import Reply, SlashContext, SubcommandHandler
from bot.slack.ids import Command
from bot.slack.listeners.shapes import COMMAND_NOT_UNDERSTOOD, SlashCommand, read
from bot.slack.oncall_commands import OncallCommands
from bot.slack.user_zones import user_zones

if TYPE_CHECKING:
    from bot.slack.app import Listeners

log = logging.getLogger(__name__)

def register(app: Listeners, svc: Services, *, extra: Mapping[str, SubcommandHandler] | None = None) -> None:
    commands = OncallCommands(svc, user_zones(svc))
    table: dict[str, SubcommandHandler] = {**commands.table(), **(extra or {})}

    async def on_oncall(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        if (cmd := await read(SlashCommand, command, "/oncall command", respond, COMMAND_NOT_UNDERSTOOD)) is None:
            return
        text = cmd.text.strip()
        word, _, rest = text.partition(" ")
        handler = table.get(word.lower())
        ctx = SlashContext(user_id=cmd.user_id, channel_id=cmd.channel_id,
                           text=rest.strip() if handler else text, respond=respond, trigger_id=cmd.trigger_id)
        try:
            reply = await (handler or commands.status)(svc, ctx)
        except Exception:  # the person gets an answer, the log gets the traceback
            log.exception("/oncall %s failed", word.lower() if handler else "(status)")
            reply = Reply(text="⚠️ Sorry, `/oncall` failed on our side and the error was logged. "
                               "Please try again in a moment.")
        if reply is not None:
            await respond(**reply_args(reply))

    app.command(Command.ONCALL)(on_oncall)


def reply_args(reply: Reply) -> dict[str, Any]:
    args: dict[str, Any] = {"text": reply.text, "response_type": "in_channel" if reply.in_channel else "ephemeral",
                            "replace_original": False}
    if reply.blocks:
        args["blocks"] = [b.to_dict() if hasattr(b, "to_dict") else b for b in reply.blocks]
    return args
