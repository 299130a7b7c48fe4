"""People named in slash-command text: ``<@U0BOB0001>``, ``<@U0BOB0001|bob>``, a raw ID, or ``@bob``.

With ``should_escape: false`` Slack sends ``@bob`` as typed; escaped commands and pasted text carry
``<@U…>``. Names are matched against the config's people, case-insensitively.
"""

from __future__ import annotations

import re

from bot.config import Config

_MENTION = re.compile(r"^<@([UW][A-Z0-9]{2,})(?:\|[^>]*)?>$")
_BARE_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


def looks_like_person(token: str) -> bool:
    """True for a mention, a raw Slack ID or an ``@name``."""
    token = token.strip()
    return bool(_MENTION.match(token) or _BARE_ID.match(token) or (token.startswith("@") and len(token) > 1))


def person_id(token: str, config: Config) -> str | None:
    """The Slack ID of the config person ``token`` names, or None if it names nobody listed under people."""
    token = token.strip()
    if m := _MENTION.match(token):
        found: str | None = m.group(1)
    elif _BARE_ID.match(token):
        found = token
    else:
        name = token.removeprefix("@").lower()
        found = next((p.slack_id for p in config.people if p.name.lower() == name), None)
    return found if found is not None and config.person(found) is not None else None
