"""Slack pages: a DM with the alert and its buttons, or an ``@here`` call for help in the team channel.

Each post carries the page id in its message metadata, so a retry after a crash finds the
message it already sent (:class:`~bot.notify.once.OwnPosts`) instead of paging the person twice.
"""

from __future__ import annotations

from bot.clock import Clock
from bot.escalation.models import Via
from bot.notify.dispatch import RenderContext
from bot.notify.once import OwnPosts
from bot.notify.page_sender import PageDelivery, PageRefused, Sent
from bot.slack.blocks.escalation import channel_page, page_dm, page_metadata
from bot.slack.errors import SlackError


class SlackNotifier:
    def __init__(self, own: OwnPosts, clock: Clock, render: RenderContext) -> None:
        self._own = own
        self._slack = own.slack
        self._clock = clock
        self._render = render
        self._dm_channels: dict[str, str] = {}

    async def send(self, delivery: PageDelivery) -> Sent:
        try:
            if delivery.page.via == Via.CHANNEL:
                return await self._call_for_help(delivery)
            return await self._dm(delivery)
        except SlackError as exc:
            if exc.transient:
                raise
            raise PageRefused(exc.code) from None

    async def _dm(self, delivery: PageDelivery) -> Sent:
        person = delivery.page.person
        assert person is not None
        channel = self._dm_channels.get(person)
        if channel is None:
            opened = await self._slack.conversations_open(users=person)
            channel = self._dm_channels[person] = str(opened["channel"]["id"])
        text, blocks = page_dm(self._render.message(delivery.alert), delivery.page)
        return await self._post(delivery, channel, text=text, blocks=[b.to_dict() for b in blocks])

    async def _call_for_help(self, delivery: PageDelivery) -> Sent:
        group, shown = delivery.group, delivery.shown_in
        assert shown is not None
        permalink = await self._slack.permalink(shown.channel_id, shown.ts)  # the call for help matters more
        text, blocks = channel_page(self._render.message(delivery.alert), waited=self._clock.now() - group.created_at, permalink=permalink,
                                    in_storm=shown.storm)
        return await self._post(delivery, shown.channel_id, text=text, blocks=[b.to_dict() for b in blocks])

    async def _post(self, delivery: PageDelivery, channel: str, *, text: str, blocks: list[dict[str, object]]) -> Sent:
        posted = await self._own.post(channel, metadata=page_metadata(delivery.page.id), retried=delivery.retried,
                                      text=text, blocks=blocks, unfurl_links=False, unfurl_media=False)
        return Sent(f"{posted.channel}:{posted.ts}")
