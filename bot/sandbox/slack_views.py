"""Modals and App Home views as Slack keeps them: trigger exchange, the view stack, hashes.

The rules that trip real bots are the ones modelled here: a trigger_id is single-use and expires
after three seconds, a modal stack holds at most three views, and ``views.update`` with a stale
``hash`` is refused with ``hash_conflict``.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field

from bot.sandbox.slack_records import JSON, SlackRefusal, with_block_ids
from bot.sandbox.slack_workspace import SlackWorkspace

MAX_STACK = 3


@dataclass
class _Trigger:
    user_id: str
    issued_at: float
    used: bool = False


@dataclass
class SandboxView:
    """One view the bot opened, pushed or published; ``view`` is the object Slack returned."""

    id: str
    type: str
    user_id: str | None
    view: JSON
    opened_via: str
    trigger_id: str | None
    is_open: bool = True
    history: list[JSON] = field(default_factory=list)

    @property
    def callback_id(self) -> str:
        return str(self.view.get("callback_id", ""))

    @property
    def private_metadata(self) -> str:
        return str(self.view.get("private_metadata", ""))

    @property
    def blocks(self) -> list[JSON]:
        return list(self.view.get("blocks", []))

    @property
    def title(self) -> str:
        title = self.view.get("title") or {}
        return str(title.get("text", "")) if isinstance(title, dict) else ""

    @property
    def hash(self) -> str:
        return str(self.view["hash"])


class ViewRegistry:
    def __init__(self, workspace: SlackWorkspace, *, trigger_ttl: float | None) -> None:
        self._ws = workspace
        self._trigger_ttl = trigger_ttl
        self._triggers: dict[str, _Trigger] = {}
        self._used_foreign_triggers: set[str] = set()
        self._hash_counter = 0
        self.views: list[SandboxView] = []

    def issue_trigger(self, user_id: str) -> str:
        """A trigger_id as a slash command or click carries it; the registry knows who it is for."""
        trigger_id = f"{self._ws.now_epoch()}.{len(self._triggers) + 1}.{secrets.token_hex(16)}"
        self._triggers[trigger_id] = _Trigger(user_id=user_id, issued_at=time.monotonic())
        return trigger_id

    def _exchange(self, trigger_id: object) -> str | None:
        """Spend a trigger; returns its user when the stand-in issued it.

        Any other non-empty string is accepted once, so tests can call views.open by hand. The
        expiry runs on the real monotonic clock: Slack's three seconds are wall time, not the
        bot's (possibly manual) clock.
        """
        if not isinstance(trigger_id, str) or not trigger_id:
            raise SlackRefusal("invalid_arguments", response_metadata={"messages": ["[ERROR] invalid `trigger_id`"]})
        trigger = self._triggers.get(trigger_id)
        if trigger is None:
            if trigger_id in self._used_foreign_triggers:
                raise SlackRefusal("exchanged_trigger_id")
            self._used_foreign_triggers.add(trigger_id)
            return None
        if trigger.used:
            raise SlackRefusal("exchanged_trigger_id")
        if self._trigger_ttl is not None and time.monotonic() - trigger.issued_at > self._trigger_ttl:
            raise SlackRefusal("expired_trigger_id")
        trigger.used = True
        return trigger.user_id

    def _new_hash(self) -> str:
        self._hash_counter += 1
        return f"{self._ws.now_epoch()}.{self._hash_counter:08d}"

    def _render(self, view: JSON, *, view_id: str, root_id: str, previous_id: str | None) -> JSON:
        rendered: JSON = {
            "id": view_id,
            "team_id": self._ws.team_id,
            "type": view.get("type"),
            "blocks": with_block_ids(list(view.get("blocks") or [])),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": self._new_hash(),
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "root_view_id": root_id,
            "previous_view_id": previous_id,
            "app_id": self._ws.app_id,
            "external_id": view.get("external_id", ""),
            "app_installed_team_id": self._ws.team_id,
            "bot_id": self._ws.bot_id,
        }
        for key in ("title", "submit", "close"):
            if key in view:
                rendered[key] = view[key]
        return rendered

    def _check_external_id(self, view: JSON, *, except_id: str | None = None) -> None:
        external_id = view.get("external_id")
        if external_id and any(v.view.get("external_id") == external_id and v.id != except_id for v in self.views):
            raise SlackRefusal("duplicate_external_id")

    def stack(self, user_id: str | None) -> list[SandboxView]:
        """The user's open modals, root first."""
        return [v for v in self.views if v.type == "modal" and v.is_open and v.user_id == user_id]

    def open(self, trigger_id: object, view: JSON) -> SandboxView:
        user_id = self._exchange(trigger_id)
        if view.get("type") != "modal":
            raise SlackRefusal("invalid_arguments", response_metadata={"messages": ["[ERROR] must be a modal"]})
        self._check_external_id(view)
        for stale in self.stack(user_id):
            stale.is_open = False  # a new root modal replaces whatever the user had open
        view_id = self._ws.new_id("V")
        record = SandboxView(id=view_id, type="modal", user_id=user_id, opened_via="views.open",
                             trigger_id=str(trigger_id), view=self._render(view, view_id=view_id, root_id=view_id,
                                                                           previous_id=None))
        self.views.append(record)
        return record

    def push(self, trigger_id: object, view: JSON) -> SandboxView:
        user_id = self._exchange(trigger_id)
        stack = self.stack(user_id)
        if len(stack) >= MAX_STACK:
            raise SlackRefusal("push_limit_reached")
        self._check_external_id(view)
        view_id = self._ws.new_id("V")
        root_id = stack[0].id if stack else view_id
        previous_id = stack[-1].id if stack else None
        record = SandboxView(id=view_id, type="modal", user_id=user_id, opened_via="views.push",
                             trigger_id=str(trigger_id),
                             view=self._render(view, view_id=view_id, root_id=root_id, previous_id=previous_id))
        self.views.append(record)
        return record

    def find(self, *, view_id: object = None, external_id: object = None) -> SandboxView:
        for record in self.views:
            if (view_id and record.id == view_id) or (external_id and record.view.get("external_id") == external_id):
                return record
        raise SlackRefusal("not_found")

    def update(self, *, view_id: object, external_id: object, view: JSON, hash_: object) -> SandboxView:
        if not view_id and not external_id:
            raise SlackRefusal("invalid_arguments")
        record = self.find(view_id=view_id, external_id=external_id)
        if not record.is_open:
            raise SlackRefusal("not_found")
        if hash_ and hash_ != record.hash:
            raise SlackRefusal("hash_conflict")
        self._check_external_id(view, except_id=record.id)
        self.replace(record, view)
        return record

    def replace(self, record: SandboxView, view: JSON) -> None:
        """New content for an open view (views.update or a ``response_action: update``)."""
        record.history.append(record.view)
        record.view = self._render(view, view_id=record.id, root_id=record.view["root_view_id"],
                                   previous_id=record.view["previous_view_id"])

    def publish(self, *, user_id: object, view: JSON, hash_: object) -> SandboxView:
        user = self._ws.user(user_id)
        if view.get("type") != "home":
            raise SlackRefusal("invalid_arguments", response_metadata={"messages": ["[ERROR] must be a home view"]})
        current = self.home(user.id)
        if current is not None:
            if hash_ and hash_ != current.hash:
                raise SlackRefusal("hash_conflict")
            self.replace(current, view)
            return current
        view_id = self._ws.new_id("V")
        record = SandboxView(id=view_id, type="home", user_id=user.id, opened_via="views.publish", trigger_id=None,
                             view=self._render(view, view_id=view_id, root_id=view_id, previous_id=None))
        self.views.append(record)
        return record

    def home(self, user_id: str) -> SandboxView | None:
        return next((v for v in self.views if v.type == "home" and v.user_id == user_id), None)

    def close(self, record: SandboxView, *, whole_stack: bool = False) -> None:
        """What the Slack client does when a submission is acknowledged with an empty body (or ``clear``)."""
        targets = self.stack(record.user_id) if whole_stack or record.view["root_view_id"] == record.id else [record]
        for target in targets:
            target.is_open = False

    def push_from_response(self, parent: SandboxView, view: JSON) -> SandboxView:
        """A ``response_action: push`` needs no trigger; Slack pushes onto the submitting view's stack."""
        stack = self.stack(parent.user_id)
        if len(stack) >= MAX_STACK:
            raise SlackRefusal("push_limit_reached")
        view_id = self._ws.new_id("V")
        record = SandboxView(id=view_id, type="modal", user_id=parent.user_id, opened_via="response_action",
                             trigger_id=None, view=self._render(view, view_id=view_id,
                                                                root_id=parent.view["root_view_id"],
                                                                previous_id=parent.id))
        self.views.append(record)
        return record

