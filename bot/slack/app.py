"""The Bolt app: request verification, retry dedup, and every listener, registered explicitly."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse

from bot.db import transaction
from bot.idempotency import first_time
from bot.services import Services
from bot.slack.listeners import alerts

log = logging.getLogger(__name__)

# Web API scopes the code needs; tests hold manifests/ to exactly this list.
REQUIRED_SCOPES = frozenset({
    "chat:write",          # alert messages, thread replies, DMs
    "chat:write.public",   # post to team channels without being invited first
    "channels:join",       # join a public channel when Slack says not_in_channel
    "channels:read",       # resolve channel names
    "channels:history",    # find our own message again after a crash (message metadata)
    "groups:read",         # private team channels the bot was invited to
    "im:write",            # open DMs to on-call people
    "reactions:read",      # 👀 to acknowledge, ✅ to resolve
    "users:read",          # people's time zones
})


@dataclass
class Listeners:
    """What the app listens for, recorded as listeners register, so the manifests can be checked."""

    app: AsyncApp
    events: set[str] = field(default_factory=set)
    commands: set[str] = field(default_factory=set)
    shortcuts: set[str] = field(default_factory=set)

    def event(self, name: str) -> Any:
        self.events.add(name)
        return self.app.event(name)

    def command(self, name: str) -> Any:
        self.commands.add(name)
        return self.app.command(name)

    def shortcut(self, callback_id: str) -> Any:
        self.shortcuts.add(callback_id)
        return self.app.shortcut(callback_id)

    def action(self, constraint: Any) -> Any:
        return self.app.action(constraint)

    def view(self, constraint: Any) -> Any:
        return self.app.view(constraint)


def build_bolt_app(svc: Services) -> tuple[AsyncApp, Listeners]:
    settings = svc.settings
    app = AsyncApp(
        client=svc.slack,
        signing_secret=settings.slack_signing_secret or "socket-mode-unused",
        request_verification_enabled=not settings.socket_mode,
        process_before_response=False,
        raise_error_for_unhandled_request=False,
    )

    async def once_per_event(body: dict[str, Any], next: Callable[[], Awaitable[None]]) -> BoltResponse | None:
        """Slack retries an event it thinks we missed (X-Slack-Retry-Num); act on each event id once."""
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id:
            async with transaction(svc.sessions) as s:
                if not await first_time(s, f"slack-event:{event_id}", svc.clock.now()):
                    return BoltResponse(status=200, body="")
        await next()
        return None

    async def on_error(error: Exception, body: dict[str, Any]) -> None:
        kind = body.get("type") or body.get("command") or "request"
        log.error("Slack listener failed for %s", kind, exc_info=error)

    app.middleware(once_per_event)
    app.error(on_error)
    listeners = Listeners(app)
    alerts.register(listeners, svc)
    return app, listeners
