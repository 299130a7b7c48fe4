"""Messages that make the incident timeline: pinned (``pin_added``) or marked with :pushpin:
(``reaction_added``, fanned out from :mod:`bot.slack.listeners.reactions`) in an incident channel,
and the edits and deletions of those messages (``message`` events)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.context.async_context import AsyncBoltContext

from bot.db import transaction
from bot.incidents.lifecycle import incident_for_channel
from bot.incidents.timeline import message_deleted, message_edited, record_message
from bot.slack.deps import SlackDeps, deps
from bot.slack.errors import SlackError
from bot.slack.listeners.shapes import MessageEvent, PinAdded, ReactionAdded, read

log = logging.getLogger(__name__)

PUSHPIN = frozenset({"pushpin", "round_pushpin"})


async def _find(d: SlackDeps, channel: str, ts: str) -> dict[str, Any] | None:
    """The message itself; reactions do not carry it. Thread replies are not in the history."""
    try:
        history = await d.slack.conversations_history(channel=channel, latest=ts, oldest=ts, inclusive=True, limit=1)
        messages: list[dict[str, Any]] = history.get("messages") or []
        found = [m for m in messages if m.get("ts") == ts]
        if not found:
            replies = await d.slack.conversations_replies(channel=channel, ts=ts, limit=50)
            messages = replies.get("messages") or []
            found = [m for m in messages if m.get("ts") == ts]
    except SlackError as exc:
        log.warning("could not read message %s in %s: %s", ts, channel, exc.code)
        return None
    return found[0] if found else None


async def capture(d: SlackDeps, *, channel: str, message: dict[str, Any] | None, ts: str, actor: str,
                  how: str) -> None:
    """Put a message on its incident's timeline (once), and tell the person it is there."""
    async with d.sessions() as s:
        incident = await incident_for_channel(s, channel)
    if incident is None:
        return
    message = message or await _find(d, channel, ts)
    if message is None:
        return
    permalink = message.get("permalink") or await d.incident_slack.permalink(channel, ts)
    async with transaction(d.sessions) as s:
        entry = await record_message(s, incident, channel=channel, ts=ts, author=message.get("user"),
                                     text=str(message.get("text") or ""), permalink=permalink, actor=actor,
                                     how=how, now=d.clock.now())
    if entry is not None:
        d.wake()  # the entry is shown in the incident channel
        await d.incident_slack.tell(actor, f"🗓️ Added to the timeline of incident #{incident.id}.", channel=channel)


async def on_pushpin(d: SlackDeps, event: dict[str, Any]) -> None:
    """From the one ``reaction_added`` listener (:mod:`bot.slack.listeners.reactions`)."""
    name = event.get("reaction")
    if not isinstance(name, str) or name not in PUSHPIN:
        return
    reaction = await read(ReactionAdded, event, "reaction_added event")
    if reaction is None or reaction.item.type != "message":
        return
    await capture(d, channel=reaction.item.channel, message=None, ts=reaction.item.ts, actor=reaction.user,
                  how="pushpin")


async def on_pin(event: dict[str, Any], context: AsyncBoltContext) -> None:
    if (pin := await read(PinAdded, event, "pin_added event")) is None:
        return
    item, message = pin.item, pin.item.message
    pinner = pin.user or item.created_by
    if item.type != "message" or not message.ts or pinner == context.bot_user_id:
        return  # the bot pinning its own header is not news
    await capture(deps(context), channel=pin.channel_id or item.channel, message=message.model_dump(), ts=message.ts,
                  actor=pinner, how="pin")


async def on_message(event: dict[str, Any], context: AsyncBoltContext) -> None:
    """Every message in the channels the bot is in arrives here; only edits and deletions of
    messages on a timeline matter. Acked either way, or Slack would retry each one."""
    if event.get("subtype") is None or (changed := await read(MessageEvent, event, "message event")) is None:
        return  # a new message (most of them): nothing to do
    d = deps(context)
    message = changed.message
    if changed.subtype == "message_changed" and message.subtype != "tombstone":
        async with transaction(d.sessions) as s:
            await message_edited(s, channel=changed.channel, ts=message.ts, text=message.text)
    elif changed.subtype == "message_deleted" or message.subtype == "tombstone":
        # A deleted thread parent stays behind as a "tombstone" edit of itself.
        async with transaction(d.sessions) as s:
            await message_deleted(s, channel=changed.channel, ts=changed.deleted_ts or message.ts)
    d.wake()  # an entry that changed is shown again
