"""The domain-facing parts every edge shares, built once by the composition root (``bot.app``).

Only what the web routes, the Slack listeners and the jobs all use lives here, each typed. What
only one edge needs is handed to it directly by ``bot.app``: the Slack clients, the outbox
dispatcher and the paging service are constructor arguments, and the aiohttp routes read theirs
from typed ``web.AppKey``s. Nothing here imports Slack, aiohttp or Twilio.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.alerts.writer import IngestWriter
from bot.clock import Clock
from bot.config import Config, Settings
from bot.incidents.kit import IncidentKit
from bot.metrics import Metrics
from bot.oncall.open_items import OpenItemsProvider
from bot.oncall.schedule import Schedules
from bot.oncall.who import PersonZones


@dataclass(frozen=True)
class Services:
    settings: Settings
    config: Config
    clock: Clock
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    metrics: Metrics
    schedules: Schedules
    writer: IngestWriter
    kit: IncidentKit  # the incident policy, playbooks and post-mortem template, checked at start
    zones: PersonZones  # people's time zones (Slack's, cached; the config's as fallback)
    open_items: tuple[OpenItemsProvider, ...]  # what a handoff DM and the App Home list, in order
    wake: Callable[[], None]  # tell the senders (dispatcher, escalation runner) new work was committed

    @property
    def names(self) -> dict[str, str]:
        return {p.slack_id: p.name for p in self.config.people}
