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
from bot.notify.incident_slack import IncidentSlack
from bot.services import Services
from bot.slack.errors import SlackError
from bot.slack.listeners.shapes import ReactionAdded, read

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
        item = event.get("item") or {}
        message = item.get("message") or {}
        pinner = str(event.get("user") or item.get("created_by") or "")
        if item.get("type") != "message" or not message.get("ts") or pinner == context.bot_user_id:
            return  # the bot pinning its own header is not news
        channel = str(event.get("channel_id") or item.get("channel"))
        await timeline.capture(channel=channel, message=message, ts=str(message["ts"]), actor=pinner, how="pin")

    async def on_message(event: dict[str, Any]) -> None:
        """Every message in the channels the bot is in arrives here; only edits and deletions of
        messages on a timeline matter. Acked either way, or Slack would retry each one."""
        subtype = event.get("subtype")
        channel = str(event.get("channel") or "")
        message = event.get("message") or {}
        if subtype == "message_changed" and message.get("subtype") != "tombstone":
            async with transaction(svc.sessions) as s:
                await message_edited(s, channel=channel, ts=str(message.get("ts")),
                                     text=str(message.get("text") or ""))
        elif subtype == "message_deleted" or message.get("subtype") == "tombstone":
            # A deleted thread parent stays behind as a "tombstone" edit of itself.
            async with transaction(svc.sessions) as s:
                await message_deleted(s, channel=channel, ts=str(event.get("deleted_ts") or message.get("ts")))

    app.event("pin_added")(on_pin)
    app.event("message", subscriptions=("message.channels", "message.groups"))(on_message)
