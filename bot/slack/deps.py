"""What the Slack listeners need, typed, and how a listener gets it.

Listeners are module-level functions in Bolt's style: Bolt passes ``ack``, ``body``, ``respond``,
``client``, ``context``… by parameter name. The bot's own parts (database sessions, clock, the
incident kit, the escalation engine's inputs) are not Bolt's to know, so :func:`build_bolt_app`
builds one :class:`SlackDeps` at start-up and installs :func:`provide` as a Bolt middleware that
puts it in every request's context. A listener takes ``context: AsyncBoltContext`` and reads
``deps(context)``: one typed accessor, no string lookups in listener code, and every listener can
be imported, read and called on its own (a test can hand it a context holding any ``SlackDeps``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from slack_bolt.context.async_context import AsyncBoltContext
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.config import Config
from bot.escalation.engine import Paging
from bot.incidents.kit import IncidentKit
from bot.incidents.playbooks import Playbook
from bot.metrics import Metrics
from bot.oncall.open_items import OpenItemsProvider
from bot.oncall.schedule import Schedules
from bot.oncall.who import PersonZones
from bot.services import Services
from bot.slack.client import SlackClient
from bot.slack.incident_slack import IncidentSlack

_KEY = "watchstander_deps"  # the one context key; read only through deps()


@dataclass(frozen=True)
class SlackDeps:
    """The bot's parts a Slack listener may use."""

    config: Config
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    wake: Callable[[], None]  # tell the senders new work was committed
    slack: SlackClient
    incident_slack: IncidentSlack
    kit: IncidentKit
    playbooks: tuple[Playbook, ...]
    paging: Paging
    schedules: Schedules
    zones: PersonZones  # people's time zones as Slack knows them, cached
    open_items: tuple[OpenItemsProvider, ...]  # what the App Home lists, in order
    metrics: Metrics
    base_url: str  # the bot's public URL, for calendar links

    @property
    def names(self) -> dict[str, str]:
        """Slack user id → the person's name, from the config."""
        return {p.slack_id: p.name for p in self.config.people}

    @property
    def teams(self) -> list[str]:
        return [t.name for t in self.config.teams]

    @classmethod
    def of(cls, svc: Services, *, slack: SlackClient, paging: Paging) -> SlackDeps:
        return cls(config=svc.config, sessions=svc.sessions, clock=svc.clock, wake=svc.wake, slack=slack,
                   incident_slack=IncidentSlack(slack, svc.metrics), kit=svc.kit, playbooks=svc.kit.playbooks,
                   paging=paging, schedules=svc.schedules, zones=svc.zones, open_items=svc.open_items,
                   metrics=svc.metrics, base_url=svc.settings.base_public_url)


def provide(d: SlackDeps) -> Callable[[AsyncBoltContext, Callable[[], Awaitable[None]]], Awaitable[None]]:
    """A Bolt middleware that makes ``d`` available to every listener through :func:`deps`."""

    async def middleware(context: AsyncBoltContext, next: Callable[[], Awaitable[None]]) -> None:
        context[_KEY] = d
        await next()

    return middleware


def deps(context: AsyncBoltContext) -> SlackDeps:
    d = context[_KEY]
    if not isinstance(d, SlackDeps):  # only provide() writes this key
        raise TypeError(f"the Slack context holds no SlackDeps (found {type(d).__name__})")
    return d
