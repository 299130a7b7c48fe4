"""Plain Slack posts from the outbox: a message to a channel, or a DM to a person.

Any feature that must tell someone something durably (handoffs, override announcements,
escalation DMs) writes an outbox row in the same transaction as its change and lets these
handlers send it. Payloads (:class:`~bot.outbox.ChannelPost`, :class:`~bot.outbox.DirectMessage`)
are built by the feature with its ``bot.slack.blocks`` builder (``Rendered.post()``, ``.dm()``). The
handler's result, stored on the row, is ``{"channel": "<id>", "ts": "<ts>"}`` so a later step can
thread under or edit the message. Slack errors are :class:`~bot.slack.errors.SlackError`, which
the dispatcher retries (transient ones longer) and finally marks failed.
"""

from __future__ import annotations

from typing import Any

from bot.metrics import Metrics
from bot.notify.dispatch import Dispatcher
from bot.outbox import ChannelPost, DirectMessage, OutboxKind, OutboxMessage, SlackContent
from bot.slack.client import SlackClient

CHANNEL_POST = OutboxKind.CHANNEL_POST
DM = OutboxKind.DM


class SlackPoster:
    def __init__(self, client: SlackClient, metrics: Metrics) -> None:
        self._slack = client
        self._metrics = metrics

    async def channel_post(self, item: OutboxMessage) -> dict[str, Any]:
        p = ChannelPost.of(item)
        args = _content(p)
        if p.thread_ts:
            args["thread_ts"] = p.thread_ts
        resp = await self._slack.post(p.channel, **args)
        self._metrics.notifications.labels("slack", p.what or CHANNEL_POST).inc()
        return {"channel": resp["channel"], "ts": resp["ts"]}

    async def dm(self, item: OutboxMessage) -> dict[str, Any]:
        p = DirectMessage.of(item)
        opened = await self._slack.conversations_open(users=p.user)
        channel = opened["channel"]["id"]
        resp = await self._slack.chat_postMessage(channel=channel, **_content(p))
        self._metrics.notifications.labels("slack", p.what or DM).inc()
        return {"channel": resp["channel"], "ts": resp["ts"]}


def _content(payload: SlackContent) -> dict[str, Any]:
    args: dict[str, Any] = {"text": payload.text, "unfurl_links": False, "unfurl_media": False}
    if payload.blocks:
        args["blocks"] = payload.blocks
    return args


def register_post_handlers(dispatcher: Dispatcher, client: SlackClient, metrics: Metrics) -> SlackPoster:
    poster = SlackPoster(client, metrics)
    dispatcher.handlers[CHANNEL_POST] = poster.channel_post
    dispatcher.handlers[DM] = poster.dm
    return poster
