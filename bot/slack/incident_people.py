"""Whom ``/incident role`` and ``/incident action`` name: anyone in the workspace, not only the
people the config lists (a comms lead from support is not on any rotation)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from bot.config import Config
from bot.slack.client import SlackClient
from bot.slack.errors import SlackError
from bot.slack.mentions import looks_like_person, person_id

_ANY_ID = re.compile(r"^<@([UW][A-Z0-9]{2,})(?:\|[^>]*)?>$|^([UW][A-Z0-9]{2,})$")

__all__ = ["looks_like_person", "resolve_user"]


def _names(member: Mapping[str, object]) -> set[str]:
    """What a member of ``users.list`` may be called: handle, real name, display name."""
    profile = member.get("profile")
    profile = profile if isinstance(profile, Mapping) else {}
    values = (member.get("name"), member.get("real_name"), profile.get("display_name"), profile.get("real_name"))
    return {str(v).lower() for v in values if v}


async def resolve_user(client: SlackClient, token: str, config: Config) -> str | None:
    """A mention or ID as is; ``@name`` from the config's people, else from the workspace's users."""
    token = token.strip()
    if m := _ANY_ID.match(token):
        return m.group(1) or m.group(2)
    if (found := person_id(token, config)) is not None or not token.startswith("@"):
        return found
    name = token.removeprefix("@").lower()
    cursor = None
    try:
        while True:
            page = await client.users_list(limit=200, cursor=cursor)
            for member in page.get("members") or []:
                if not member.get("deleted") and name in _names(member):
                    return str(member["id"])
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None
    except SlackError:
        return None
