"""What the Slack client puts in ``view.state.values`` when a person submits a modal, and in a
click's ``actions`` entry: the selected option(s), user, date... by element type."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.sandbox.slack_records import JSON, iter_elements
from bot.sandbox.slack_views import SandboxView

OPTION_SELECTS = ("static_select", "radio_buttons", "external_select", "overflow")
MULTI_OPTION_SELECTS = ("multi_static_select", "checkboxes", "multi_external_select")
SELECTED_KEY = {
    "users_select": ("initial_user", "selected_user"),
    "multi_users_select": ("initial_users", "selected_users"),
    "conversations_select": ("initial_conversation", "selected_conversation"),
    "multi_conversations_select": ("initial_conversations", "selected_conversations"),
    "channels_select": ("initial_channel", "selected_channel"),
    "multi_channels_select": ("initial_channels", "selected_channels"),
    "datepicker": ("initial_date", "selected_date"),
    "timepicker": ("initial_time", "selected_time"),
    "datetimepicker": ("initial_date_time", "selected_date_time"),
}
_MISSING = object()


def find_option(element: JSON, value: object) -> JSON:
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options.extend(group.get("options") or [])
    for option in options:
        if option.get("value") == value:
            return dict(option)
    raise ValueError(f"no option with value {value!r} in {element.get('action_id')!r}; "
                     f"have {[o.get('value') for o in options]}")


def _element_state(element: JSON, value: object) -> JSON:
    """One entry of ``view.state.values`` as Slack fills it for this element type."""
    kind = str(element.get("type"))
    state: JSON = {"type": kind}
    if kind in OPTION_SELECTS:
        state["selected_option"] = None if value is None else find_option(element, value)
    elif kind in MULTI_OPTION_SELECTS:
        values = value if isinstance(value, list | tuple) else ([] if value is None else [value])
        state["selected_options"] = [find_option(element, v) for v in values]
    elif kind in SELECTED_KEY:
        state[SELECTED_KEY[kind][1]] = value
    else:
        state["value"] = value
    return state


def _initial_value(element: JSON) -> object:
    kind = str(element.get("type"))
    if kind in OPTION_SELECTS:
        return (element.get("initial_option") or {}).get("value")
    if kind in MULTI_OPTION_SELECTS:
        return [o.get("value") for o in element.get("initial_options") or []]
    if kind in SELECTED_KEY:
        return element.get(SELECTED_KEY[kind][0])
    return element.get("initial_value")


def view_state(view: SandboxView, values: Mapping[str, Any]) -> JSON:
    """``state.values`` for a submission: ``values`` keyed by block_id → {action_id: value}, or by action_id.

    Untouched inputs carry their initial value, as in the Slack client; a required input left
    empty raises, because Slack would not let the user press Submit.
    """
    inputs = [(block, element) for block, element in iter_elements(view.blocks) if block.get("type") == "input"]
    given: dict[tuple[str, str], Any] = {}
    for key, value in values.items():
        nested = [b for b, _ in inputs if b.get("block_id") == key]
        if nested and isinstance(value, Mapping):
            given.update({(key, str(aid)): v for aid, v in value.items()})
            continue
        match = [(b, e) for b, e in inputs if e.get("action_id") == key]
        if not match:
            known = [e.get("action_id") for _, e in inputs]
            raise KeyError(f"view {view.callback_id!r} has no input {key!r}; inputs: {known}")
        given[(str(match[0][0]["block_id"]), key)] = value
    state: dict[str, JSON] = {}
    for block, element in inputs:
        block_id, action_id = str(block["block_id"]), str(element.get("action_id"))
        value = given.get((block_id, action_id), _MISSING)
        if value is _MISSING:
            value = _initial_value(element)
        if value in (None, "", []) and not block.get("optional"):
            label = (block.get("label") or {}).get("text", block_id)
            raise ValueError(f"required input {label!r} ({block_id}/{action_id}) is empty; Slack would block Submit")
        state.setdefault(block_id, {})[action_id] = _element_state(element, value)
    return state
