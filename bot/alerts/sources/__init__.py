"""Parsers of alert sources' webhook bodies, by integration ``type`` (the config's names).

Each parser takes the decoded JSON body (any JSON value) and returns a
:class:`~bot.alerts.incoming.ParsedNotification`, or raises
:class:`~bot.alerts.incoming.PayloadError` naming every bad field. Source-specific extras live
in the modules themselves: ``sentry.parse(body, resource=...)`` takes the
``Sentry-Hook-Resource`` header, ``pagerduty.parse_event`` returns the routing and dedup keys
``/v2/enqueue`` answers with, and ``grafana`` / ``sentry`` verify their HMAC signatures.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.alerts.incoming import ParsedNotification
from bot.alerts.sources import alertmanager, generic, grafana, pagerduty, sentry

SourceParser = Callable[[object], ParsedNotification]

PARSERS: dict[str, SourceParser] = {
    "alertmanager": alertmanager.parse,
    "grafana": grafana.parse,
    "sentry": sentry.parse,
    "pagerduty": pagerduty.parse,
    "generic": generic.parse,
}

__all__ = ["PARSERS", "SourceParser"]
