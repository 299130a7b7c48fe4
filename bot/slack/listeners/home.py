"""The App Home tab, rebuilt each time someone opens it (``app_home_opened`` → ``views.publish``).

Open incidents appear once the incidents feature registers its open-items provider
(:data:`bot.oncall.open_items.OPEN_ITEMS_KEY`); nothing here knows about incidents.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from bot.oncall.open_items import OpenItemsQuery, gather_open_items, providers_from
from bot.oncall.who import all_statuses, next_shift_of
from bot.services import Services
from bot.slack.blocks.home import HomeContent, home_view
from bot.slack.errors import SlackError
from bot.slack.listeners.shapes import AppHomeOpened, read
from bot.slack.user_zones import user_zones

if TYPE_CHECKING:
    from bot.slack.app import Listeners

log = logging.getLogger(__name__)


async def publish_home(svc: Services, user: str) -> None:
    now = svc.clock.now()
    zone = await user_zones(svc).zone(user)
    async with svc.sessions() as s:
        statuses = await all_statuses(s, svc.schedules, now)
        next_shift = await next_shift_of(s, svc.schedules, user, now)
        on_call_for = frozenset(st.team.name for st in statuses
                                if user in {sh.person for sh in (st.primary, st.backup) if sh is not None})
        items = await gather_open_items(s, providers_from(svc.extras), OpenItemsQuery(teams=on_call_for, person=user))
    view = home_view(HomeContent(viewer=user, statuses=statuses, next_shift=next_shift, items=items, zone=zone,
                                 now=now, base_url=svc.settings.base_public_url))
    try:
        await svc.slack.views_publish(user_id=user, view=view.to_dict())
    except SlackError as exc:
        log.warning("could not publish the App Home for %s: %s", user, exc.code)


def register(app: Listeners, svc: Services) -> None:
    async def on_home_opened(event: dict[str, Any]) -> None:
        opened = await read(AppHomeOpened, event, "app_home_opened event")
        if opened is None or opened.tab != "home":
            return
        await publish_home(svc, opened.user)

    app.event("app_home_opened")(on_home_opened)
