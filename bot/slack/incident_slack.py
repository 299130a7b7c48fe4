"""The Slack calls incident work makes outside the outbox: telling one person, and a message's permalink.

The outbox's incident posts add posting once to these (:mod:`bot.notify.incident_slack_posts`)."""

from __future__ import annotations

import logging

from bot.metrics import Metrics
from bot.slack.client import SlackClient
from bot.slack.errors import SlackError

log = logging.getLogger(__name__)


class IncidentSlack:
    def __init__(self, client: SlackClient, metrics: Metrics) -> None:
        self.client = client
        self._metrics = metrics

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
