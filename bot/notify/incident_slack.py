"""The Slack calls the incident handlers make: posts counted by what they are, and telling one person."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.metrics import Metrics
from bot.slack.client import SlackClient
from bot.slack.errors import SlackError

log = logging.getLogger(__name__)


class IncidentSlack:
    def __init__(self, client: SlackClient, metrics: Metrics) -> None:
        self.client = client
        self._metrics = metrics

    async def post(self, channel: str, *, text: str, what: str, **kwargs: Any) -> AsyncSlackResponse:
        """chat.postMessage; joins a public channel the bot is not in (``incidents_channel``)."""
        args = {"text": text, "unfurl_links": False, "unfurl_media": False, **kwargs}
        resp = await self.client.post(channel, **args)
        self._metrics.notifications.labels("slack", what).inc()
        return resp

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
            await self.post(opened["channel"]["id"], text=text, what="incident_dm")
        except SlackError as exc:
            log.warning("could not tell %s about an incident: %s", user, exc)

    async def permalink(self, channel: str, ts: str) -> str | None:
        return await self.client.permalink(channel, ts)
