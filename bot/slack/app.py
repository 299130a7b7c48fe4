"""The Bolt app: request verification, retry dedup, and every listener, registered explicitly."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.response import BoltResponse

from bot.db import transaction
from bot.idempotency import first_time
from bot.services import Services
from bot.slack.listeners import alerts

log = logging.getLogger(__name__)


def build_bolt_app(svc: Services) -> AsyncApp:
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
    alerts.register(app, svc)
    return app
