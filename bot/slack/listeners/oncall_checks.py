"""`/oncall checks [NAME]`: every configured check (or one) with its state, latency and uptime,
for the caller only, times in the caller's Slack zone."""

from __future__ import annotations

from datetime import timedelta

from bot.monitors.uptime import load_histories
from bot.slack.blocks.checks import checks_message
from bot.slack.blocks.common import clip, escape
from bot.slack.commands import Reply, SlashContext, refuse
from bot.slack.deps import SlackDeps

LONGEST_WINDOW = timedelta(days=30)


async def checks(d: SlackDeps, ctx: SlashContext) -> Reply:
    configured = d.config.checks
    wanted = ctx.text.strip().lower()
    if wanted:
        configured = [c for c in configured if c.name == wanted]
        if not configured:
            names = ", ".join(f"`{c.name}`" for c in d.config.checks) or "none are configured"
            return refuse(f"there is no check called `{clip(escape(wanted), 64)}`. Checks: {names}.")
    now = d.clock.now()
    zone = await d.zones.zone(ctx.user_id)
    async with d.sessions() as s:
        histories = await load_histories(s, [c.name for c in configured], since=now - LONGEST_WINDOW, now=now)
    rendered = checks_message(configured, histories, now=now, zone=zone)
    return Reply(text=rendered.text, blocks=rendered.blocks)
