"""The running bot's parts, built once by the composition root (``bot.app``) and passed down."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.config import Config, Settings
from bot.metrics import Metrics


@dataclass
class Services:
    settings: Settings
    config: Config
    clock: Clock
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    metrics: Metrics
    # Filled by bot.app: kept as Any here so the domain-facing container imports no Slack code.
    schedules: Any = None  # bot.oncall.schedule.Schedules
    writer: Any = None  # bot.alerts.writer.IngestWriter
    playbooks: tuple[Any, ...] = ()  # bot.incidents.playbooks.Playbook, loaded at start
    slack: Any = None
    dispatcher: Any = None
    escalation: Any = None  # bot.notify.paging.PagingService: the escalation runner and page senders
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def names(self) -> dict[str, str]:
        return {p.slack_id: p.name for p in self.config.people}

    def wake(self) -> None:
        """Tell the senders that new work was committed."""
        if self.dispatcher is not None:
            self.dispatcher.wake()
        if self.escalation is not None:  # new deadlines (an alert to page for, a snooze) may be earlier
            self.escalation.wake()
