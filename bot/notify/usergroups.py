"""The on-call handle in Slack: ``handle_sync`` rows make a team's user group hold its on-call.

A row names the team; its members are read here, when the row is sent (see
:mod:`bot.oncall.handle`), so a late or repeated row cannot set an old list. The group is found
by its handle with ``usergroups.list`` (with its users) and created with ``usergroups.create``
when there is none; ``usergroups.users.update`` is called only when its members differ from who
is on call. The call replaces the whole list, so a repeated row changes nothing: it is
idempotent without any bookkeeping of its own.

Slack refuses an empty user group (``usergroups.users.update`` needs at least one user); when
nobody is on call the group is left as it is and the row says so. A disabled group with the
handle is not listed, and creating one then fails with Slack's ``handle_already_exists`` (the
row's error says it): an admin re-enables the group and the next sync fills it.

Needs the ``usergroups:read`` and ``usergroups:write`` scopes, and a workspace whose user group
settings let apps (bot tokens) manage groups; otherwise Slack says ``permission_denied``.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from bot.db import transaction
from bot.notify.dispatch import Dispatcher
from bot.oncall.handle import handle_members, sync_handle
from bot.outbox import HandleSync, OutboxKind, OutboxMessage
from bot.services import Services
from bot.slack.client import SlackClient

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UserGroup:
    id: str
    handle: str
    users: tuple[str, ...]


class UserGroups:
    """Slack's user groups by handle (every call through :class:`~bot.slack.client.SlackClient`)."""

    def __init__(self, slack: SlackClient) -> None:
        self.slack = slack

    async def find(self, handle: str) -> UserGroup | None:
        resp = await self.slack.usergroups_list(include_users=True)
        for group in resp.get("usergroups") or []:
            if isinstance(group, dict) and group.get("handle") == handle:
                return UserGroup(id=str(group["id"]), handle=handle,
                                 users=tuple(str(u) for u in group.get("users") or ()))
        return None

    async def create(self, handle: str, *, name: str, description: str) -> UserGroup:
        resp = await self.slack.usergroups_create(name=name, handle=handle, description=description)
        group = resp["usergroup"]
        return UserGroup(id=str(group["id"]), handle=handle, users=tuple(str(u) for u in group.get("users") or ()))

    async def members(self, group_id: str) -> list[str]:
        resp = await self.slack.usergroups_users_list(usergroup=group_id)
        return [str(u) for u in resp.get("users") or ()]


class HandleSyncer:
    """The ``handle_sync`` handler, and the sync of every handle at start."""

    def __init__(self, svc: Services, groups: UserGroups) -> None:
        self._svc = svc
        self._groups = groups

    def register(self, dispatcher: Dispatcher) -> None:
        dispatcher.handlers[OutboxKind.HANDLE_SYNC] = self.sync

    async def at_start(self) -> int:
        """The group may have drifted while the bot was down (or someone edited it): sync each once."""
        now = self._svc.clock.now()
        start = f"start:{now.isoformat()}:{uuid.uuid4().hex[:8]}"  # each start is one, even on a standing clock
        queued = 0
        async with transaction(self._svc.sessions) as s:
            for team in self._svc.config.teams:
                queued += await sync_handle(s, team, why=start, now=now)
        if queued:
            self._svc.wake()
        return queued

    async def sync(self, item: OutboxMessage) -> dict[str, object]:
        p = HandleSync.of(item)
        svc = self._svc
        team = svc.config.team(p.team)
        if team is None or team.slack_handle != p.handle:
            return {"skipped": f"team {p.team!r} no longer has the handle {p.handle!r}"}
        async with svc.sessions() as s:
            members = await handle_members(s, svc.schedules, team, svc.clock.now())
        group = await self._groups.find(p.handle)
        if group is None:
            group = await self._groups.create(p.handle, name=f"{team.name} on-call",
                                              description=f"Who is on call for {team.name}, kept by Watchstander")
            log.info("created the Slack user group @%s (%s) for %s", p.handle, group.id, team.name)
        if not members:
            return {"usergroup": group.id, "skipped": "nobody is on call; Slack keeps no empty user group"}
        if sorted(group.users) == sorted(members):
            return {"usergroup": group.id, "unchanged": True}
        await self._groups.slack.usergroups_users_update(usergroup=group.id, users=",".join(members))
        log.info("@%s now holds %s (was %s)", p.handle, ", ".join(members), ", ".join(group.users) or "nobody")
        return {"usergroup": group.id, "users": members}
