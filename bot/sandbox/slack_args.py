"""Reading a Web API call's arguments as Slack does: cursor pagination, message text and blocks
within Slack's limits, message metadata, views — and the refusals Slack answers bad ones with."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from bot.sandbox.blockkit_limits import MESSAGE_TEXT_MAX, message_block_errors, view_errors
from bot.sandbox.slack_records import JSON, SlackRefusal, text_arg


class RateLimited(Exception):
    """Slack's HTTP 429 with ``Retry-After``; distinct from a refusal because the status differs."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"rate limited, retry after {retry_after}s")
        self.retry_after = retry_after


def page_of(items: list[Any], args: JSON, *, default_limit: int = 100) -> tuple[list[Any], str]:
    """Cursor pagination; the cursor is opaque base64 as in Slack (``bmV4dF9pZDo...``)."""
    try:
        limit = int(args.get("limit") or default_limit)
    except ValueError:
        raise SlackRefusal("invalid_limit") from None
    limit = max(1, min(limit, 1000))
    offset = 0
    if cursor := text_arg(args, "cursor"):
        try:
            offset = int(base64.b64decode(cursor).decode().removeprefix("offset:"))
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise SlackRefusal("invalid_cursor") from None
    end = offset + limit
    next_cursor = base64.b64encode(f"offset:{end}".encode()).decode() if end < len(items) else ""
    return items[offset:end], next_cursor


def invalid_blocks(errors: list[str]) -> SlackRefusal:
    return SlackRefusal("invalid_blocks", errors=errors, response_metadata={"messages": [f"[ERROR] {e}" for e in errors]})


def message_content(args: JSON, *, required: bool = True) -> tuple[str | None, list[JSON] | None]:
    text = args.get("text")
    text = None if text is None else str(text)
    blocks = args.get("blocks")
    if blocks is not None and not isinstance(blocks, list):
        raise SlackRefusal("invalid_blocks_format")
    if text is not None and len(text) > MESSAGE_TEXT_MAX:
        raise SlackRefusal("msg_too_long")
    if required and not text and not blocks and not args.get("attachments"):
        raise SlackRefusal("no_text")
    if blocks and (errors := message_block_errors(blocks)):
        raise invalid_blocks(errors)
    return text, blocks


def message_metadata(args: JSON) -> JSON | None:
    metadata = args.get("metadata")
    if metadata is None:
        return None
    if not isinstance(metadata, dict) or not isinstance(metadata.get("event_type"), str):
        raise SlackRefusal("invalid_metadata_format")
    return metadata

def view_arg(args: JSON) -> JSON:
    view = args.get("view")
    if errors := view_errors(view):
        raise SlackRefusal("invalid_arguments", response_metadata={"messages": [f"[ERROR] {e}" for e in errors]})
    assert isinstance(view, dict)
    return view


_TS = re.compile(r"\d{1,12}(\.\d{1,6})?")  # a message timestamp as Slack writes one: "1796292897.724404"


def ts_bound(args: JSON, name: str, default: float) -> float:
    """``oldest`` or ``latest`` of a history call as a number; anything Slack would not read as a
    timestamp is refused with its own error (``invalid_ts_oldest``, ``invalid_ts_latest``)."""
    value = args.get(name)
    if value is None or value == "":
        return default
    if not _TS.fullmatch(str(value)):
        raise SlackRefusal(f"invalid_ts_{name}")
    return float(value)
