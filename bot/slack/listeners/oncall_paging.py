"""``/oncall page`` and ``/oncall silence``: subcommand handlers for the ``/oncall`` listener.

They follow :data:`~bot.slack.commands.SubcommandHandler`: the listener has acked already; each
parses, makes one domain call in a short transaction, wakes the senders and returns the reply.
"""

from __future__ import annotations

from bot.db import record_id, transaction
from bot.escalation.engine import NothingToEscalate
from bot.escalation.manual import page_team
from bot.escalation.silences import (
    SilenceError,
    add_silence,
    current_silences,
    end_silence,
    is_active,
    parse_silence,
)
from bot.slack.blocks.common import escape
from bot.slack.blocks.escalation import silence_created, silence_list
from bot.slack.commands import Reply, SlashContext
from bot.slack.deps import SlackDeps

PAGE_USAGE = "Usage: `/oncall page TEAM message`, e.g. `/oncall page platform \"checkout is down\"`."
SILENCE_USAGE = ("Usage: `/oncall silence MATCHERS DURATION` (e.g. `service=api 2h`, "
                 "`alertname=~^Disk from sat 22:00 for 4h`), `/oncall silence list`, `/oncall silence end ID`.")


async def page(d: SlackDeps, ctx: SlashContext) -> Reply:
    team, _, message = ctx.text.partition(" ")
    message = message.strip().strip('"“”').strip()
    if not team or not message:
        return Reply(text=PAGE_USAGE)
    try:
        async with transaction(d.sessions) as s:
            group = await page_team(s, d.config, team.lower(), message, by=ctx.user_id, now=d.clock.now())
            channel = group.channel
    except NothingToEscalate as exc:
        return Reply(text=f"Nobody was paged: {exc}. {PAGE_USAGE}")
    d.wake()
    return Reply(text=f"📟 Paging *{escape(team.lower())}* through its escalation policy: “{escape(message)}” "
                      f"(alert #{group.id} in #{escape(channel)}). Acknowledge it there to stop the paging.")


async def silence(d: SlackDeps, ctx: SlashContext) -> Reply:
    word, _, rest = ctx.text.partition(" ")
    now = d.clock.now()
    zone = d.config.zone()
    if word.lower() in ("", "help"):
        return Reply(text=SILENCE_USAGE)
    if word.lower() == "list":
        async with d.sessions() as s:
            silences = await current_silences(s, now)
        text, blocks = silence_list(silences, names=d.names, zone=zone,
                                    now_in_force={x.id: is_active(x, now) for x in silences})
        return Reply(text=text, blocks=blocks)
    if word.lower() == "end":
        ident = record_id(rest.strip().lstrip("#"))
        if ident is None:
            return Reply(text="Which one? `/oncall silence end ID`; `/oncall silence list` shows the ids.")
        try:
            async with transaction(d.sessions) as s:
                ended = await end_silence(s, ident, actor=ctx.user_id, now=now)
        except SilenceError as exc:
            return Reply(text=f"⚠️ {exc}.")
        d.wake()
        return Reply(text=f"🔔 Silence #{ended.id} ended; matching alerts notify again.")
    try:
        request = parse_silence(ctx.text, now=now, zone=zone)
        async with transaction(d.sessions) as s:
            created, quieted = await add_silence(s, request, actor=ctx.user_id, now=now)
    except SilenceError as exc:
        return Reply(text=f"⚠️ {exc}. {SILENCE_USAGE}")
    d.wake()
    return Reply(text=silence_created(created, quieted=quieted, zone=zone, now_in_force=is_active(created, now)))
