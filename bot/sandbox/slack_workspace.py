"""The state of the sandbox Slack workspace: users, channels, messages, pins, bookmarks, ephemerals.

Kept apart from the HTTP layer so the Web API methods, the response-URL handling and the test
inspection API all read and change one model, the way Slack itself is one source of truth.
Operations raise :class:`SlackRefusal` with Slack's own error names.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from bot.clock import Clock

JSON = dict[str, Any]

_CHANNEL_NAME = re.compile(r"^[a-z0-9_-]+$")
CHANNEL_NAME_MAX = 80
TOPIC_MAX = 250
_PROFILE_UPDATED = 1_767_225_600  # 2026-01-01; a fixed value keeps transcripts reproducible


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


class SlackWorkspace:
    def __init__(
        self,
        *,
        team_id: str,
        bot_user_id: str,
        bot_id: str,
        app_id: str,
        channels: list[str],
        users: list[SandboxUser],
        clock: Clock,
    ) -> None:
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = app_id
        self.clock = clock
        self._counters: dict[str, int] = {}
        self._last_ts_micros = 0
        bot = SandboxUser(id=bot_user_id, name="watchstander", real_name="Watchstander", is_bot=True)
        self.users: dict[str, SandboxUser] = {u.id: u for u in [bot, *users]}
        self.channels: dict[str, SandboxChannel] = {}
        self._dm_by_user: dict[str, str] = {}
        self.ephemerals: list[SandboxEphemeral] = []
        humans = [u.id for u in users]
        for name in channels:
            self.create_channel(name, creator=bot_user_id, is_private=False, members=[bot_user_id, *humans])

    # --- ids and time -------------------------------------------------------------------------

    def new_id(self, prefix: str) -> str:
        """Readable, Slack-shaped ids (``C0SBX00001``) that stay stable from run to run."""
        n = self._counters.get(prefix, 0) + 1
        self._counters[prefix] = n
        return f"{prefix}0SBX{n:05d}"

    def next_ts(self) -> str:
        """Slack ts: seconds.micros from the clock, strictly increasing even if the clock stands still."""
        micros = int(self.clock.now().timestamp() * 1_000_000)
        micros = max(micros, self._last_ts_micros + 100)
        self._last_ts_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def now_epoch(self) -> int:
        return int(self.clock.now().timestamp())

    # --- lookups ------------------------------------------------------------------------------

    def find_channel(self, ref: str) -> SandboxChannel | None:
        ref = ref.strip()
        if ref in self.channels:
            return self.channels[ref]
        if ref in self.users:
            return self.dm_channel(ref)
        name = ref.removeprefix("#")
        return next((c for c in self.channels.values() if c.name == name and not c.is_im), None)

    def channel(self, ref: object) -> SandboxChannel:
        if not isinstance(ref, str) or not ref:
            raise SlackRefusal("channel_not_found")
        found = self.find_channel(ref)
        if found is None:
            raise SlackRefusal("channel_not_found")
        return found

    def user(self, user_id: object) -> SandboxUser:
        if not isinstance(user_id, str) or user_id not in self.users:
            raise SlackRefusal("user_not_found")
        return self.users[user_id]

    def message(self, channel: SandboxChannel, ts: object) -> SandboxMessage:
        for message in channel.messages:
            if message.ts == ts:
                return message
        raise SlackRefusal("message_not_found")

    def history(self, channel: SandboxChannel) -> list[SandboxMessage]:
        """What conversations.history shows: top-level messages and broadcast replies, oldest first."""
        return [m for m in channel.messages if not m.is_reply or m.reply_broadcast]

    def dm_channel(self, user_id: str) -> SandboxChannel:
        """The bot's IM with a user; one per user, created on first use like Slack's."""
        if user_id in self._dm_by_user:
            return self.channels[self._dm_by_user[user_id]]
        self.user(user_id)
        channel = SandboxChannel(
            id=self.new_id("D"), name=user_id, created=self.now_epoch(), creator=self.bot_user_id,
            is_im=True, im_user=user_id, members=[self.bot_user_id, user_id],
        )
        self.channels[channel.id] = channel
        self._dm_by_user[user_id] = channel.id
        return channel

    def mpim_channel(self, user_ids: list[str]) -> SandboxChannel:
        members = sorted({self.bot_user_id, *user_ids})
        for channel in self.channels.values():
            if channel.is_mpim and sorted(channel.members) == members:
                return channel
        name = "mpdm-" + "--".join(self.users[u].name for u in members) + "-1"
        channel = SandboxChannel(id=self.new_id("C"), name=name, created=self.now_epoch(),
                                 creator=self.bot_user_id, is_private=True, is_mpim=True, members=members)
        self.channels[channel.id] = channel
        return channel

    # --- changes ------------------------------------------------------------------------------

    def create_channel(
        self, name: str, *, creator: str, is_private: bool, members: list[str] | None = None
    ) -> SandboxChannel:
        error = channel_name_error(name)
        if error:
            raise SlackRefusal(error)
        if any(c.name == name for c in self.channels.values() if not c.is_im):
            raise SlackRefusal("name_taken")
        channel = SandboxChannel(
            id=self.new_id("C"), name=name, created=self.now_epoch(),
            creator=creator, is_private=is_private, members=list(members or [creator]),
        )
        self.channels[channel.id] = channel
        return channel

    def post(
        self,
        channel: SandboxChannel,
        *,
        user: str,
        text: str,
        blocks: list[JSON] | None = None,
        thread_ts: str | None = None,
        reply_broadcast: bool = False,
        metadata: JSON | None = None,
        files: list[JSON] | None = None,
    ) -> SandboxMessage:
        if channel.is_archived:
            raise SlackRefusal("is_archived")
        parent = None
        if thread_ts:
            parent = next((m for m in channel.messages if m.ts == thread_ts), None)
            if parent is None or parent.is_reply:
                raise SlackRefusal("invalid_thread_ts")
        is_bot = user == self.bot_user_id
        message = SandboxMessage(
            channel=channel.id, ts=self.next_ts(), user=user, text=text,
            blocks=with_block_ids(blocks or []), thread_ts=thread_ts or None,
            reply_broadcast=reply_broadcast and parent is not None, metadata=metadata,
            files=list(files or []), bot_id=self.bot_id if is_bot else None,
            app_id=self.app_id if is_bot else None,
        )
        if parent is not None:
            parent.thread_ts = parent.ts
            parent.replies.append(message)
        channel.messages.append(message)
        return message

    def edit(self, message: SandboxMessage, *, text: str | None, blocks: list[JSON] | None,
             metadata: JSON | None = None) -> SandboxMessage:
        message.edits.append(MessageEdit(text=message.text, blocks=message.blocks, replaced_at=self.next_ts()))
        if text is not None:
            message.text = text
        if blocks is not None:
            message.blocks = with_block_ids(blocks)
        if metadata is not None:
            message.metadata = metadata
        return message

    def delete(self, channel: SandboxChannel, message: SandboxMessage) -> None:
        channel.messages.remove(message)
        for parent in channel.messages:
            if message in parent.replies:
                parent.replies.remove(message)
        if message.ts in channel.pins:
            channel.pins.remove(message.ts)

    def post_ephemeral(
        self, channel: SandboxChannel, *, user: str, text: str, blocks: list[JSON] | None,
        thread_ts: str | None, via: str,
    ) -> SandboxEphemeral:
        ephemeral = SandboxEphemeral(channel=channel.id, user=user, text=text, blocks=with_block_ids(blocks or []),
                                     ts=self.next_ts(), thread_ts=thread_ts, via=via)
        self.ephemerals.append(ephemeral)
        return ephemeral

    # --- rendering ----------------------------------------------------------------------------

    def user_to_slack(self, user: SandboxUser) -> JSON:
        now = self.clock.now().astimezone(ZoneInfo(user.tz))
        offset = now.utcoffset()
        profile: JSON = {
            "real_name": user.real_name, "real_name_normalized": user.real_name,
            "display_name": user.name, "display_name_normalized": user.name, "team": self.team_id,
        }
        if user.is_bot:
            profile["bot_id"] = self.bot_id
        return {
            "id": user.id, "team_id": self.team_id, "name": user.name, "deleted": False,
            "real_name": user.real_name, "tz": user.tz, "tz_label": now.tzname() or user.tz,
            "tz_offset": int(offset.total_seconds()) if offset else 0,
            "is_admin": user.is_admin, "is_owner": False, "is_primary_owner": False,
            "is_restricted": False, "is_ultra_restricted": False, "is_bot": user.is_bot,
            "is_app_user": False, "updated": _PROFILE_UPDATED, "profile": profile,
        }
