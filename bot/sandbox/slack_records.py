"""What the sandbox Slack workspace holds — users, channels, messages, ephemerals — and Slack's
rules on them (channel names, generated block and action ids), in Slack's own error names."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]

_CHANNEL_NAME = re.compile(r"^[a-z0-9_-]+$")
CHANNEL_NAME_MAX = 80
TOPIC_MAX = 250


class SlackRefusal(Exception):
    """A call Slack answers with HTTP 200 and ``{"ok": false, "error": ...}``."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


def flag(args: JSON, key: str) -> bool:
    """A boolean argument as any client sends it: JSON true, or "1"/"true" in a form or query string."""
    return args.get(key) in (True, 1, "1", "true", "True")


def text_arg(args: JSON, key: str) -> str | None:
    value = args.get(key)
    return None if value is None or value == "" else str(value)


@dataclass(frozen=True)
class SandboxUser:
    id: str
    name: str
    real_name: str
    tz: str = "UTC"
    is_admin: bool = False
    is_bot: bool = False
    email: str | None = None


@dataclass(frozen=True)
class MessageEdit:
    """What a message looked like before an edit; Slack keeps only the latest, tests want all."""

    text: str
    blocks: list[JSON]
    replaced_at: str


@dataclass
class SandboxMessage:
    channel: str
    ts: str
    user: str
    text: str
    blocks: list[JSON] = field(default_factory=list)
    thread_ts: str | None = None
    reply_broadcast: bool = False
    metadata: JSON | None = None
    files: list[JSON] = field(default_factory=list)
    edits: list[MessageEdit] = field(default_factory=list)
    reactions: dict[str, list[str]] = field(default_factory=dict)
    bot_id: str | None = None
    app_id: str | None = None
    replies: list[SandboxMessage] = field(default_factory=list, repr=False)

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts

    @property
    def action_ids(self) -> list[str]:
        return [aid for _, element in iter_elements(self.blocks) if (aid := element.get("action_id"))]

    def to_slack(self, *, team_id: str, include_metadata: bool = True) -> JSON:
        """The message object as conversations.history and interaction payloads carry it."""
        out: JSON = {"type": "message", "user": self.user, "text": self.text, "ts": self.ts, "team": team_id}
        if self.blocks:
            out["blocks"] = self.blocks
        if self.bot_id:
            out.update(bot_id=self.bot_id, app_id=self.app_id)
        if self.thread_ts:
            out["thread_ts"] = self.thread_ts
        if self.is_reply and self.reply_broadcast:
            out["subtype"] = "thread_broadcast"
        if self.replies:
            out.update(
                reply_count=len(self.replies),
                reply_users=sorted({r.user for r in self.replies}),
                reply_users_count=len({r.user for r in self.replies}),
                latest_reply=self.replies[-1].ts,
            )
        if self.edits:
            out["edited"] = {"user": self.user, "ts": self.edits[-1].replaced_at}
        if self.files:
            out["files"] = self.files
            out["upload"] = False
        if self.reactions:
            out["reactions"] = [{"name": n, "users": u, "count": len(u)} for n, u in self.reactions.items()]
        if include_metadata and self.metadata is not None:
            out["metadata"] = self.metadata
        return out


@dataclass
class SandboxEphemeral:
    """A message only one user sees; Slack never returns these from history, so tests read them here."""

    channel: str
    user: str
    text: str
    blocks: list[JSON]
    ts: str
    thread_ts: str | None = None
    via: str = "chat.postEphemeral"
    deleted: bool = False


@dataclass
class SandboxChannel:
    id: str
    name: str
    created: int
    creator: str
    is_private: bool = False
    is_im: bool = False
    is_mpim: bool = False
    im_user: str | None = None
    members: list[str] = field(default_factory=list)
    topic: str = ""
    purpose: str = ""
    is_archived: bool = False
    messages: list[SandboxMessage] = field(default_factory=list, repr=False)
    pins: list[str] = field(default_factory=list)
    bookmarks: list[JSON] = field(default_factory=list)

    def to_slack(self, *, viewer: str, team_id: str) -> JSON:
        if self.is_im:
            return {"id": self.id, "created": self.created, "is_im": True, "is_org_shared": False,
                    "user": self.im_user, "is_user_deleted": False, "priority": 0}
        return {
            "id": self.id,
            "name": self.name,
            "name_normalized": self.name,
            "is_channel": not self.is_private and not self.is_mpim,
            "is_group": self.is_private and not self.is_mpim,
            "is_im": False,
            "is_mpim": self.is_mpim,
            "is_private": self.is_private,
            "is_archived": self.is_archived,
            "is_general": False,
            "is_shared": False,
            "is_ext_shared": False,
            "is_org_shared": False,
            "context_team_id": team_id,
            "created": self.created,
            "creator": self.creator,
            "is_member": viewer in self.members,
            "num_members": len(self.members),
            "topic": {"value": self.topic, "creator": self.creator if self.topic else "", "last_set": 0},
            "purpose": {"value": self.purpose, "creator": "", "last_set": 0},
        }


def channel_name_error(name: str) -> str | None:
    """Slack's naming rule for conversations.create, in Slack's own error names."""
    if not name:
        return "invalid_name_required"
    if len(name) > CHANNEL_NAME_MAX:
        return "invalid_name_maxlength"
    if not _CHANNEL_NAME.match(name):
        return "invalid_name_specials"
    if not re.search(r"[a-z0-9]", name):
        return "invalid_name_punctuation"
    return None


def iter_elements(blocks: list[JSON]) -> list[tuple[JSON, JSON]]:
    """(block, element) for every interactive element: actions, accessories and inputs."""
    found: list[tuple[JSON, JSON]] = []
    for block in blocks:
        candidates: list[Any] = []
        if block.get("type") == "actions":
            candidates = list(block.get("elements") or [])
        elif "accessory" in block:
            candidates = [block["accessory"]]
        elif block.get("type") == "input" and "element" in block:
            candidates = [block["element"]]
        found.extend((block, e) for e in candidates if isinstance(e, dict))
    return found


def _short_id(*parts: object) -> str:
    return hashlib.sha1(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:5]


def _with_action_id(element: Any, seed: object) -> Any:
    if isinstance(element, dict) and element.get("type") != "image" and "action_id" not in element:
        return {**element, "action_id": _short_id(seed, element)}
    return element


def with_block_ids(blocks: list[JSON]) -> list[JSON]:
    """Give every block a block_id and every interactive element an action_id, as Slack does,
    so clicks can name what they came from.

    Slack's generated ids are random; ours derive from the content so demo transcripts are stable.
    """
    out = []
    for i, block in enumerate(blocks):
        if not isinstance(block, dict):
            out.append(block)
            continue
        block = dict(block)
        block.setdefault("block_id", _short_id(i, block))
        if block.get("type") == "actions" and isinstance(block.get("elements"), list):
            block["elements"] = [_with_action_id(e, (i, j)) for j, e in enumerate(block["elements"])]
        for key in ("accessory", "element"):
            if key in block:
                block[key] = _with_action_id(block[key], (i, key))
        out.append(block)
    return out
