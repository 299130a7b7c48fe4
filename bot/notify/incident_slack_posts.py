"""The Slack calls the incident outbox handlers make: posts that go out once (also across a crash),
counted by what they are, on top of :class:`~bot.slack.incident_slack.IncidentSlack`."""

from __future__ import annotations

from typing import Unpack

from bot.metrics import Metrics
from bot.notify.once import Once, PostContent, Posted, RowPosts
from bot.outbox import OutboxMessage
from bot.slack.client import SlackClient
from bot.slack.incident_slack import IncidentSlack


class IncidentSlackPosts(IncidentSlack):
    def __init__(self, client: SlackClient, metrics: Metrics, once: Once) -> None:
        super().__init__(client, metrics)
        self._once = once

    def posts(self, item: OutboxMessage) -> RowPosts:
        """The posts of one attempt at ``item``: each goes out once, also across a crash."""
        return self._once.row(item)

    async def post(self, posts: RowPosts, channel: str, *, what: str, part: str = "", thread_ts: str | None = None,
                   **content: Unpack[PostContent]) -> Posted:
        """chat.postMessage as one of ``posts`` (``part`` names it among the row's posts); joins a public
        channel the bot is not in (``incidents_channel``)."""
        content.setdefault("unfurl_links", False)
        content.setdefault("unfurl_media", False)
        return await posts.post(channel, part=part, what=what, thread_ts=thread_ts, **content)
