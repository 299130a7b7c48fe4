"""`/incident`: ack at once, pick the subcommand by its first word, answer the caller ephemerally.

Refusals from the domain (:class:`~bot.incidents.lifecycle.IncidentError`) are shown as they are
written; anything unexpected is logged with its traceback and the caller gets an apology, never a
stack trace.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncRespond

from bot.incidents.lifecycle import IncidentError
from bot.services import Services
from bot.slack.blocks.common import clip, escape
from bot.slack.blocks.incident_lists import help_blocks
from bot.slack.commands import Reply, SlashContext
from bot.slack.ids import Command
from bot.slack.incident_commands import IncidentCommands
from bot.slack.listeners.oncall import reply_args
from bot.slack.listeners.shapes import COMMAND_NOT_UNDERSTOOD, SlashCommand, read

if TYPE_CHECKING:
    from bot.slack.app import Listeners

log = logging.getLogger(__name__)


def register(app: Listeners, svc: Services) -> None:
    commands = IncidentCommands(svc)
    table = commands.table()

    async def on_incident(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        if (cmd := await read(SlashCommand, command, "/incident command", respond, COMMAND_NOT_UNDERSTOOD)) is None:
            return
        text = cmd.text.strip()
        word, _, rest = text.partition(" ")
        handler = table.get(word.lower()) if word else commands.help
        if handler is None:
            lead = f"⚠️ `/incident {clip(escape(word), 40)}` is not a subcommand I know; nothing was changed."
            await respond(**reply_args(Reply(text=lead, blocks=help_blocks(lead))))
            return
        ctx = SlashContext(user_id=cmd.user_id, channel_id=cmd.channel_id, text=rest.strip(), respond=respond,
                           trigger_id=cmd.trigger_id)
        try:
            reply = await handler(svc, ctx)
        except IncidentError as exc:
            reply = Reply(text=f"⚠️ {exc}")
        except Exception:  # the person gets an answer, the log gets the traceback
            log.exception("/incident %s failed", word.lower())
            reply = Reply(text="⚠️ Sorry, `/incident` failed on our side and the error was logged. "
                               "Please try again in a moment.")
        if reply is not None:
            await respond(**reply_args(reply))

    app.command(Command.INCIDENT)(on_incident)
