"""The App Home tab, rebuilt each time someone opens it (``app_home_opened`` → ``views.publish``).

What it lists besides who is on call comes from the open-items providers the composition root
chose (open alerts, open incidents); nothing here knows about incidents.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncBoltContext

from bot.oncall.open_items import OpenItemsQuery, gather_open_items
from bot.oncall.who import all_statuses, next_shift_of
from bot.slack.blocks.home import HomeContent, home_view
from bot.slack.deps import SlackDeps, deps
from bot.slack.errors import SlackError
from bot.slack.listeners.shapes import AppHomeOpened, read

log = logging.getLogger(__name__)


async def publish_home(d: SlackDeps, user: str) -> None:
    now = d.clock.now()
    zone = await d.zones.zone(user)
    async with d.sessions() as s:
        statuses = await all_statuses(s, d.schedules, now)
        next_shift = await next_shift_of(s, d.schedules, user, now)
        on_call_for = frozenset(st.team.name for st in statuses
                                if user in {sh.person for sh in (st.primary, st.backup) if sh is not None})
        items = await gather_open_items(s, d.open_items, OpenItemsQuery(teams=on_call_for, person=user))
    view = home_view(HomeContent(viewer=user, statuses=statuses, next_shift=next_shift, items=items, zone=zone,
                                 now=now, base_url=d.base_url))
    try:
        await d.slack.views_publish(user_id=user, view=view.to_dict())
    except SlackError as exc:
        log.warning("could not publish the App Home for %s: %s", user, exc.code)


async def on_home_opened(event: dict[str, Any], context: AsyncBoltContext) -> None:
    opened = await read(AppHomeOpened, event, "app_home_opened event")
    if opened is None or opened.tab != "home":
        return
    await publish_home(deps(context), opened.user)
