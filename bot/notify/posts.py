"""Plain Slack posts from the outbox: a message to a channel, or a DM to a person.

Any feature that must tell someone something durably (handoffs, override announcements,
escalation DMs) writes an outbox row in the same transaction as its change and lets these
handlers send it. Payloads (:class:`~bot.outbox.ChannelPost`, :class:`~bot.outbox.DirectMessage`)
are built by the feature with its ``bot.slack.blocks`` builder (``Rendered.post()``, ``.dm()``). The
handler's result, stored on the row, is ``{"channel": "<id>", "ts": "<ts>"}`` so a later step can
thread under or edit the message. Slack errors are :class:`~bot.slack.errors.SlackError`, which
the dispatcher retries (transient ones longer) and finally marks failed. Posts go through
:mod:`bot.notify.once`, so a retry after a crash finds the message instead of posting it twice.
"""

from __future__ import annotations

from bot.notify.dispatch import Dispatcher
from bot.notify.once import Once, PostContent
from bot.outbox import ChannelPost, DirectMessage, OutboxKind, OutboxMessage, SlackContent

CHANNEL_POST = OutboxKind.CHANNEL_POST
DM = OutboxKind.DM


class SlackPoster:
    def __init__(self, once: Once) -> None:
        self._once = once

    async def channel_post(self, item: OutboxMessage) -> dict[str, object]:
        p = ChannelPost.of(item)
        posted = await self._once.row(item).post(p.channel, thread_ts=p.thread_ts or None,
                                                 what=p.what or CHANNEL_POST, **_content(p))
        return {"channel": posted.channel, "ts": posted.ts}

    async def dm(self, item: OutboxMessage) -> dict[str, object]:
        p = DirectMessage.of(item)
        opened = await self._once.slack.conversations_open(users=p.user)
        posted = await self._once.row(item).post(opened["channel"]["id"], what=p.what or DM, **_content(p))
        return {"channel": posted.channel, "ts": posted.ts}


def _content(payload: SlackContent) -> PostContent:
    args: PostContent = {"text": payload.text, "unfurl_links": False, "unfurl_media": False}
    if payload.blocks:
        args["blocks"] = payload.blocks
    return args


def register_post_handlers(dispatcher: Dispatcher) -> SlackPoster:
    poster = SlackPoster(dispatcher.once)
    dispatcher.handlers[CHANNEL_POST] = poster.channel_post
    dispatcher.handlers[DM] = poster.dm
    return poster
