"""Every Slack message an outbox row posts goes out once, also when the bot crashed mid-send.

The window this closes: Slack accepted ``chat.postMessage``, and the bot died (or the answer was
lost on the way) before the row was marked sent. The row's next attempt would post it again.

So every post an outbox handler makes goes through :meth:`RowPosts.post`, which stamps the message
with the row's key in Slack message metadata (``event_type`` ``watchstander_outbox``, payload
``{"key": "<outbox key>"}``; a handler that posts several messages for one row names each one's
``part``, which is added to the key). The first attempt of a row just posts, at no extra cost. A
retry — the row was claimed before, which the dispatcher counts when it claims (``attempts > 1``)
— first looks the key up among the channel's latest messages (``conversations.history``) or the
thread's replies (``conversations.replies``), and if the message is there, takes its ``ts`` and
posts nothing.

Looking up takes the channel's id, while the config may name channels. :class:`ChannelIds`
learns each name's id from Slack's answers to the bot's own posts and keeps it in the database
(``known_channels``), so no channel listing (and no ``channels:read`` scope) is needed. A retry
to a name whose id was never learned (the very first post to that channel crashed) cannot look
first: it posts, learns the id from the answer, looks, and if the earlier message is there deletes
the new copy at once — the channel ends with one message.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TypedDict, Unpack

from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.db import transaction
from bot.metrics import Metrics
from bot.outbox import KnownChannel, OutboxMessage
from bot.slack.client import SlackClient
from bot.slack.errors import NotInChannel, SlackError
from bot.slack.ids import METADATA_OUTBOX, Metadata

log = logging.getLogger(__name__)

PAGE = 200        # messages per history page
MAX_PAGES = 5     # how far back a retry looks: the post went out shortly before the crash
_CONVERSATION_ID = re.compile(r"^[CGD][A-Z0-9]{6,}$")


class PostContent(TypedDict, total=False):
    """chat.postMessage's content arguments, as the senders pass them on."""

    text: str
    blocks: list[dict[str, object]]
    unfurl_links: bool
    unfurl_media: bool


def outbox_metadata(key: str) -> Metadata:
    return {"event_type": METADATA_OUTBOX, "event_payload": {"key": key}}


def is_conversation_id(ref: str) -> bool:
    return bool(_CONVERSATION_ID.match(ref))


class ChannelIds:
    """Channel names (as the config writes them) to ids, learned from Slack's answers to our posts."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock
        self._known: dict[str, str] = {}

    @staticmethod
    def _name(ref: str) -> str:
        return ref.strip().removeprefix("#")

    async def resolve(self, ref: str) -> str | None:
        """The id of ``ref`` (an id already, or a name the bot has posted to); None if never learned."""
        if is_conversation_id(ref):
            return ref
        name = self._name(ref)
        if name not in self._known:
            async with self._sessions() as s:
                row = await s.get(KnownChannel, name)
            if row is None:
                return None
            self._known[name] = row.channel_id
        return self._known[name]

    async def learn(self, ref: str, channel_id: str) -> None:
        """Remember what Slack said ``ref`` is; one small write per channel and process at most."""
        name = self._name(ref)
        if is_conversation_id(ref) or self._known.get(name) == channel_id:
            return
        try:
            async with transaction(self._sessions) as s:
                row = await s.get(KnownChannel, name)
                if row is None:
                    s.add(KnownChannel(name=name, channel_id=channel_id, learned_at=self._clock.now()))
                elif row.channel_id != channel_id:  # the name now belongs to another channel
                    row.channel_id, row.learned_at = channel_id, self._clock.now()
        except IntegrityError:  # another replica learned it at the same moment
            pass
        except SQLAlchemyError as exc:  # the post went out; not knowing the id only costs a later lookup
            log.warning("could not remember the id of channel #%s: %s", name, type(exc).__name__)
            return
        self._known[name] = channel_id


@dataclass(frozen=True)
class Posted:
    channel: str   # the conversation's id
    ts: str
    found: bool    # an earlier attempt had posted it: nothing was sent this time


def _is(message: Mapping[str, object], metadata: Metadata) -> bool:
    """Whether ``message`` (as conversations.history returns it) carries exactly ``metadata``."""
    meta = message.get("metadata")
    return bool(isinstance(meta, Mapping) and meta.get("event_type") == metadata["event_type"]
                and meta.get("event_payload") == metadata["event_payload"])


class OwnPosts:
    """Posts that go out once: each carries what it is in its message metadata, and a retry looks
    for it before posting. The alert messages, storm messages, page DMs and every outbox post use it."""

    def __init__(self, slack: SlackClient, channels: ChannelIds) -> None:
        self.slack = slack
        self.channels = channels

    async def post(self, channel: str, *, metadata: Metadata, retried: bool, thread_ts: str | None = None,
                   since: datetime | None = None, **content: Unpack[PostContent]) -> Posted:
        """chat.postMessage stamped with ``metadata``; when ``retried``, only if it is not out already.

        ``since``: the message cannot be older than this (its history is read from there on).
        """
        channel_id = await self.channels.resolve(channel) if retried else None
        if channel_id is not None and (ts := await self.find(channel_id, metadata, thread_ts=thread_ts, since=since)):
            log.info("message %s was already in Slack (%s); not posting it again", _name(metadata), ts)
            return Posted(channel_id, ts, found=True)
        resp = await self.slack.post(channel, metadata=metadata, thread_ts=thread_ts or None, **content)
        posted = Posted(str(resp["channel"]), str(resp["ts"]), found=False)
        await self.channels.learn(channel, posted.channel)
        if retried and channel_id is None:
            # The channel's id was not known yet (its first post crashed), so looking had to wait for
            # this answer: if the earlier attempt's message is there, keep it and delete this one.
            ts = await self.find(posted.channel, metadata, thread_ts=thread_ts, since=since)
            if ts and ts != posted.ts:
                return Posted(posted.channel, ts, found=True)
        return posted

    async def find(self, channel_id: str, metadata: Metadata, *, thread_ts: str | None = None,
                   since: datetime | None = None) -> str | None:
        """The ts of our message carrying ``metadata`` in the conversation (or the thread ``thread_ts``).

        Should there be more than one (a crash while this was being repaired), the oldest is kept and
        the others are deleted: they are the bot's own copies of the same message.
        """
        try:
            found = await self._search(channel_id, metadata, thread_ts, since)
        except NotInChannel:  # posted with chat:write.public, so never a member: join to read (public only)
            await self.slack.conversations_join(channel=channel_id)
            found = await self._search(channel_id, metadata, thread_ts, since)
        except SlackError as exc:
            if exc.transient:
                raise  # try again later rather than risk a second post
            log.warning("cannot look for message %s in %s before posting again: %s", _name(metadata), channel_id, exc)
            return None
        if not found:
            return None
        keep, *copies = sorted(found, key=float)
        for ts in copies:
            try:
                await self.slack.chat_delete(channel=channel_id, ts=ts)
                log.info("message %s was in Slack twice; deleted the later copy %s", _name(metadata), ts)
            except SlackError as exc:
                log.warning("message %s is in Slack twice; could not delete the copy %s: %s", _name(metadata), ts, exc)
        return keep

    async def _search(self, channel_id: str, metadata: Metadata, thread_ts: str | None,
                      since: datetime | None) -> list[str]:
        found: list[str] = []
        cursor: str | None = None
        oldest = str(since.timestamp() - 60) if since is not None else None  # a minute of leeway for clocks apart
        for _ in range(MAX_PAGES):
            # None arguments are left out of the request by slack_sdk
            resp = await (self.slack.conversations_replies(channel=channel_id, ts=thread_ts, limit=PAGE,
                                                           include_all_metadata=True, oldest=oldest, cursor=cursor)
                          if thread_ts else
                          self.slack.conversations_history(channel=channel_id, limit=PAGE, include_all_metadata=True,
                                                           oldest=oldest, cursor=cursor))
            messages = resp.get("messages") or []
            found += [str(m["ts"]) for m in messages if _is(m, metadata)]
            cursor = (resp.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
        return found


def _name(metadata: Metadata) -> str:
    return f"{metadata['event_type']} {metadata['event_payload']}"


class Once:
    """Builds each outbox row's :class:`RowPosts`; one per dispatcher, shared by every outbox handler."""

    def __init__(self, slack: SlackClient, channels: ChannelIds, metrics: Metrics) -> None:
        self.slack = slack
        self.own = OwnPosts(slack, channels)
        self._metrics = metrics

    def row(self, item: OutboxMessage) -> RowPosts:
        # attempts is counted when the row is claimed: above 1, an earlier attempt may have posted.
        return RowPosts(self, item.key, retried=item.attempts > 1)

    def sent(self, what: str | None) -> None:
        if what:
            self._metrics.notifications.labels("slack", what).inc()


class RowPosts:
    """The posts of one attempt at one outbox row."""

    def __init__(self, once: Once, key: str, *, retried: bool) -> None:
        self._once = once
        self.key = key
        self.retried = retried

    async def post(self, channel: str, *, part: str = "", what: str | None = None, thread_ts: str | None = None,
                   **content: Unpack[PostContent]) -> Posted:
        """chat.postMessage, stamped with this row's key (and ``part``); on a retry, only if not already out.

        ``what`` labels the notifications metric; ``content`` is chat.postMessage's text, blocks…
        """
        key = f"{self.key}#{part}" if part else self.key
        posted = await self._once.own.post(channel, metadata=outbox_metadata(key), retried=self.retried,
                                           thread_ts=thread_ts, **content)
        if not posted.found:
            self._once.sent(what)
        return posted
