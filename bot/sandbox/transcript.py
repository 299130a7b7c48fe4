"""A readable transcript of what the bot showed people: Slack messages, edits, DMs, ephemerals, SMS.

Used by ``watchstander demo``. It renders Block Kit roughly as Slack does, so a reader without a
workspace sees what the team would see.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable
from typing import Any

from bot.sandbox.slack import RecordedCall, SlackStandIn

SHOWN = {
    "chat.postMessage": "posted", "chat.update": "edited", "chat.postEphemeral": "only you can see this",
    "views.open": "modal opened", "views.publish": "App Home", "conversations.create": "channel created",
    "files.completeUploadExternal": "file uploaded", "pins.add": "pinned", "conversations.invite": "invited",
    "response_url": "reply",
}
_DATE = re.compile(r"<!date\^\d+\^[^|]*\|([^>]*)>")
_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]+)>")
_CHANNEL = re.compile(r"<#([CGD][A-Z0-9]+)(?:\|([^>]*))?>")


def plain(text: str, names: dict[str, str]) -> str:
    """Slack mrkdwn as a person reads it: dates resolved, mentions as @name / #channel, links as text.
    ``names`` maps user and channel ids to names."""
    text = _DATE.sub(lambda m: m.group(1), text)
    text = _CHANNEL.sub(lambda m: "#" + (m.group(2) or names.get(m.group(1), m.group(1))), text)
    text = _USER.sub(lambda m: "@" + names.get(m.group(1), m.group(1)), text)
    text = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})", text)
    text = text.replace("<!here>", "@here").replace("<!channel>", "@channel")
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _text(obj: Any) -> str:
    return str(obj.get("text", "")) if isinstance(obj, dict) else str(obj or "")


def _section_lines(block: dict[str, Any], names: dict[str, str]) -> list[str]:
    lines: list[str] = []
    if block.get("text"):
        lines += plain(_text(block["text"]), names).split("\n")
    fields = [plain(_text(f), names).replace("\n", ": ", 1) for f in block.get("fields", [])]
    for i in range(0, len(fields), 2):
        lines.append("   ".join(f.ljust(34) for f in fields[i:i + 2]).rstrip())
    if block.get("accessory", {}).get("type") == "checkboxes":
        for opt in block["accessory"].get("options", []):
            lines.append(f"  ☐ {plain(_text(opt.get('text')), names)}")
    return lines


def _actions_lines(block: dict[str, Any], names: dict[str, str]) -> list[str]:
    lines: list[str] = []
    labels = []
    for e in block.get("elements", []):
        if e.get("type") == "button":
            labels.append(f"[{_text(e.get('text'))}]")
        elif e.get("type") == "overflow":
            labels.append("[⋯]")
        elif e.get("type") == "checkboxes":
            lines += [f"  ☐ {plain(_text(o.get('text')), names)}" for o in e.get("options", [])]
    if labels:
        lines.append(" ".join(labels))
    return lines


def render_blocks(blocks: list[dict[str, Any]], names: dict[str, str]) -> list[str]:
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            lines.append(f"▌ {_text(block.get('text'))}")
        elif kind == "section":
            lines += _section_lines(block, names)
        elif kind == "context":
            lines.append(plain(" ".join(_text(e) for e in block.get("elements", [])), names))
        elif kind == "actions":
            lines += _actions_lines(block, names)
        elif kind == "divider":
            lines.append("─" * 40)
    return lines


class Transcript:
    """Prints each visible change as it happens; ``write`` is where lines go (print by default)."""

    def __init__(self, slack: SlackStandIn, names: dict[str, str], *, write: Callable[[str], None] = print,
                 verbose: bool = False) -> None:
        self.slack = slack
        self.names = names
        self.write = write
        self.verbose = verbose

    def _where(self, channel: object) -> str:
        if not isinstance(channel, str) or not channel:
            return "?"
        try:
            ch = self.slack.channel(channel)
        except (KeyError, LookupError):
            return channel
        if getattr(ch, "is_im", False):
            user = next((m for m in self.slack.members(ch.id) if m != self.slack.bot_user_id), "")
            return f"DM to @{self.names.get(user, user)}"
        return f"#{ch.name}"

    def on_call(self, call: RecordedCall) -> None:
        if self.verbose:
            self.write(f"    · {call.method} {'ok' if call.ok else call.error}")
        if call.method not in SHOWN or not call.ok:
            return
        args = call.args
        if call.method == "conversations.create":
            self.write(f"\n● Slack #{call.response.get('channel', {}).get('name', args.get('name'))}: channel created")
            return
        if call.method == "response_url":
            kind = "in the channel" if args.get("response_type") == "in_channel" else "only visible to you"
            self.write(f"\n● Slack reply ({kind})")
            self._body(args.get("blocks") or [], str(args.get("text", "")))
            return
        where = self._where(args.get("channel") or args.get("channel_id") or call.response.get("channel"))
        if call.method == "conversations.invite":
            users = ", ".join("@" + self.names.get(u, u) for u in str(args.get("users", "")).split(",") if u)
            self.write(f"  {where}: invited {users}")
            return
        if call.method == "files.completeUploadExternal":
            self.write(f"\n● Slack {where}: file uploaded")
            return
        if call.method == "pins.add":
            self.write(f"  {where}: message pinned")
            return
        if call.method in ("views.open", "views.publish"):
            view = args.get("view") or {}
            title = _text(view.get("title")) or SHOWN[call.method]
            self.write(f"\n● Slack {SHOWN[call.method]}: {title}")
            self._body(view.get("blocks", []), "")
            return
        thread = " (thread reply)" if args.get("thread_ts") and call.method == "chat.postMessage" else ""
        who = f" → @{self.names.get(str(args.get('user')), args.get('user'))}" if args.get("user") else ""
        self.write(f"\n● Slack {where}{who} [{SHOWN[call.method]}]{thread}")
        self._body(args.get("blocks") or [], str(args.get("text", "")))

    def show(self, blocks: Any, text: str) -> None:
        self._body(blocks, text)

    def _body(self, blocks: Any, text: str) -> None:
        if isinstance(blocks, str):
            import json

            blocks = json.loads(blocks)
        names = {**self.names, **{c.id: c.name for c in self.slack.channels}}
        lines = render_blocks(blocks, names) if blocks else plain(text, names).split("\n")
        for line in lines:
            for wrapped in textwrap.wrap(line, 100) or [""]:
                self.write(f"    {wrapped}")

    def sms_seen(self, direction: str, who: str, body: str) -> None:
        """One SMS through the Twilio stand-in; people by name, never by number."""
        heading = {"outbound-api": f"SMS to {who}", "inbound": f"SMS from {who}",
                   "outbound-reply": f"SMS reply to {who}"}.get(direction, f"SMS ({direction}) {who}")
        self.write(f"\n● {heading}:")
        for wrapped in textwrap.wrap(body, 100):
            self.write(f"    {wrapped}")

    def note(self, text: str) -> None:
        self.write(f"\n—— {text}")
