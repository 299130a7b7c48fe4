"""Tokens and OAuth scopes, as Slack enforces them: what each Web API method and event needs.

The stand-in grants its bot token the scopes of an app manifest (by default the shipped
``manifests/slack-app.yaml``) and its app-level token ``connections:write``. A call without the
scope it needs is answered as Slack answers it — ``{"ok": false, "error": "missing_scope",
"needed": "pins:write", "provided": "chat:write,commands,..."}`` — and Slack's side delivers only
the events, commands and shortcuts the manifest subscribes to and has the scopes for. The scope
each method needs is from Slack's method reference ("Required scopes", bot tokens); for the
``conversations.*`` family it depends on the kind of conversation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from bot.sandbox.slack_records import JSON, SandboxChannel, SlackRefusal
from bot.sandbox.slack_workspace import SlackWorkspace


class ConversationKind(StrEnum):
    PUBLIC = "public_channel"
    PRIVATE = "private_channel"
    IM = "im"
    MPIM = "mpim"


def kind_of(channel: SandboxChannel) -> ConversationKind:
    if channel.is_im:
        return ConversationKind.IM
    if channel.is_mpim:
        return ConversationKind.MPIM
    return ConversationKind.PRIVATE if channel.is_private else ConversationKind.PUBLIC


def _by_kind(public: str, private: str, im: str, mpim: str) -> dict[ConversationKind, str]:
    return {ConversationKind.PUBLIC: public, ConversationKind.PRIVATE: private,
            ConversationKind.IM: im, ConversationKind.MPIM: mpim}


_READ = _by_kind("channels:read", "groups:read", "im:read", "mpim:read")
_HISTORY = _by_kind("channels:history", "groups:history", "im:history", "mpim:history")
_WRITE = _by_kind("channels:manage", "groups:write", "im:write", "mpim:write")

# Bot-token scope per method; None: no scope needed (auth.test, views.*, chat.getPermalink).
METHOD_SCOPES: dict[str, str | None] = {
    "auth.test": None,
    "chat.postMessage": "chat:write", "chat.update": "chat:write", "chat.delete": "chat:write",
    "chat.postEphemeral": "chat:write", "chat.getPermalink": None,
    "conversations.join": "channels:join",
    "pins.add": "pins:write", "pins.list": "pins:read",
    "bookmarks.add": "bookmarks:write",
    "reactions.add": "reactions:write",
    "users.info": "users:read", "users.list": "users:read", "users.lookupByEmail": "users:read.email",
    "views.open": None, "views.push": None, "views.update": None, "views.publish": None,
    "files.getUploadURLExternal": "files:write", "files.completeUploadExternal": "files:write",
    "usergroups.list": "usergroups:read", "usergroups.users.list": "usergroups:read",
    "usergroups.create": "usergroups:write", "usergroups.users.update": "usergroups:write",
}
# Methods whose scope depends on the conversation named by their ``channel`` argument.
CONVERSATION_SCOPES: dict[str, dict[ConversationKind, str]] = {
    "conversations.info": _READ, "conversations.members": _READ,
    "conversations.history": _HISTORY, "conversations.replies": _HISTORY,
    "conversations.invite": _WRITE, "conversations.setTopic": _WRITE, "conversations.archive": _WRITE,
}
APP_TOKEN_SCOPES: dict[str, str] = {"apps.connections.open": "connections:write"}

# Bot events and the scope Slack needs before it delivers them.
EVENT_SCOPES: dict[str, str | None] = {
    "app_home_opened": None, "reaction_added": "reactions:read", "pin_added": "pins:read",
    "message.channels": "channels:history", "message.groups": "groups:history",
    "message.im": "im:history", "message.mpim": "mpim:history",
}
_MESSAGE_SUBSCRIPTION = {ConversationKind.PUBLIC: "message.channels", ConversationKind.PRIVATE: "message.groups",
                         ConversationKind.IM: "message.im", ConversationKind.MPIM: "message.mpim"}
POST_TO_ANY_PUBLIC_CHANNEL = "chat:write.public"
COMMANDS = "commands"  # slash commands and shortcuts
ALL_BOT_SCOPES = frozenset(
    {s for s in METHOD_SCOPES.values() if s} | {s for m in CONVERSATION_SCOPES.values() for s in m.values()}
    | {s for s in EVENT_SCOPES.values() if s} | {*_READ.values(), *_WRITE.values(), "channels:join"}
    | {POST_TO_ANY_PUBLIC_CHANNEL, COMMANDS})


class Undeliverable(Exception):
    """Slack would not send this to the app: its manifest lacks the subscription or the scope."""


def deliverable(problem: str | None) -> None:
    if problem:
        raise Undeliverable(f"Slack would not send this to the app: {problem}")


def method_scopes(method: str, kinds: Iterable[ConversationKind]) -> set[str]:
    """Every scope ``method`` can need when used in conversations of ``kinds``."""
    if method in CONVERSATION_SCOPES:
        return {CONVERSATION_SCOPES[method][k] for k in kinds}
    if method == "conversations.open":
        return {_WRITE[k] for k in kinds if k in (ConversationKind.IM, ConversationKind.MPIM)}
    if method == "conversations.create":
        return {_WRITE[k] for k in kinds if k in (ConversationKind.PUBLIC, ConversationKind.PRIVATE)}
    if method == "conversations.list":
        return {_READ[k] for k in kinds}
    scope = METHOD_SCOPES.get(method) or APP_TOKEN_SCOPES.get(method)
    return {scope} if scope else set()


@dataclass
class AppGrants:
    """What an installed app may do: its bot scopes and what Slack sends it, from its manifest."""

    bot_scopes: frozenset[str]
    bot_events: frozenset[str] = frozenset()
    commands: frozenset[str] = frozenset()
    shortcuts: frozenset[str] = frozenset()
    app_scopes: frozenset[str] = field(default=frozenset({"connections:write"}))

    @classmethod
    def from_manifest(cls, manifest: dict[str, Any]) -> AppGrants:
        features, settings = manifest.get("features") or {}, manifest.get("settings") or {}
        return cls(
            bot_scopes=frozenset(((manifest.get("oauth_config") or {}).get("scopes") or {}).get("bot") or ()),
            bot_events=frozenset((settings.get("event_subscriptions") or {}).get("bot_events") or ()),
            commands=frozenset(c["command"] for c in features.get("slash_commands") or ()),
            shortcuts=frozenset(s["callback_id"] for s in features.get("shortcuts") or ()),
        )

    @classmethod
    def everything(cls, *, commands: Iterable[str] = (), shortcuts: Iterable[str] = ()) -> AppGrants:
        """Every scope and event the stand-in knows: for testing the stand-in itself."""
        return cls(bot_scopes=ALL_BOT_SCOPES, bot_events=frozenset(EVENT_SCOPES),
                   commands=frozenset(commands), shortcuts=frozenset(shortcuts))

    @classmethod
    def shipped(cls) -> AppGrants:
        from bot.manifest import load_manifest

        return cls.from_manifest(load_manifest())

    # --- Slack's side: what it delivers -------------------------------------------------------

    def delivery_problem(self, event: JSON, channel: SandboxChannel | None) -> str | None:
        """Why Slack would not send this event to the app (None: it would)."""
        kind = str(event.get("type"))
        subscription = _MESSAGE_SUBSCRIPTION[kind_of(channel)] if kind == "message" and channel else kind
        if subscription not in self.bot_events:
            return f"the manifest does not subscribe to the bot event {subscription!r}"
        scope = EVENT_SCOPES.get(subscription)
        if scope and scope not in self.bot_scopes:
            return f"the bot event {subscription!r} needs the scope {scope!r}, which the manifest does not grant"
        return None

    def command_problem(self, command: str) -> str | None:
        if command not in self.commands:
            return f"the manifest has no slash command {command!r}"
        return None if COMMANDS in self.bot_scopes else f"slash commands need the scope {COMMANDS!r}"

    def shortcut_problem(self, callback_id: str) -> str | None:
        if callback_id not in self.shortcuts:
            return f"the manifest has no shortcut {callback_id!r}"
        return None if COMMANDS in self.bot_scopes else f"shortcuts need the scope {COMMANDS!r}"


@dataclass
class TokenCheck:
    """Slack's checks before a Web API method runs: which token, and whether it has the scope."""

    bot_token: str
    app_token: str
    grants: AppGrants

    def check(self, method: str, token: str | None, args: JSON, ws: SlackWorkspace) -> None:
        if not token:
            raise SlackRefusal("not_authed")
        if token == self.app_token:
            if method not in APP_TOKEN_SCOPES:
                raise SlackRefusal("not_allowed_token_type")
            self._require(APP_TOKEN_SCOPES[method], self.grants.app_scopes)
        elif token == self.bot_token:
            if method in APP_TOKEN_SCOPES:
                raise SlackRefusal("not_allowed_token_type")
            for scope in sorted(self._needed(method, args, ws)):
                self._require(scope, self.grants.bot_scopes)
            self._check_public_post(method, args, ws)
        else:
            raise SlackRefusal("invalid_auth")

    @staticmethod
    def _require(scope: str, granted: frozenset[str]) -> None:
        if scope not in granted:
            raise SlackRefusal("missing_scope", needed=scope, provided=",".join(sorted(granted)))

    @staticmethod
    def _needed(method: str, args: JSON, ws: SlackWorkspace) -> set[str]:
        if method == "conversations.list":
            known = {k.value for k in ConversationKind}
            kinds = [ConversationKind(t) for t in str(args.get("types") or "public_channel").split(",") if t in known]
            return method_scopes(method, kinds)
        if method == "conversations.create":
            private = args.get("is_private") in (True, "1", "true", "True")
            return method_scopes(method, [ConversationKind.PRIVATE if private else ConversationKind.PUBLIC])
        if method == "conversations.open":
            users = [u for u in str(args.get("users") or "").split(",") if u.strip()]
            many = len([u for u in users if u.strip() != ws.bot_user_id]) > 1
            return method_scopes(method, [ConversationKind.MPIM if many else ConversationKind.IM])
        if method in CONVERSATION_SCOPES:
            channel = ws.find_channel(str(args.get("channel") or ""))
            return method_scopes(method, [kind_of(channel)]) if channel else set()  # unknown: channel_not_found
        return method_scopes(method, ())

    def _check_public_post(self, method: str, args: JSON, ws: SlackWorkspace) -> None:
        """Without chat:write.public the bot can post only where it is a member."""
        if method != "chat.postMessage" or POST_TO_ANY_PUBLIC_CHANNEL in self.grants.bot_scopes:
            return
        channel = ws.find_channel(str(args.get("channel") or ""))
        if channel is not None and not channel.is_im and ws.bot_user_id not in channel.members:
            raise SlackRefusal("not_in_channel")
