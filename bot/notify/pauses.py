"""Channels Slack is rate limiting, until when.

Slack's limit (about one message per second per channel) is per app, not per process: when Slack
answers one replica with ``429 Retry-After``, the others would be refused too. So a refusal is kept
in the database (:class:`~bot.alerts.models.ChannelPause`) as well as here; every replica folds the
channel's new alerts into its storm until it has passed, instead of each learning it from a 429
of its own and posting alerts one by one in between.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.alerts.models import ChannelPause
from bot.db import transaction, upsert


class ChannelPauses:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._until: dict[str, datetime] = {}  # what this process knows; the database may know later

    def until(self, channel: str, now: datetime) -> datetime | None:
        """When the channel may be posted to again, as last seen; None if it may be now."""
        until = self._until.get(channel)
        return until if until is not None and until > now else None

    async def load(self, channel: str, now: datetime) -> datetime | None:
        """Like :meth:`until`, after reading what other replicas were told by Slack."""
        async with self._sessions() as s:
            stored = await s.scalar(select(ChannelPause.until).where(ChannelPause.channel == channel))
        known = self._until.get(channel)
        if stored is not None and (known is None or stored > known):
            self._until[channel] = stored
        return self.until(channel, now)

    async def pause(self, channel: str, until: datetime) -> None:
        """Slack refused a call for ``channel`` until ``until``: every replica waits that long."""
        known = self._until.get(channel)
        if known is not None and known >= until:
            return  # already paused at least as long
        self._until[channel] = until
        async with transaction(self._sessions) as s:
            stmt = upsert(s, ChannelPause).values(channel=channel, until=until)
            await s.execute(stmt.on_conflict_do_update(
                index_elements=[ChannelPause.channel],
                set_={"until": case((ChannelPause.until > stmt.excluded.until, ChannelPause.until),
                                    else_=stmt.excluded.until)}))
