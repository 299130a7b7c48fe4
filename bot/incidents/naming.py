"""Incident channel names: ``<prefix>-<YYYY-MM-DD>-<slug>`` within Slack's naming rules.

Slack wants lowercase letters, digits, ``-`` and ``_``, at most 80 characters, no spaces or
periods. Titles are typed in a hurry and in any language, so accents are folded to ASCII
("Zahlungsausfälle" → "zahlungsausfalle"), everything else becomes a hyphen, and a title with
nothing usable left still yields a valid name.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from zoneinfo import ZoneInfo

MAX_CHANNEL_NAME = 80
_NOT_ALLOWED = re.compile(r"[^a-z0-9_-]+")
_HYPHENS = re.compile(r"-{2,}")


def slugify(title: str) -> str:
    """``"Checkout failing!"`` → ``"checkout-failing"``; ``""`` when nothing usable is left."""
    folded = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii").lower()
    slug = _NOT_ALLOWED.sub("-", folded)
    return _HYPHENS.sub("-", slug).strip("-_")


def channel_name(prefix: str, title: str, declared_at: datetime, zone: ZoneInfo, *, attempt: int = 1) -> str:
    """The channel name for an incident; ``attempt`` 2, 3… adds ``-2``, ``-3`` when Slack says
    ``name_taken``. The date is the declaration's calendar day in the team's time zone."""
    day = declared_at.astimezone(zone).strftime("%Y-%m-%d")
    suffix = f"-{attempt}" if attempt > 1 else ""
    head = f"{prefix}-{day}-"
    room = MAX_CHANNEL_NAME - len(head) - len(suffix)
    slug = slugify(title)[:room].rstrip("-_") or "incident"
    return f"{head}{slug}{suffix}"
