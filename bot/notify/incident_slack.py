"""The Slack calls the incident handlers make, with Slack's errors as typed exceptions."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.metrics import Metrics
from bot.slack.client import SlackCaller, SlackError

log = logging.getLogger(__name__)


class IncidentSlack:
    def __init__(self, client: AsyncWebClient, metrics: Metrics) -> None:
        self.client = client
        self._metrics = metrics
        self._slack = SlackCaller(client, metrics.slack_errors)

    async def call(self, method: str, **kwargs: Any) -> Any:
        return await self._slack.call(method, **kwargs)

    async def post(self, channel: str, *, text: str, what: str, **kwargs: Any) -> Any:
        """chat.postMessage; joins a public channel the bot is not in (``incidents_channel``)."""
        args = {"text": text, "unfurl_links": False, "unfurl_media": False, **kwargs}
        resp = await self._slack.post(channel, **args)
        self._metrics.notifications.labels("slack", what).inc()
        return resp

    async def tell(self, user: str, text: str, *, channel: str | None = None) -> None:
        """Something only ``user`` needs to see: ephemeral in ``channel``, else a DM. Never raises,
        because it reports on work that is already done."""
        if channel:
            try:
                await self.call("chat_postEphemeral", channel=channel, user=user, text=text)
                return
            except SlackError as exc:
                log.info("ephemeral to %s in %s failed (%s); sending a DM", user, channel, exc.code)
        try:
            opened = await self.call("conversations_open", users=user)
            await self.post(opened["channel"]["id"], text=text, what="incident_dm")
        except SlackError as exc:
            log.warning("could not tell %s about an incident: %s", user, exc)

    async def permalink(self, channel: str, ts: str) -> str | None:
        try:
            resp = await self.call("chat_getPermalink", channel=channel, message_ts=ts)
        except SlackError:
            return None
        link = resp.get("permalink")
        return str(link) if link else None
