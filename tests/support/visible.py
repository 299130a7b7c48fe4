"""What a person sees of a Slack message: its blocks flattened to text, and its buttons."""

from __future__ import annotations

from typing import Any


def _text(obj: Any) -> str:
    if isinstance(obj, dict):
        return str(obj.get("text", ""))
    return str(obj or "")


def visible_text(message: Any) -> str:
    """All the text of a message's blocks (or its text when it has none), one block a line."""
    blocks = getattr(message, "blocks", None) or []
    if not blocks:
        return str(getattr(message, "text", ""))
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind in ("header", "section"):
            if block.get("text"):
                lines.append(_text(block["text"]))
            for f in block.get("fields", []):
                lines.append(_text(f))
        elif kind == "context":
            lines.append(" ".join(_text(e) for e in block.get("elements", [])))
        elif kind == "actions":
            lines.append(" | ".join(button_labels_of(block)))
        elif kind == "rich_text":
            lines.append(str(block))
    return "\n".join(lines)


def button_labels_of(block: dict[str, Any]) -> list[str]:
    return [_text(e.get("text")) or e.get("type", "") for e in block.get("elements", [])]


def buttons(message: Any) -> list[str]:
    out: list[str] = []
    for block in getattr(message, "blocks", None) or []:
        if block.get("type") == "actions":
            out += [_text(e.get("text")) for e in block.get("elements", []) if e.get("type") == "button"]
    return out


def overflow_options(message: Any) -> list[str]:
    for block in getattr(message, "blocks", None) or []:
        for e in block.get("elements", []) if block.get("type") == "actions" else []:
            if e.get("type") == "overflow":
                return [_text(o.get("text")) for o in e.get("options", [])]
    return []
