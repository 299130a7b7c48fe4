"""The Bolt app: request verification, retry dedup, and every listener, registered here in one place
(:func:`register_listeners`): which function answers each command, click, form and event."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp, AsyncBoltContext, AsyncRespond
from slack_bolt.response import BoltResponse
from slack_sdk.webhook import WebhookResponse

from bot.db import transaction
from bot.idempotency import first_time
from bot.inflight import Inflight
from bot.services import Services
from bot.slack.deps import SlackDeps, provide
from bot.slack.envelope import envelope_problem
from bot.slack.ids import AlertAction, Callback, Command, IncidentAction, IncidentModal, MeAction, SwapAction
from bot.slack.listeners import (
    alerts,
    escalation,
    home,
    incident,
    incident_actions,
    incident_messages,
    oncall,
    oncall_me,
    oncall_swap,
    reactions,
)

log = logging.getLogger(__name__)


class SafeRespond(AsyncRespond):
    """``respond()`` through the request's ``response_url``, which the request itself supplies: when it
    cannot be reached (not a URL Slack gave, gone, none at all) that is one line in the log, not a
    listener's traceback; the person simply sees no answer, as when Slack drops one."""

    async def __call__(self, *args: Any, **kwargs: Any) -> WebhookResponse:
        try:
            return await super().__call__(*args, **kwargs)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:  # ValueError: no response_url
            log.warning("could not answer through the request's response_url: %s", type(exc).__name__)
            return WebhookResponse(url=self.response_url or "", status_code=0, body="", headers={})


@dataclass
class Listeners:
    """What the app listens for, recorded as listeners register, so the manifests can be checked."""

    app: AsyncApp
    inflight: Inflight = field(default_factory=Inflight)
    events: set[str] = field(default_factory=set)
    event_types: set[str] = field(default_factory=set)  # the ``event.type`` values a listener handles
    commands: set[str] = field(default_factory=set)
    shortcuts: set[str] = field(default_factory=set)

    def event(self, name: str, *, subscriptions: tuple[str, ...] = ()) -> Any:
        """``subscriptions``: the manifest's bot_events when they differ from the event type
        (``message`` arrives through ``message.channels``, ``message.groups``…)."""
        self.events.update(subscriptions or (name,))
        self.event_types.add(name)
        return self._tracked(self.app.event(name))

    def command(self, name: str) -> Any:
        self.commands.add(name)
        return self._tracked(self.app.command(name))

    def shortcut(self, callback_id: str) -> Any:
        self.shortcuts.add(callback_id)
        return self._tracked(self.app.shortcut(callback_id))

    def action(self, constraint: Any) -> Any:
        return self._tracked(self.app.action(constraint))

    def view(self, constraint: Any) -> Any:
        return self._tracked(self.app.view(constraint))

    def _tracked(self, register: Callable[[Any], Any]) -> Callable[[Any], Any]:
        """Register the listener wrapped so ``Bot.drain()`` can wait for its after-ack work."""
        return lambda fn: register(self.inflight.track(fn))


def build_bolt_app(svc: Services, d: SlackDeps) -> tuple[AsyncApp, Listeners]:
    settings = svc.settings
    app = AsyncApp(
        client=d.slack,
        signing_secret=settings.slack_signing_secret or "socket-mode-unused",
        request_verification_enabled=not settings.socket_mode,
        process_before_response=False,
        raise_error_for_unhandled_request=False,
    )

    async def slack_shaped(body: dict[str, Any], next: Callable[[], Awaitable[None]]) -> BoltResponse | None:
        """A payload whose routing fields are not what Slack sends is a 400, before a listener runs.
        Over HTTP ``/slack/events`` has refused it already; this covers Socket Mode."""
        if problem := envelope_problem(body):
            log.warning("refused a signed Slack request that is not a Slack payload: %s", problem)
            return BoltResponse(status=400, body=json.dumps({"ok": False, "error": f"body: not a Slack payload ({problem})"}),
                                headers={"Content-Type": "application/json"})
        await next()
        return None

    async def safe_respond(context: AsyncBoltContext, next: Callable[[], Awaitable[None]]) -> None:
        context["respond"] = SafeRespond(response_url=context.response_url)
        await next()

    async def once_per_event(body: dict[str, Any], next: Callable[[], Awaitable[None]]) -> BoltResponse | None:
        """Slack retries an event it thinks we missed (X-Slack-Retry-Num); act on each event id once.
        An event no listener handles is not recorded: Bolt answers it 404 and nothing is stored."""
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id and body["event"]["type"] in listeners.event_types:
            async with transaction(svc.sessions) as s:
                if not await first_time(s, f"slack-event:{event_id}", svc.clock.now()):
                    return BoltResponse(status=200, body="")
        await next()
        return None

    async def on_error(error: Exception, body: dict[str, Any]) -> None:
        kind = body.get("type") or body.get("command") or "request"
        log.error("Slack listener failed for %s", kind, exc_info=error)

    app.middleware(slack_shaped)  # first: nothing is recorded for a payload that is refused
    app.middleware(safe_respond)
    app.middleware(once_per_event)
    app.middleware(provide(d))  # what listeners read through deps(context)
    app.error(on_error)
    listeners = Listeners(app)
    register_listeners(listeners)
    return app, listeners


def register_listeners(app: Listeners) -> None:
    """Every listener of the bot. Bolt runs only the first listener that matches, so each command,
    action, view and event appears once; a listener serving several (``reaction_added``) fans out."""
    # slash commands: each family's module lists its subcommands
    app.command(Command.ONCALL)(oncall.on_oncall)
    app.command(Command.INCIDENT)(incident.on_incident)
    # shift swaps: the request DM's buttons (`/oncall swap` is in the /oncall table)
    app.action(SwapAction.ACCEPT)(oncall_swap.on_swap_button)
    app.action(SwapAction.DECLINE)(oncall_swap.on_swap_button)
    # `/oncall me`'s test page buttons: every channel, or `oncall_me_test:<via>` for one
    app.action(re.compile(f"^{MeAction.TEST}(:|$)"))(oncall_me.on_test_button)
    # alert messages
    app.action(AlertAction.ACKNOWLEDGE)(alerts.on_button)
    app.action(AlertAction.UNACKNOWLEDGE)(alerts.on_button)
    app.action(AlertAction.RESOLVE)(alerts.on_button)
    app.action(AlertAction.MORE)(alerts.on_overflow)
    app.action(AlertAction.PLAYBOOK)(alerts.on_playbook)
    app.action(AlertAction.STORM_ACK_ALL)(alerts.on_storm_ack_all)
    app.action(re.compile(f"^{AlertAction.LINK}:"))(alerts.on_link)
    app.action(AlertAction.ESCALATE)(escalation.on_escalate)
    app.view(Callback.ESCALATE_MODAL)(escalation.on_submit)
    # incidents: declaring, the header's buttons and their modals, checklists
    app.action(AlertAction.DECLARE_INCIDENT)(incident_actions.on_alert_declare)
    app.shortcut(Callback.DECLARE_FROM_MESSAGE)(incident_actions.on_message_shortcut)
    app.view(Callback.DECLARE_MODAL)(incident_actions.on_declare)
    app.action(IncidentAction.POST_UPDATE)(incident_actions.on_modal_button)
    app.action(IncidentAction.CHANGE_SEVERITY)(incident_actions.on_modal_button)
    app.action(IncidentAction.ASSIGN_ROLE)(incident_actions.on_modal_button)
    app.action(IncidentAction.RESOLVE)(incident_actions.on_modal_button)
    app.action(IncidentAction.POSTMORTEM_DONE)(incident_actions.on_postmortem_button)
    app.action(IncidentAction.POSTMORTEM)(incident_actions.on_postmortem_button)
    app.view(IncidentModal.STATUS)(incident_actions.on_status_modal)
    app.view(IncidentModal.SEVERITY)(incident_actions.on_severity_modal)
    app.view(IncidentModal.ROLE)(incident_actions.on_role_modal)
    app.view(IncidentModal.RESOLVE)(incident_actions.on_resolve_modal)
    app.action(re.compile(f"^{IncidentAction.CHECKLIST}:"))(incident_actions.on_checklist)
    # events
    app.event("app_home_opened")(home.on_home_opened)
    app.event("reaction_added")(reactions.on_reaction)  # alerts (👀 ✅) and the incident timeline (📌)
    app.event("pin_added")(incident_messages.on_pin)
    app.event("message", subscriptions=("message.channels", "message.groups"))(incident_messages.on_message)


async def connect_socket_mode(bolt: AsyncApp, app_token: str | None) -> AsyncSocketModeHandler:
    """Open the Socket Mode connection (SLACK_APP_TOKEN): Slack's events, commands and clicks
    arrive over it. ``apps.connections.open`` goes through the app's own Web API client, so to
    SLACK_API_URL like every other call. Close it with ``close_async()``."""
    if not app_token:
        raise ValueError("Socket Mode needs SLACK_APP_TOKEN")
    handler = AsyncSocketModeHandler(bolt, app_token)
    await handler.connect_async()  # type: ignore[no-untyped-call]
    return handler
