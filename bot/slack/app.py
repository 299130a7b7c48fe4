"""The Bolt app: request verification, retry dedup, and every listener, registered explicitly."""

from __future__ import annotations

import json
import logging
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
from bot.slack.listeners import alerts, incident_actions, incident_messages, paging, reactions
from bot.slack.listeners import escalation as escalation_listeners
from bot.slack.listeners import home as home_listeners
from bot.slack.listeners import incidents as incident_listeners
from bot.slack.listeners import oncall as oncall_listeners
from bot.slack.listeners import report as report_listeners

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


def build_bolt_app(svc: Services) -> tuple[AsyncApp, Listeners]:
    settings = svc.settings
    app = AsyncApp(
        client=svc.slack,
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
    app.middleware(provide(SlackDeps.of(svc)))  # what listeners read through deps(context)
    app.error(on_error)
    listeners = Listeners(app)
    alerts.register(listeners)
    escalation_listeners.register(listeners)
    oncall_listeners.register(listeners, svc, extra={"page": paging.page, "silence": paging.silence,
                                                          "report": report_listeners.report})  # page / silence / report handlers go in extra
    home_listeners.register(listeners, svc)
    incident_listeners.register(listeners, svc)
    incident_actions.register(listeners)
    timeline_messages = incident_messages.TimelineMessages(svc)
    incident_messages.register(listeners, svc, timeline_messages)
    reactions.register(listeners, svc, timeline_messages)  # the one reaction_added listener
    return app, listeners


async def connect_socket_mode(bolt: AsyncApp, app_token: str | None) -> AsyncSocketModeHandler:
    """Open the Socket Mode connection (SLACK_APP_TOKEN): Slack's events, commands and clicks
    arrive over it. ``apps.connections.open`` goes through the app's own Web API client, so to
    SLACK_API_URL like every other call. Close it with ``close_async()``."""
    if not app_token:
        raise ValueError("Socket Mode needs SLACK_APP_TOKEN")
    handler = AsyncSocketModeHandler(bolt, app_token)
    await handler.connect_async()  # type: ignore[no-untyped-call]
    return handler
