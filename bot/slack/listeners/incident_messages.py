"""Messages that make the incident timeline: pinned (``pin_added``) or marked with :pushpin:
(``reaction_added``, fanned out from :mod:`bot.slack.listeners.reactions`) in an incident channel,
and the edits and deletions of those messages (``message`` events)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_bolt.context.async_context import AsyncBoltContext

from bot.db import transaction
from bot.incidents.lifecycle import incident_for_channel
from bot.incidents.timeline import message_deleted, message_edited, record_message
from bot.services import Services
from bot.slack.errors import SlackError
from bot.slack.incident_slack import IncidentSlack
from bot.slack.listeners.shapes import MessageEvent, PinAdded, ReactionAdded, read

if TYPE_CHECKING:
    from bot.slack.app import Listeners

log = logging.getLogger(__name__)

PUSHPIN = frozenset({"pushpin", "round_pushpin"})


class TimelineMessages:
    def __init__(self, svc: Services) -> None:
        self.svc = svc
        self.slack = IncidentSlack(svc.slack, svc.metrics)

    async def _find(self, channel: str, ts: str) -> dict[str, Any] | None:
        """The message itself; reactions do not carry it. Thread replies are not in the history."""
        try:
            history = await self.slack.client.conversations_history(channel=channel, latest=ts, oldest=ts,
                                                                    inclusive=True, limit=1)
            messages: list[dict[str, Any]] = history.get("messages") or []
            found = [m for m in messages if m.get("ts") == ts]
            if not found:
                replies = await self.slack.client.conversations_replies(channel=channel, ts=ts, limit=50)
                messages = replies.get("messages") or []
                found = [m for m in messages if m.get("ts") == ts]
        except SlackError as exc:
            log.warning("could not read message %s in %s: %s", ts, channel, exc.code)
            return None
        return found[0] if found else None

    async def capture(self, *, channel: str, message: dict[str, Any] | None, ts: str, actor: str,
                      how: str) -> None:
        """Put a message on its incident's timeline (once), and tell the person it is there."""
        async with self.svc.sessions() as s:
            incident = await incident_for_channel(s, channel)
        if incident is None:
            return
        message = message or await self._find(channel, ts)
        if message is None:
            return
        permalink = message.get("permalink") or await self.slack.permalink(channel, ts)
        async with transaction(self.svc.sessions) as s:
            entry = await record_message(s, incident, channel=channel, ts=ts, author=message.get("user"),
                                         text=str(message.get("text") or ""), permalink=permalink, actor=actor,
                                         how=how, now=self.svc.clock.now())
        if entry is not None:
            await self.slack.tell(actor, f"🗓️ Added to the timeline of incident #{incident.id}.", channel=channel)

    async def on_pushpin(self, event: dict[str, Any]) -> None:
        name = event.get("reaction")
        if not isinstance(name, str) or name not in PUSHPIN:
            return
        reaction = await read(ReactionAdded, event, "reaction_added event")
        if reaction is None or reaction.item.type != "message":
            return
        await self.capture(channel=reaction.item.channel, message=None, ts=reaction.item.ts, actor=reaction.user,
                           how="pushpin")


def register(app: Listeners, svc: Services, timeline: TimelineMessages) -> None:
    async def on_pin(event: dict[str, Any], context: AsyncBoltContext) -> None:
        if (pin := await read(PinAdded, event, "pin_added event")) is None:
            return
        item, message = pin.item, pin.item.message
        pinner = pin.user or item.created_by
        if item.type != "message" or not message.ts or pinner == context.bot_user_id:
            return  # the bot pinning its own header is not news
        await timeline.capture(channel=pin.channel_id or item.channel, message=message.model_dump(), ts=message.ts,
                               actor=pinner, how="pin")

    async def on_message(event: dict[str, Any]) -> None:
        """Every message in the channels the bot is in arrives here; only edits and deletions of
        messages on a timeline matter. Acked either way, or Slack would retry each one."""
        if event.get("subtype") is None or (changed := await read(MessageEvent, event, "message event")) is None:
            return  # a new message (most of them): nothing to do
        message = changed.message
        if changed.subtype == "message_changed" and message.subtype != "tombstone":
            async with transaction(svc.sessions) as s:
                await message_edited(s, channel=changed.channel, ts=message.ts, text=message.text)
        elif changed.subtype == "message_deleted" or message.subtype == "tombstone":
            # A deleted thread parent stays behind as a "tombstone" edit of itself.
            async with transaction(svc.sessions) as s:
                await message_deleted(s, channel=changed.channel, ts=changed.deleted_ts or message.ts)

    app.event("pin_added")(on_pin)
    app.event("message", subscriptions=("message.channels", "message.groups"))(on_message)
