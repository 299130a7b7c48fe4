"""The sandbox's Slack user groups (``@platform-oncall``): ``usergroups.list``, ``usergroups.create``,
``usergroups.users.update`` and ``usergroups.users.list``, with Slack's shapes and errors.

Slack's rules kept here: a handle is unique among groups (``handle_already_exists``), so is a name
(``name_already_exists``); ``usergroups.users.update`` replaces the whole member list, refuses an
empty one (``no_users_provided``: a group is disabled, never emptied) and users who are bots or
not in the workspace (``invalid_users``); a disabled group is listed only with ``include_disabled``;
and a workspace whose user group settings keep apps out answers ``permission_denied`` to the
writes (:attr:`SandboxUserGroups.apps_may_manage`). Tests read the members with :meth:`members`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.sandbox.slack_records import JSON, SandboxUser, SlackRefusal, flag, text_arg

_HANDLE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,20}$")
NAME_MAX = 255
DESCRIPTION_MAX = 140


@dataclass
class SandboxUserGroup:
    id: str
    team_id: str
    name: str
    handle: str
    description: str
    created_by: str
    date_create: int
    date_update: int
    updated_by: str
    users: list[str] = field(default_factory=list)
    disabled: bool = False

    def to_slack(self, *, include_users: bool, include_count: bool) -> JSON:
        body: JSON = {
            "id": self.id, "team_id": self.team_id, "is_usergroup": True, "is_subteam": True,
            "name": self.name, "description": self.description, "handle": self.handle, "is_external": False,
            "date_create": self.date_create, "date_update": self.date_update,
            "date_delete": self.date_update if self.disabled else 0, "auto_type": None,
            "created_by": self.created_by, "updated_by": self.updated_by,
            "deleted_by": self.updated_by if self.disabled else None, "prefs": {"channels": [], "groups": []},
        }
        if include_users:
            body["users"] = list(self.users)
        if include_count:
            body["user_count"] = len(self.users)
        return body


def _user_list(value: object) -> list[str]:
    if isinstance(value, list):
        return [str(u).strip() for u in value if str(u).strip()]
    return [u.strip() for u in str(value or "").split(",") if u.strip()]


class SandboxUserGroups:
    def __init__(self, *, team_id: str, bot_user_id: str, users: dict[str, SandboxUser],
                 new_id: Callable[[str], str], now: Callable[[], int]) -> None:
        self._team_id = team_id
        self._bot = bot_user_id
        self._users = users
        self._new_id = new_id
        self._now = now
        self.groups: dict[str, SandboxUserGroup] = {}
        self.apps_may_manage = True  # the workspace's "who can change user groups" lets apps in

    @property
    def methods(self) -> dict[str, Callable[[JSON], JSON]]:
        return {"usergroups.list": self.list_, "usergroups.create": self.create,
                "usergroups.users.update": self.users_update, "usergroups.users.list": self.users_list}

    # --- for tests ----------------------------------------------------------------------------

    def by_handle(self, handle: str) -> SandboxUserGroup | None:
        return next((g for g in self.groups.values() if g.handle == handle), None)

    def members(self, handle: str) -> list[str] | None:
        """The group's members, or None when there is no group with that handle."""
        group = self.by_handle(handle)
        return None if group is None else list(group.users)

    def add(self, handle: str, *, name: str | None = None, users: list[str] | None = None,
            disabled: bool = False) -> SandboxUserGroup:
        """A group someone made in Slack (not the bot)."""
        group = self._make(name=name or handle, handle=handle, description="", by="U0ADMIN01")
        group.users, group.disabled = list(users or []), disabled
        return group

    # --- the Web API --------------------------------------------------------------------------

    def _make(self, *, name: str, handle: str, description: str, by: str) -> SandboxUserGroup:
        now = self._now()
        group = SandboxUserGroup(id=self._new_id("S"), team_id=self._team_id, name=name, handle=handle,
                                 description=description, created_by=by, date_create=now, date_update=now,
                                 updated_by=by)
        self.groups[group.id] = group
        return group

    def _group(self, args: JSON, *, include_disabled: bool = True) -> SandboxUserGroup:
        ref = text_arg(args, "usergroup")
        if ref is None:
            raise SlackRefusal("missing_argument")
        group = self.groups.get(ref)
        if group is None or (group.disabled and not include_disabled):
            raise SlackRefusal("no_such_subteam")
        return group

    def list_(self, args: JSON) -> JSON:
        shown = [g for g in self.groups.values() if flag(args, "include_disabled") or not g.disabled]
        return {"usergroups": [g.to_slack(include_users=flag(args, "include_users"),
                                          include_count=flag(args, "include_count")) for g in shown]}

    def create(self, args: JSON) -> JSON:
        if not self.apps_may_manage:
            raise SlackRefusal("permission_denied")
        name = text_arg(args, "name")
        if name is None:
            raise SlackRefusal("missing_subteam_name")
        if len(name) > NAME_MAX:
            raise SlackRefusal("name_too_long")
        description = text_arg(args, "description") or ""
        if len(description) > DESCRIPTION_MAX:
            raise SlackRefusal("description_too_long")
        handle = text_arg(args, "handle") or name.lower().replace(" ", "-")
        if not _HANDLE.match(handle):
            raise SlackRefusal("bad_handle")
        if any(g.name == name for g in self.groups.values()):
            raise SlackRefusal("name_already_exists")
        if any(g.handle == handle for g in self.groups.values()) or any(u.name == handle for u in self._users.values()):
            raise SlackRefusal("handle_already_exists")
        group = self._make(name=name, handle=handle, description=description, by=self._bot)
        return {"usergroup": group.to_slack(include_users=True, include_count=flag(args, "include_count"))}

    def users_update(self, args: JSON) -> JSON:
        if not self.apps_may_manage:
            raise SlackRefusal("permission_denied")
        group = self._group(args)
        users = _user_list(args.get("users"))
        if not users:
            raise SlackRefusal("no_users_provided")
        if any(u not in self._users or self._users[u].is_bot for u in users):
            raise SlackRefusal("invalid_users")
        group.users = list(dict.fromkeys(users))
        group.date_update, group.updated_by = self._now(), self._bot
        return {"usergroup": group.to_slack(include_users=True, include_count=flag(args, "include_count"))}

    def users_list(self, args: JSON) -> JSON:
        group = self._group(args, include_disabled=flag(args, "include_disabled"))
        return {"users": list(group.users)}
