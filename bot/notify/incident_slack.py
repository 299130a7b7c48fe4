"""The Slack calls the incident handlers make: posts counted by what they are, and telling one person."""

from __future__ import annotations

import logging
from typing import Any

from bot.metrics import Metrics
from bot.notify.once import Once, Posted, RowPosts
from bot.outbox import OutboxMessage
from bot.slack.client import SlackClient
from bot.slack.errors import SlackError

log = logging.getLogger(__name__)


class IncidentSlack:
    def __init__(self, client: SlackClient, metrics: Metrics, once: Once) -> None:
        self.client = client
        self._metrics = metrics
        self._once = once

    def posts(self, item: OutboxMessage) -> RowPosts:
        """The posts of one attempt at ``item``: each goes out once, also across a crash."""
        return self._once.row(item)

    async def post(self, posts: RowPosts, channel: str, *, text: str, what: str, part: str = "",
                   **kwargs: Any) -> Posted:
        """chat.postMessage as one of ``posts`` (``part`` names it among the row's posts); joins a public
        channel the bot is not in (``incidents_channel``)."""
        return await posts.post(channel, part=part, what=what, text=text, unfurl_links=False, unfurl_media=False,
                                **kwargs)

    async def tell(self, user: str, text: str, *, channel: str | None = None) -> None:
        """Something only ``user`` needs to see: ephemeral in ``channel``, else a DM. Never raises,
        because it reports on work that is already done."""
        if channel:
            try:
                await self.client.chat_postEphemeral(channel=channel, user=user, text=text)
                return
            except SlackError as exc:
                log.info("ephemeral to %s in %s failed (%s); sending a DM", user, channel, exc.code)
        try:
            opened = await self.client.conversations_open(users=user)
            await self.client.post(opened["channel"]["id"], text=text, unfurl_links=False, unfurl_media=False)
            self._metrics.notifications.labels("slack", "incident_dm").inc()
        except SlackError as exc:
            log.warning("could not tell %s about an incident: %s", user, exc)

    async def permalink(self, channel: str, ts: str) -> str | None:
        return await self.client.permalink(channel, ts)
