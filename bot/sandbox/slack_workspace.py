"""The sandbox Slack workspace: its users, channels, messages, pins, bookmarks and ephemerals, and the
operations on them (the records themselves are in :mod:`bot.sandbox.slack_records`).

Kept apart from the HTTP layer so the Web API methods, the response-URL handling and the test
inspection API all read and change one model, the way Slack itself is one source of truth.
Operations raise :class:`SlackRefusal` with Slack's own error names.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.sandbox.slack_records import (
    JSON,
    MessageEdit,
    SandboxChannel,
    SandboxEphemeral,
    SandboxMessage,
    SandboxUser,
    SlackRefusal,
    channel_name_error,
    with_block_ids,
)
from bot.sandbox.slack_usergroups import SandboxUserGroups

_PROFILE_UPDATED = 1_767_225_600  # 2026-01-01; a fixed value keeps transcripts reproducible


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
        self.usergroups = SandboxUserGroups(team_id=team_id, bot_user_id=bot_user_id, users=self.users,
                                            new_id=self.new_id, now=self.now_epoch)
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

    def users_lookup_by_email(self, args: JSON) -> JSON:
        email = str(args.get("email") or "").strip().lower()
        found = next((u for u in self.users.values() if u.email and u.email.lower() == email), None)
        if found is None:
            raise SlackRefusal("users_not_found")
        return {"user": self.user_to_slack(found)}

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
        if user.email:
            profile["email"] = user.email
        return {
            "id": user.id, "team_id": self.team_id, "name": user.name, "deleted": False,
            "real_name": user.real_name, "tz": user.tz, "tz_label": now.tzname() or user.tz,
            "tz_offset": int(offset.total_seconds()) if offset else 0,
            "is_admin": user.is_admin, "is_owner": False, "is_primary_owner": False,
            "is_restricted": False, "is_ultra_restricted": False, "is_bot": user.is_bot,
            "is_app_user": False, "updated": _PROFILE_UPDATED, "profile": profile,
        }
