"""People's time zones as Slack knows them (``users.info``), cached, with the config as fallback.

"until fri 18:00" must mean Friday 18:00 where the person typing it is, and the answer should show
times in their zone. Slack knows that zone better than the config (people travel and Slack
follows the device), but a ``users.info`` round trip per command would eat into the one-second
answer, so results are kept for :data:`TTL`. When Slack cannot say (error, slow, unknown zone),
the person's configured ``timezone`` is used, then the config's.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.clock import Clock
from bot.config import Config
from bot.oncall.who import person_zone
from bot.slack.client import SlackClient
from bot.slack.errors import SlackError

log = logging.getLogger(__name__)

TTL = timedelta(hours=6)
RETRY_AFTER_FAILURE = timedelta(minutes=5)
LOOKUP_TIMEOUT = 1.5  # seconds; past this the configured zone answers instead


class UserZones:
    def __init__(self, client: SlackClient, clock: Clock, config: Config, *, ttl: timedelta = TTL) -> None:
        self._client = client
        self._clock = clock
        self._config = config
        self._ttl = ttl
        self._cache: dict[str, tuple[ZoneInfo, datetime]] = {}

    def known(self, user_id: str) -> ZoneInfo:
        """Without a network call: the cached Slack zone, else the configured one."""
        cached = self._cache.get(user_id)
        return cached[0] if cached else person_zone(self._config, user_id)

    async def zone(self, user_id: str) -> ZoneInfo:
        now = self._clock.now()
        cached = self._cache.get(user_id)
        if cached and cached[1] > now:
            return cached[0]
        zone = await self._lookup(user_id)
        if zone is None:
            zone = person_zone(self._config, user_id)
            self._cache[user_id] = (zone, now + RETRY_AFTER_FAILURE)
        else:
            self._cache[user_id] = (zone, now + self._ttl)
        return zone

    async def _lookup(self, user_id: str) -> ZoneInfo | None:
        try:
            resp = await asyncio.wait_for(self._client.users_info(user=user_id), LOOKUP_TIMEOUT)
        except (SlackError, TimeoutError) as exc:  # TimeoutError: our own wait, not the client's
            log.info("users.info failed for %s (%s); using the configured zone", user_id, type(exc).__name__)
            return None
        tz = (resp.get("user") or {}).get("tz")
        if not tz:
            return None
        try:
            return ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            return None
