"""Pages to a Slack user group (``slack:@handle``): its mention in the alert's thread, and DMs to
its members when the bot does not know them itself.

When the handle is a team's ``slack_handle``, its members are that team's on-call, which the
escalation step already paged by DM (``bot.escalation.targets``); here only the mention is posted.
For any other handle the members are read from Slack now (``usergroups.users.list``) and each is
given a Slack DM page of their own, created in one transaction with the step's number, round and
time; a retry finds those pages and creates none twice. The mention itself carries the page id in
its metadata, like every page post (:class:`~bot.notify.once.OwnPosts`), so a crash never posts it twice.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.alerts.models import AlertGroup
from bot.config import Config
from bot.db import transaction
from bot.escalation.models import PageRecord, Via
from bot.escalation.pages import create_page
from bot.escalation.targets import Recipient
from bot.notify.dispatch import RenderContext
from bot.notify.once import OwnPosts
from bot.notify.page_sender import PageDelivery, PageRefused, Sent
from bot.notify.usergroups import UserGroups
from bot.slack.blocks.escalation import group_page, page_metadata
from bot.slack.errors import SlackError


class GroupNotifier:
    def __init__(self, own: OwnPosts, groups: UserGroups, render: RenderContext, *, config: Config,
                 sessions: async_sessionmaker[AsyncSession], wake: Callable[[], None]) -> None:
        self._own = own
        self._groups = groups
        self._render = render
        self._config = config
        self._sessions = sessions
        self._wake = wake

    async def send(self, delivery: PageDelivery) -> Sent:
        handle = delivery.page.address or ""
        shown = delivery.shown_in
        assert shown is not None  # the sender defers a group page until the alert is shown
        try:
            group = await self._groups.find(handle)
            if group is None:
                raise PageRefused("usergroup_not_found")
            if self._config.team_of_handle(handle) is None:
                await self._page_members(delivery.page, await self._groups.members(group.id))
            text, blocks = group_page(self._render.message(delivery.alert), delivery.page, usergroup_id=group.id)
            posted = await self._own.post(shown.channel_id, metadata=page_metadata(delivery.page.id),
                                          retried=delivery.retried, thread_ts=shown.ts, text=text,
                                          blocks=[b.to_dict() for b in blocks], unfurl_links=False,
                                          unfurl_media=False)
        except SlackError as exc:
            if exc.transient:
                raise
            raise PageRefused(exc.code) from None
        return Sent(f"{posted.channel}:{posted.ts}")

    async def _page_members(self, page: PageRecord, members: list[str]) -> None:
        """A Slack DM page per member, at the group page's step and time; none twice."""
        async with transaction(self._sessions) as s:
            already = set(await s.scalars(select(PageRecord.person).where(
                PageRecord.group_id == page.group_id, PageRecord.via == Via.SLACK, PageRecord.step == page.step,
                PageRecord.round == page.round, PageRecord.created_at == page.created_at)))
            group = await s.get_one(AlertGroup, page.group_id)
            for person in dict.fromkeys(members):
                if person not in already:
                    await create_page(s, group, Recipient(person, Via.SLACK), page.created_at, step=page.step,
                                      round_=page.round, requested_by=page.requested_by)
        self._wake()
