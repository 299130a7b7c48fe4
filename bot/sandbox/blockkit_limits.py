"""Block Kit limits as Slack enforces them, so a too-long field fails in tests instead of at 3 a.m.

Slack rejects the whole message when one limit is exceeded; an alert with a 3,001-character
description would never reach the channel. The messages mimic Slack's wording
(``must be less than 3001 characters [json-pointer:/blocks/0/text/text]``) so the bot's error
handling sees what production sends. Only limits documented by Slack are checked; unknown block
and element types pass, as new ones appear all the time.
"""

from __future__ import annotations

from typing import Any

MESSAGE_MAX_BLOCKS = 50
VIEW_MAX_BLOCKS = 100
MESSAGE_TEXT_MAX = 40_000

_PLAIN = ("plain_text",)
_ANY_TEXT = ("plain_text", "mrkdwn")
_SELECTS_WITH_OPTIONS = ("static_select", "multi_static_select")
_OPTION_LISTS = ("checkboxes", "radio_buttons")


class _Checker:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def fail(self, message: str, path: str) -> None:
        self.errors.append(f"{message} [json-pointer:{path}]")

    def max_len(self, value: object, limit: int, path: str) -> None:
        if isinstance(value, str) and len(value) > limit:
            self.fail(f"must be less than {limit + 1} characters", path)

    def text_object(
        self, obj: object, path: str, *, limit: int, types: tuple[str, ...] = _ANY_TEXT, required: bool = True
    ) -> None:
        if obj is None:
            if required:
                self.fail("must provide an object", path)
            return
        if not isinstance(obj, dict):
            self.fail("must provide an object", path)
            return
        if obj.get("type") not in types:
            self.fail("failed to match all allowed schemas", path)
        text = obj.get("text")
        if not isinstance(text, str):
            self.fail("must provide a string", f"{path}/text")
        elif not text:
            self.fail("must be more than 0 characters", f"{path}/text")
        else:
            self.max_len(text, limit, f"{path}/text")

    def array(self, value: object, path: str, *, max_items: int, min_items: int = 0) -> list[Any]:
        if not isinstance(value, list):
            self.fail("must provide an array", path)
            return []
        if len(value) > max_items:
            self.fail(f"no more than {max_items} items allowed", path)
        if len(value) < min_items:
            self.fail(f"must provide at least {min_items} items", path)
        return value

    def option(self, option: object, path: str) -> None:
        if not isinstance(option, dict):
            self.fail("must provide an object", path)
            return
        self.text_object(option.get("text"), f"{path}/text", limit=75)
        self.max_len(option.get("value"), 150, f"{path}/value")
        self.max_len(option.get("url"), 3000, f"{path}/url")

    def element(self, element: object, path: str) -> None:
        if not isinstance(element, dict):
            self.fail("must provide an object", path)
            return
        kind = element.get("type")
        self.max_len(element.get("action_id"), 255, f"{path}/action_id")
        self.text_object(element.get("placeholder"), f"{path}/placeholder", limit=150, types=_PLAIN, required=False)
        if kind == "button":
            self._button(element, path)
        elif kind == "overflow":
            for i, option in enumerate(self.array(element.get("options"), f"{path}/options", max_items=5, min_items=2)):
                self.option(option, f"{path}/options/{i}")
        elif kind in _SELECTS_WITH_OPTIONS and "option_groups" not in element:
            for i, option in enumerate(self.array(element.get("options"), f"{path}/options", max_items=100)):
                self.option(option, f"{path}/options/{i}")
        elif kind in _OPTION_LISTS:
            options = self.array(element.get("options"), f"{path}/options", max_items=10, min_items=1)
            for i, option in enumerate(options):
                self.option(option, f"{path}/options/{i}")
        elif kind == "plain_text_input":
            self.max_len(element.get("initial_value"), 3000, f"{path}/initial_value")
            max_length = element.get("max_length")
            if isinstance(max_length, int) and not 1 <= max_length <= 3000:
                self.fail("must be between 1 and 3000", f"{path}/max_length")
        elif kind == "image":
            self.max_len(element.get("image_url"), 3000, f"{path}/image_url")
            self.max_len(element.get("alt_text"), 2000, f"{path}/alt_text")

    def _button(self, element: dict[str, Any], path: str) -> None:
        self.text_object(element.get("text"), f"{path}/text", limit=75, types=_PLAIN)
        self.max_len(element.get("value"), 2000, f"{path}/value")
        self.max_len(element.get("url"), 3000, f"{path}/url")
        if element.get("style") not in (None, "primary", "danger"):
            self.fail("must be a valid enum value", f"{path}/style")

    def elements_with_unique_action_ids(self, elements: list[Any], path: str) -> None:
        seen: set[str] = set()
        for i, element in enumerate(elements):
            self.element(element, f"{path}/{i}")
            action_id = element.get("action_id") if isinstance(element, dict) else None
            if isinstance(action_id, str):
                if action_id in seen:
                    self.fail(f'action_id "{action_id}" already exists', f"{path}/{i}/action_id")
                seen.add(action_id)

    def block(self, block: object, path: str) -> None:
        if not isinstance(block, dict):
            self.fail("must provide an object", path)
            return
        kind = block.get("type")
        if not isinstance(kind, str):
            self.fail("must provide a string", f"{path}/type")
            return
        self.max_len(block.get("block_id"), 255, f"{path}/block_id")
        if kind == "header":
            self.text_object(block.get("text"), f"{path}/text", limit=150, types=_PLAIN)
        elif kind == "section":
            self._section(block, path)
        elif kind == "context":
            for i, item in enumerate(self.array(block.get("elements"), f"{path}/elements", max_items=10, min_items=1)):
                if isinstance(item, dict) and item.get("type") in _ANY_TEXT:
                    self.text_object(item, f"{path}/elements/{i}", limit=3000)
                else:
                    self.element(item, f"{path}/elements/{i}")
        elif kind == "actions":
            elements = self.array(block.get("elements"), f"{path}/elements", max_items=25, min_items=1)
            self.elements_with_unique_action_ids(elements, f"{path}/elements")
        elif kind == "input":
            self.text_object(block.get("label"), f"{path}/label", limit=2000, types=_PLAIN)
            self.text_object(block.get("hint"), f"{path}/hint", limit=2000, types=_PLAIN, required=False)
            if "element" not in block:
                self.fail("must provide an object", f"{path}/element")
            else:
                self.element(block["element"], f"{path}/element")
        elif kind == "image":
            self.max_len(block.get("image_url"), 3000, f"{path}/image_url")
            self.max_len(block.get("alt_text"), 2000, f"{path}/alt_text")
            self.text_object(block.get("title"), f"{path}/title", limit=2000, types=_PLAIN, required=False)

    def _section(self, block: dict[str, Any], path: str) -> None:
        if "text" not in block and "fields" not in block:
            self.fail("must provide at least one of text or fields", path)
        if "text" in block:
            self.text_object(block["text"], f"{path}/text", limit=3000)
        if "fields" in block:
            for i, item in enumerate(self.array(block["fields"], f"{path}/fields", max_items=10, min_items=1)):
                self.text_object(item, f"{path}/fields/{i}", limit=2000)
        if "accessory" in block:
            self.element(block["accessory"], f"{path}/accessory")

    def blocks(self, blocks: object, path: str, *, max_blocks: int) -> None:
        seen: set[str] = set()
        for i, block in enumerate(self.array(blocks, path, max_items=max_blocks)):
            self.block(block, f"{path}/{i}")
            block_id = block.get("block_id") if isinstance(block, dict) else None
            if isinstance(block_id, str):
                if block_id in seen:
                    self.fail(f'block_id "{block_id}" already exists', f"{path}/{i}/block_id")
                seen.add(block_id)


def message_block_errors(blocks: object) -> list[str]:
    """Problems Slack reports as ``invalid_blocks`` for chat.postMessage / chat.update."""
    checker = _Checker()
    checker.blocks(blocks, "/blocks", max_blocks=MESSAGE_MAX_BLOCKS)
    return checker.errors


def view_errors(view: object) -> list[str]:
    """Problems Slack reports as ``invalid_arguments`` for views.open / push / update / publish."""
    checker = _Checker()
    if not isinstance(view, dict):
        checker.fail("must provide an object", "/view")
        return checker.errors
    kind = view.get("type")
    if kind not in ("modal", "home"):
        checker.fail("must be a valid enum value", "/view/type")
    checker.blocks(view.get("blocks"), "/view/blocks", max_blocks=VIEW_MAX_BLOCKS)
    checker.max_len(view.get("private_metadata"), 3000, "/view/private_metadata")
    checker.max_len(view.get("callback_id"), 255, "/view/callback_id")
    checker.max_len(view.get("external_id"), 255, "/view/external_id")
    if kind == "modal":
        checker.text_object(view.get("title"), "/view/title", limit=24, types=_PLAIN)
        checker.text_object(view.get("submit"), "/view/submit", limit=24, types=_PLAIN, required=False)
        checker.text_object(view.get("close"), "/view/close", limit=24, types=_PLAIN, required=False)
        blocks = view.get("blocks")
        has_input = isinstance(blocks, list) and any(isinstance(b, dict) and b.get("type") == "input" for b in blocks)
        if has_input and "submit" not in view:
            checker.fail("must provide submit argument when using input blocks", "/view/submit")
    return checker.errors
