"""Small text helpers shared by the Block Kit builders."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

SLACK_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
VIA_WORDS = {"sms": "SMS", "email": "email", "call": "phone call"}  # how someone answered, outside Slack


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def escape(text: str) -> str:
    """Slack's three control characters; everything else is shown as typed."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_date(when: datetime, fmt: str, zone: ZoneInfo) -> str:
    """A date Slack renders in each viewer's own zone, with a readable fallback in ``zone``."""
    fallback = when.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
    return f"<!date^{int(when.timestamp())}^{fmt}|{fallback}>"


def absolute(when: datetime, zone: ZoneInfo) -> str:
    return when.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z")


def actor_text(actor: str | None, via: str | None, names: Mapping[str, str]) -> str:
    """``<@U123>`` for a Slack click, ``Alice (SMS)`` for a text reply, ``Alice (phone call)`` for a key
    pressed on a call, the source's name otherwise."""
    if not actor:
        return "someone"
    if SLACK_ID.match(actor):
        if via in VIA_WORDS:
            return f"{names.get(actor, actor)} ({VIA_WORDS[via]})"
        return f"<@{actor}>"
    return escape(f"{actor} (email)" if via == "email" else actor)  # a team address's link, or a source
