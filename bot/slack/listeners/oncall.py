"""`/oncall`: ack at once, pick the subcommand by its first word, answer ephemerally.

:data:`SUBCOMMANDS` is every `/oncall` subcommand and the function that answers it; a first word
that is none of them is read as a team name (`/oncall platform`), and bare `/oncall` shows every
team. The schedule subcommands are in :mod:`~bot.slack.listeners.oncall_schedule`, paging and
silences in :mod:`~bot.slack.listeners.oncall_paging`, the report in
:mod:`~bot.slack.listeners.oncall_report`, the checks in :mod:`~bot.slack.listeners.oncall_checks`.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncBoltContext, AsyncRespond

from bot.slack.commands import Reply, SlashContext, SubcommandHandler, reply_args
from bot.slack.deps import deps
from bot.slack.listeners import (
    oncall_checks,
    oncall_me,
    oncall_paging,
    oncall_report,
    oncall_schedule,
    oncall_swap,
)
from bot.slack.listeners.shapes import COMMAND_NOT_UNDERSTOOD, SlashCommand, read

log = logging.getLogger(__name__)

SUBCOMMANDS: dict[str, SubcommandHandler] = {
    "help": oncall_schedule.help_,
    "schedule": oncall_schedule.schedule,
    "overrides": oncall_schedule.overrides,
    "override": oncall_schedule.override,
    "take": oncall_schedule.take,
    "cancel": oncall_schedule.cancel,
    "swap": oncall_swap.swap,
    "me": oncall_me.me,
    "page": oncall_paging.page,
    "silence": oncall_paging.silence,
    "report": oncall_report.report,
    "checks": oncall_checks.checks,
}
WHO_IS_ON_CALL = oncall_schedule.status  # bare `/oncall`, or `/oncall TEAM`


async def on_oncall(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, context: AsyncBoltContext) -> None:
    await ack()
    if (cmd := await read(SlashCommand, command, "/oncall command", respond, COMMAND_NOT_UNDERSTOOD)) is None:
        return
    text = cmd.text.strip()
    word, _, rest = text.partition(" ")
    handler = SUBCOMMANDS.get(word.lower())
    ctx = SlashContext(user_id=cmd.user_id, channel_id=cmd.channel_id,
                       text=rest.strip() if handler else text, respond=respond, trigger_id=cmd.trigger_id)
    try:
        reply = await (handler or WHO_IS_ON_CALL)(deps(context), ctx)
    except Exception:  # the person gets an answer, the log gets the traceback
        log.exception("/oncall %s failed", word.lower() if handler else "(status)")
        reply = Reply(text="⚠️ Sorry, `/oncall` failed on our side and the error was logged. "
                           "Please try again in a moment.")
    if reply is not None:
        await respond(**reply_args(reply))
