"""The Slack Web API methods the bot uses, answering with Slack's shapes and Slack's error names.

Each method takes the request's merged arguments (query string, form or JSON body — slack_sdk
uses all three depending on the method) and returns the response body without ``ok``; refusals
are raised as :class:`SlackRefusal` and rate limits as :class:`~bot.sandbox.slack_args.RateLimited`;
the arguments are read and checked by :mod:`bot.sandbox.slack_args`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from bot.sandbox.slack_args import RateLimited, message_content, message_metadata, page_of, ts_bound, view_arg
from bot.sandbox.slack_files import FileUploads
from bot.sandbox.slack_records import (
    JSON,
    TOPIC_MAX,
    SandboxChannel,
    SandboxMessage,
    SlackRefusal,
    flag,
    text_arg,
)
from bot.sandbox.slack_views import SandboxView, ViewRegistry
from bot.sandbox.slack_workspace import SlackWorkspace

Method = Callable[[JSON], JSON]


class SlackWebApi:
    def __init__(
        self,
        workspace: SlackWorkspace,
        views: ViewRegistry,
        *,
        base_url: Callable[[], str],
        rate_limit_per_channel: float | None,
    ) -> None:
        self._ws = workspace
        self._views = views
        self._base_url = base_url
        self.rate_limit_per_channel = rate_limit_per_channel
        self._last_post: dict[str, float] = {}
        self.files = FileUploads(workspace, base_url=base_url)
        w = self
        self.methods: dict[str, Method] = {
            "auth.test": w.auth_test,
            "chat.postMessage": w.chat_post_message,
            "chat.update": w.chat_update,
            "chat.delete": w.chat_delete,
            "chat.postEphemeral": w.chat_post_ephemeral,
            "chat.getPermalink": w.chat_get_permalink,
            "conversations.open": w.conversations_open,
            "conversations.create": w.conversations_create,
            "conversations.invite": w.conversations_invite,
            "conversations.join": w.conversations_join,
            "conversations.info": w.conversations_info,
            "conversations.list": w.conversations_list,
            "conversations.members": w.conversations_members,
            "conversations.history": w.conversations_history,
            "conversations.replies": w.conversations_replies,
            "conversations.setTopic": w.conversations_set_topic,
            "conversations.archive": w.conversations_archive,
            "pins.add": w.pins_add,
            "pins.list": w.pins_list,
            "bookmarks.add": w.bookmarks_add,
            "reactions.add": w.reactions_add,
            "users.info": w.users_info,
            "users.list": w.users_list,
            "users.lookupByEmail": workspace.users_lookup_by_email,
            "views.open": w.views_open,
            "views.push": w.views_push,
            "views.update": w.views_update,
            "views.publish": w.views_publish,
            "files.getUploadURLExternal": w.files_get_upload_url_external,
            "files.completeUploadExternal": w.files_complete_upload_external,
            **workspace.usergroups.methods,
        }

    # --- helpers ------------------------------------------------------------------------------

    def _render(self, message: SandboxMessage, *, include_metadata: bool = True) -> JSON:
        return message.to_slack(team_id=self._ws.team_id, include_metadata=include_metadata)

    def _channel_for_bot(self, ref: object) -> SandboxChannel:
        """A conversation the bot can see: private ones it is not in look like they do not exist."""
        channel = self._ws.channel(ref)
        if channel.is_private and self._ws.bot_user_id not in channel.members:
            raise SlackRefusal("channel_not_found")
        return channel

    def _member_channel(self, ref: object) -> SandboxChannel:
        channel = self._channel_for_bot(ref)
        if not channel.is_im and self._ws.bot_user_id not in channel.members:
            raise SlackRefusal("not_in_channel")
        return channel

    def _check_rate(self, channel: SandboxChannel) -> None:
        """About one message per second per channel, on wall time (Slack's limit is real seconds)."""
        if not self.rate_limit_per_channel:
            return
        interval = 1.0 / self.rate_limit_per_channel
        now = time.monotonic()
        last = self._last_post.get(channel.id)
        if last is not None and now - last < interval:
            raise RateLimited(max(1, math.ceil(interval - (now - last))))
        self._last_post[channel.id] = now

    def _view_response(self, record: SandboxView) -> JSON:
        return {"view": record.view}

    # --- auth / chat --------------------------------------------------------------------------

    def auth_test(self, args: JSON) -> JSON:
        return {"url": "https://sandbox.slack.com/", "team": "Sandbox", "user": "watchstander",
                "team_id": self._ws.team_id, "user_id": self._ws.bot_user_id, "bot_id": self._ws.bot_id,
                "is_enterprise_install": False}

    def chat_post_message(self, args: JSON) -> JSON:
        channel = self._channel_for_bot(args.get("channel"))
        text, blocks = message_content(args)
        metadata = message_metadata(args)
        if channel.is_archived:
            raise SlackRefusal("is_archived")
        self._check_rate(channel)
        message = self._ws.post(channel, user=self._ws.bot_user_id, text=text or "", blocks=blocks,
                                thread_ts=text_arg(args, "thread_ts"), reply_broadcast=flag(args, "reply_broadcast"),
                                metadata=metadata)
        return {"channel": channel.id, "ts": message.ts, "message": self._render(message)}

    def chat_update(self, args: JSON) -> JSON:
        channel = self._channel_for_bot(args.get("channel"))
        message = self._ws.message(channel, args.get("ts"))
        text, blocks = message_content(args, required=False)
        metadata = message_metadata(args)
        if text is None and blocks is None and metadata is None and not args.get("attachments"):
            raise SlackRefusal("no_text")
        if message.user != self._ws.bot_user_id:
            raise SlackRefusal("cant_update_message")
        if channel.is_archived:
            raise SlackRefusal("is_archived")
        self._ws.edit(message, text=text, blocks=blocks, metadata=metadata)
        return {"channel": channel.id, "ts": message.ts, "text": message.text, "message": self._render(message)}

    def chat_delete(self, args: JSON) -> JSON:
        channel = self._channel_for_bot(args.get("channel"))
        message = self._ws.message(channel, args.get("ts"))
        if message.user != self._ws.bot_user_id:
            raise SlackRefusal("cant_delete_message")
        self._ws.delete(channel, message)
        return {"channel": channel.id, "ts": message.ts}

    def chat_post_ephemeral(self, args: JSON) -> JSON:
        channel = self._channel_for_bot(args.get("channel"))
        user = self._ws.user(args.get("user"))
        text, blocks = message_content(args)
        if user.id not in channel.members:
            raise SlackRefusal("user_not_in_channel")
        ephemeral = self._ws.post_ephemeral(channel, user=user.id, text=text or "", blocks=blocks,
                                            thread_ts=text_arg(args, "thread_ts"), via="chat.postEphemeral")
        return {"message_ts": ephemeral.ts}

    def chat_get_permalink(self, args: JSON) -> JSON:
        channel = self._channel_for_bot(args.get("channel"))
        message = self._ws.message(channel, args.get("message_ts"))
        link = f"https://sandbox.slack.com/archives/{channel.id}/p{message.ts.replace('.', '')}"
        if message.is_reply:
            link += f"?thread_ts={message.thread_ts}&cid={channel.id}"
        return {"channel": channel.id, "permalink": link}

    # --- conversations ------------------------------------------------------------------------

    def conversations_open(self, args: JSON) -> JSON:
        if channel_ref := text_arg(args, "channel"):
            channel = self._channel_for_bot(channel_ref)
            return {"channel": channel.to_slack(viewer=self._ws.bot_user_id, team_id=self._ws.team_id)}
        users = [u.strip() for u in str(args.get("users") or "").split(",") if u.strip()]
        if not users:
            raise SlackRefusal("users_list_not_supplied")
        for user_id in users:
            self._ws.user(user_id)
        others = [u for u in users if u != self._ws.bot_user_id]
        if len(others) == 1:
            existed = others[0] in self._dm_ids()
            channel = self._ws.dm_channel(others[0])
        else:
            existed = False
            channel = self._ws.mpim_channel(others)
        body: JSON = {"channel": {"id": channel.id}}
        if flag(args, "return_im") or len(others) > 1:
            body["channel"] = channel.to_slack(viewer=self._ws.bot_user_id, team_id=self._ws.team_id)
        if existed:
            body.update(no_op=True, already_open=True)
        return body

    def _dm_ids(self) -> set[str]:
        return {c.im_user for c in self._ws.channels.values() if c.is_im and c.im_user}

    def conversations_create(self, args: JSON) -> JSON:
        channel = self._ws.create_channel(str(args.get("name") or ""), creator=self._ws.bot_user_id,
                                          is_private=flag(args, "is_private"))
        return {"channel": channel.to_slack(viewer=self._ws.bot_user_id, team_id=self._ws.team_id)}

    def conversations_invite(self, args: JSON) -> JSON:
        channel = self._member_channel(args.get("channel"))
        if channel.is_archived:
            raise SlackRefusal("is_archived")
        users = [u.strip() for u in str(args.get("users") or "").split(",") if u.strip()]
        if not users:
            raise SlackRefusal("no_user")
        for user_id in users:
            self._ws.user(user_id)
        if self._ws.bot_user_id in users:
            raise SlackRefusal("cant_invite_self")
        already = [u for u in users if u in channel.members]
        if already and not flag(args, "force"):
            raise SlackRefusal("already_in_channel",
                               errors=[{"user": u, "ok": False, "error": "already_in_channel"} for u in already])
        channel.members.extend(u for u in users if u not in channel.members)
        return {"channel": channel.to_slack(viewer=self._ws.bot_user_id, team_id=self._ws.team_id)}

    def conversations_join(self, args: JSON) -> JSON:
        channel = self._ws.channel(args.get("channel"))
        if channel.is_im or channel.is_private:
            raise SlackRefusal("method_not_supported_for_channel_type")
        if channel.is_archived:
            raise SlackRefusal("is_archived")
        body: JSON = {}
        if self._ws.bot_user_id in channel.members:
            body = {"warning": "already_in_channel", "response_metadata": {"warnings": ["already_in_channel"]}}
        else:
            channel.members.append(self._ws.bot_user_id)
        return {"channel": channel.to_slack(viewer=self._ws.bot_user_id, team_id=self._ws.team_id), **body}

    def conversations_info(self, args: JSON) -> JSON:
        channel = self._channel_for_bot(args.get("channel"))
        return {"channel": channel.to_slack(viewer=self._ws.bot_user_id, team_id=self._ws.team_id)}

    def conversations_list(self, args: JSON) -> JSON:
        types = set(str(args.get("types") or "public_channel").split(","))
        bot = self._ws.bot_user_id

        def wanted(c: SandboxChannel) -> bool:
            if c.is_im:
                return "im" in types
            if c.is_mpim:
                return "mpim" in types and bot in c.members
            if c.is_private:
                return "private_channel" in types and bot in c.members
            return "public_channel" in types

        channels = [c for c in self._ws.channels.values()
                    if wanted(c) and not (flag(args, "exclude_archived") and c.is_archived)]
        page, cursor = page_of(channels, args)
        return {"channels": [c.to_slack(viewer=bot, team_id=self._ws.team_id) for c in page],
                "response_metadata": {"next_cursor": cursor}}

    def conversations_members(self, args: JSON) -> JSON:
        channel = self._channel_for_bot(args.get("channel"))
        page, cursor = page_of(channel.members, args)
        return {"members": page, "response_metadata": {"next_cursor": cursor}}

    def _by_id(self, ref: object) -> SandboxChannel:
        """Methods that take a conversation ID only (Slack answers a name with ``channel_not_found``)."""
        if not isinstance(ref, str) or ref not in self._ws.channels:
            raise SlackRefusal("channel_not_found")
        return self._member_channel(ref)

    def conversations_history(self, args: JSON) -> JSON:
        channel = self._by_id(args.get("channel"))
        oldest, latest = ts_bound(args, "oldest", 0), ts_bound(args, "latest", math.inf)
        inclusive = flag(args, "inclusive")

        def in_window(m: SandboxMessage) -> bool:
            ts = float(m.ts)
            return (oldest <= ts <= latest) if inclusive else (oldest < ts < latest)

        newest_first = [m for m in reversed(self._ws.history(channel)) if in_window(m)]
        page, cursor = page_of(newest_first, args)
        metadata = flag(args, "include_all_metadata")
        return {"messages": [self._render(m, include_metadata=metadata) for m in page],
                "has_more": bool(cursor), "pin_count": len(channel.pins),
                "response_metadata": {"next_cursor": cursor}}

    def conversations_replies(self, args: JSON) -> JSON:
        channel = self._by_id(args.get("channel"))
        try:
            message = self._ws.message(channel, args.get("ts"))
        except SlackRefusal:
            raise SlackRefusal("thread_not_found") from None
        thread = [message, *message.replies] if not message.is_reply else [message]
        page, cursor = page_of(thread, args, default_limit=1000)
        metadata = flag(args, "include_all_metadata")
        return {"messages": [self._render(m, include_metadata=metadata) for m in page],
                "has_more": bool(cursor), "response_metadata": {"next_cursor": cursor}}

    def conversations_set_topic(self, args: JSON) -> JSON:
        channel = self._member_channel(args.get("channel"))
        topic = str(args.get("topic") or "")
        if len(topic) > TOPIC_MAX:
            raise SlackRefusal("too_long")
        if channel.is_archived:
            raise SlackRefusal("is_archived")
        channel.topic = topic
        return {"channel": channel.to_slack(viewer=self._ws.bot_user_id, team_id=self._ws.team_id)}

    def conversations_archive(self, args: JSON) -> JSON:
        channel = self._channel_for_bot(args.get("channel"))
        if channel.is_im or channel.is_mpim:
            raise SlackRefusal("method_not_supported_for_channel_type")
        if channel.is_archived:
            raise SlackRefusal("already_archived")
        channel.is_archived = True
        return {}

    # --- pins, bookmarks, reactions -----------------------------------------------------------

    def pins_add(self, args: JSON) -> JSON:
        channel = self._member_channel(args.get("channel"))
        if not args.get("timestamp"):
            raise SlackRefusal("no_item_specified")
        message = self._ws.message(channel, args.get("timestamp"))
        if message.ts in channel.pins:
            raise SlackRefusal("already_pinned")
        channel.pins.append(message.ts)
        return {}

    def pins_list(self, args: JSON) -> JSON:
        channel = self._member_channel(args.get("channel"))
        items = [{"type": "message", "channel": channel.id, "created_by": self._ws.bot_user_id,
                  "message": self._render(self._ws.message(channel, ts))} for ts in channel.pins]
        return {"items": items}

    def bookmarks_add(self, args: JSON) -> JSON:
        channel = self._member_channel(args.get("channel_id"))
        title, kind = text_arg(args, "title"), text_arg(args, "type")
        if not title or kind != "link" or not text_arg(args, "link"):
            raise SlackRefusal("invalid_arguments")
        bookmark = {"id": self._ws.new_id("Bk"), "channel_id": channel.id, "title": title, "link": args["link"],
                    "emoji": args.get("emoji"), "icon_url": None, "type": kind,
                    "date_created": self._ws.now_epoch(), "date_updated": 0, "rank": "U",
                    "last_updated_by_user_id": self._ws.bot_user_id, "last_updated_by_team_id": self._ws.team_id,
                    "shortcut_id": None, "entity_id": None, "app_id": self._ws.app_id}
        channel.bookmarks.append(bookmark)
        return {"bookmark": bookmark}

    def reactions_add(self, args: JSON) -> JSON:
        channel = self._member_channel(args.get("channel"))
        name = str(args.get("name") or "").strip(":")
        if not name:
            raise SlackRefusal("invalid_name")
        message = self._ws.message(channel, args.get("timestamp"))
        users = message.reactions.setdefault(name, [])
        if self._ws.bot_user_id in users:
            raise SlackRefusal("already_reacted")
        users.append(self._ws.bot_user_id)
        return {}

    # --- users --------------------------------------------------------------------------------

    def users_info(self, args: JSON) -> JSON:
        return {"user": self._ws.user_to_slack(self._ws.user(args.get("user")))}

    def users_list(self, args: JSON) -> JSON:
        page, cursor = page_of(list(self._ws.users.values()), args, default_limit=200)
        return {"members": [self._ws.user_to_slack(u) for u in page], "cache_ts": self._ws.now_epoch(),
                "response_metadata": {"next_cursor": cursor}}

    # --- views --------------------------------------------------------------------------------

    def views_open(self, args: JSON) -> JSON:
        view = view_arg(args)
        return self._view_response(self._views.open(args.get("trigger_id") or args.get("interactivity_pointer"), view))

    def views_push(self, args: JSON) -> JSON:
        view = view_arg(args)
        return self._view_response(self._views.push(args.get("trigger_id") or args.get("interactivity_pointer"), view))

    def views_update(self, args: JSON) -> JSON:
        view = view_arg(args)
        return self._view_response(self._views.update(view_id=args.get("view_id"),
                                                      external_id=args.get("external_id"),
                                                      view=view, hash_=args.get("hash")))

    def views_publish(self, args: JSON) -> JSON:
        view = view_arg(args)
        return self._view_response(self._views.publish(user_id=args.get("user_id"), view=view, hash_=args.get("hash")))

    # --- files --------------------------------------------------------------------------------

    def files_get_upload_url_external(self, args: JSON) -> JSON:
        return self.files.get_upload_url(args)

    def files_complete_upload_external(self, args: JSON) -> JSON:
        channel_refs = [args["channel_id"]] if args.get("channel_id") else []
        channel_refs += [c for c in str(args.get("channels") or "").split(",") if c]
        return self.files.complete(args, [self._member_channel(ref) for ref in channel_refs])
