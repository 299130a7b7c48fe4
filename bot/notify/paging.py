"""Paging, assembled: the escalation runner, the page senders and the notifiers behind them.

Built once by the composition root (``bot.app``) and kept as ``Services.escalation``; the app's
lifecycle calls :meth:`PagingService.start` (the Twilio client needs the running loop; the runner
runs as a task next to the dispatcher) and :meth:`PagingService.close`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from bot.db import idle_poll_seconds
from bot.escalation.engine import Paging
from bot.escalation.models import Via
from bot.escalation.runner import EscalationRunner
from bot.inflight import finish
from bot.notify.dispatch import Dispatcher, RenderContext
from bot.notify.once import OwnPosts
from bot.notify.page_call import CallNotifier
from bot.notify.page_group import GroupNotifier
from bot.notify.page_sender import Notifier, PageSender
from bot.notify.page_slack import SlackNotifier
from bot.notify.page_sms import SmsNotifier
from bot.notify.usergroups import UserGroups
from bot.services import Services
from bot.slack.client import SlackClient

STOP_TIMEOUT = 10.0  # seconds to let a pass in progress finish at shutdown


@dataclass
class PagingService:
    paging: Paging
    runner: EscalationRunner
    sms: SmsNotifier
    _task: asyncio.Task[None] | None = field(default=None, repr=False)

    def wake(self) -> None:
        self.runner.wake()

    async def run_due(self) -> int:
        return await self.runner.run_due()

    async def start(self, *, background: bool = True) -> None:
        """Open the Twilio client (SMS and calls share it) and, unless tests drive it with ``drain()``, start the runner."""
        await self.sms.start()
        if background:
            self._task = asyncio.create_task(self.runner.run(), name="escalation")

    async def close(self) -> None:
        if self._task is not None:
            self.runner.stop()
            await finish(self._task, STOP_TIMEOUT)
            self._task = None
        await self.sms.close()


def build_paging(svc: Services, dispatcher: Dispatcher, slack: SlackClient, render: RenderContext,
                 email: Notifier) -> PagingService:
    """Wire escalation into the services: runner, outbox handlers
    ``page_slack|page_sms|page_call|page_channel|page_email|page_group``."""
    paging = Paging(config=svc.config, schedules=svc.schedules, sms_enabled=svc.settings.twilio_configured,
                    email_enabled=svc.settings.email_configured,
                    calls_enabled=svc.settings.twilio_configured and bool(svc.settings.public_url))
    runner = EscalationRunner(sessions=svc.sessions, clock=svc.clock, paging=paging, notify=dispatcher.wake,
                              registry=svc.metrics.registry, poll_seconds=idle_poll_seconds(svc.sessions))
    own = OwnPosts(slack, dispatcher.channel_ids)
    notifier = SlackNotifier(own, svc.clock, render)
    groups = GroupNotifier(own, UserGroups(slack), render, config=svc.config, sessions=svc.sessions, wake=svc.wake)
    sms = SmsNotifier(svc.settings)
    call = CallNotifier(svc.settings, sms, svc.sessions)
    sender = PageSender(sessions=svc.sessions, clock=svc.clock, config=svc.config, metrics=svc.metrics,
                        notifiers={Via.SLACK: notifier, Via.CHANNEL: notifier, Via.SMS: sms, Via.EMAIL: email,
                                   Via.GROUP: groups, Via.CALL: call},
                        wake=dispatcher.wake)
    sender.register(dispatcher)
    call.register(dispatcher)  # "call_cancel": a call still ringing when its alert is settled stops
    return PagingService(paging=paging, runner=runner, sms=sms)
