"""Slack's ``response_url``: handed out with each slash command and click, it takes up to five
POSTs that reply ephemerally, in the channel, or replace or delete the original message."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass

from bot.sandbox.blockkit_limits import message_block_errors
from bot.sandbox.slack_args import invalid_blocks
from bot.sandbox.slack_records import JSON, SandboxEphemeral, SlackRefusal, flag
from bot.sandbox.slack_workspace import SlackWorkspace

RESPONSE_URL_MAX_USES = 5  # Slack: a response_url works up to five times within 30 minutes


@dataclass
class ResponsePost:
    """A POST to a response_url, with what Slack made of it."""

    url: str
    channel: str
    user_id: str
    payload: JSON
    response_type: str
    replace_original: bool
    delete_original: bool


@dataclass
class _ResponseUrl:
    id: str
    channel: str
    user_id: str
    message_ts: str | None
    ephemeral: SandboxEphemeral | None = None
    uses: int = 0


class ResponseUrls:
    """The response_urls issued so far, and every POST made to them (``posts``)."""

    def __init__(self, workspace: SlackWorkspace, *, base_url: Callable[[], str]) -> None:
        self._ws = workspace
        self._base_url = base_url
        self._urls: dict[str, _ResponseUrl] = {}
        self.posts: list[ResponsePost] = []

    def new(self, *, channel_id: str, user_id: str, message_ts: str | None = None,
            ephemeral: SandboxEphemeral | None = None) -> str:
        """A response_url as Slack puts in slash commands and interaction payloads."""
        url_id = secrets.token_urlsafe(12)
        self._urls[url_id] = _ResponseUrl(url_id, channel_id, user_id, message_ts, ephemeral)
        return f"{self._base_url()}/response/{url_id}"

    def receive(self, url_id: str, payload: object, *, url: str) -> tuple[int, JSON]:
        """One POST to a response_url: the HTTP status and body Slack answers with."""
        target = self._urls.get(url_id)
        if target is None:
            return 404, {"ok": False, "error": "expired_url"}
        if target.uses >= RESPONSE_URL_MAX_USES:
            return 404, {"ok": False, "error": "used_url"}
        if not isinstance(payload, dict):
            return 400, {"ok": False, "error": "invalid_payload"}
        target.uses += 1
        try:
            self.apply(target.channel, target.user_id, payload, url=url, message_ts=target.message_ts,
                       ephemeral=target.ephemeral)
        except SlackRefusal as refusal:
            return 400, {"ok": False, "error": refusal.error, **refusal.extra}
        return 200, {"ok": True}

    def apply(
        self, channel_id: str, user_id: str, payload: JSON, *, url: str, message_ts: str | None = None,
        ephemeral: SandboxEphemeral | None = None,
    ) -> None:
        """Do what Slack does with a response_url POST or a slash command's ack body."""
        ws = self._ws
        channel = ws.channel(channel_id)
        blocks = payload.get("blocks")
        if isinstance(blocks, list) and (errors := message_block_errors(blocks)):
            raise invalid_blocks(errors)
        text = str(payload.get("text") or "")
        post = ResponsePost(url=url, channel=channel.id, user_id=user_id, payload=payload,
                            response_type=str(payload.get("response_type") or "ephemeral"),
                            replace_original=flag(payload, "replace_original"),
                            delete_original=flag(payload, "delete_original"))
        self.posts.append(post)
        if post.delete_original:
            if ephemeral is not None:
                ephemeral.deleted = True
            elif message_ts is not None:
                ws.delete(channel, ws.message(channel, message_ts))
        elif post.replace_original and ephemeral is not None:
            ephemeral.text, ephemeral.blocks = text, list(blocks or [])
        elif post.replace_original and message_ts is not None:
            ws.edit(ws.message(channel, message_ts), text=text, blocks=blocks if isinstance(blocks, list) else [])
        elif post.response_type == "in_channel":
            ws.post(channel, user=ws.bot_user_id, text=text, blocks=blocks if isinstance(blocks, list) else None,
                    thread_ts=payload.get("thread_ts"))
        else:
            ws.post_ephemeral(channel, user=user_id, text=text, blocks=blocks if isinstance(blocks, list) else None,
                              thread_ts=payload.get("thread_ts"), via="response_url")
