"""The one ``reaction_added`` listener. Bolt runs only the first listener registered for an event
type, so every feature that reacts to reactions is called from here: 👀 / ✅ on an alert message
acknowledge / resolve it; :pushpin: on a message in an incident channel puts it on the timeline."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncBoltContext
from sqlalchemy import select

from bot.alerts import actions
from bot.alerts.models import AlertGroup
from bot.db import transaction
from bot.slack.deps import SlackDeps, deps
from bot.slack.listeners.incident_messages import on_pushpin
from bot.slack.listeners.shapes import ReactionAdded, read

# Reacting to an alert message acts on it, for people on their phones.
REACTION_ACK = frozenset({"eyes", "ack", "raised_hand"})
REACTION_RESOLVE = frozenset({"white_check_mark", "heavy_check_mark", "resolved"})


async def act_on_alert(d: SlackDeps, event: dict[str, Any]) -> None:
    name = event.get("reaction", "")
    if not isinstance(name, str) or name not in REACTION_ACK | REACTION_RESOLVE:
        return
    reaction = await read(ReactionAdded, event, "reaction_added event")
    if reaction is None or reaction.item.type != "message":
        return
    item = reaction.item
    async with d.sessions() as s:
        gid = await s.scalar(select(AlertGroup.id).where(AlertGroup.slack_channel_id == item.channel,
                                                         AlertGroup.slack_ts == item.ts))
    if gid is None:
        return
    async with transaction(d.sessions) as s:
        if name in REACTION_ACK:
            await actions.acknowledge(s, gid, actor=reaction.user, via="slack", now=d.clock.now(),
                                      severities=d.config.severities)
        else:
            await actions.resolve(s, gid, actor=reaction.user, via="slack", now=d.clock.now())
    d.wake()


async def on_reaction(event: dict[str, Any], context: AsyncBoltContext) -> None:
    d = deps(context)
    await act_on_alert(d, event)
    await on_pushpin(d, event)
