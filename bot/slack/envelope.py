"""The fields of a Slack request that Bolt routes on and every listener relies on, checked first.

A signed payload can still be bent: ``actions[0].action_id`` a list, ``view`` a string, a slash
command without ``response_url``. Bolt reads those fields while choosing a listener, before any
listener can check them, and listeners pass ``response_url`` and ``trigger_id`` straight to Slack.
:func:`envelope_problem` checks them, by payload type, as the first middleware: a payload that is
not what Slack sends is answered 400 naming the field, logged in one line, and nothing runs. The
few fields a single listener reads are checked by that listener (:mod:`bot.slack.listeners.shapes`),
so that the person can be told.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictStr, ValidationError
from yarl import URL

from bot.slack.listeners.shapes import problems


def _web_url(value: str) -> str:
    try:
        url = URL(value)
    except (ValueError, TypeError):
        url = None
    if url is None or not url.is_absolute() or url.scheme not in ("http", "https") or not url.host:
        raise ValueError("not an http(s) URL")
    return value


MAX_PROBLEM = 300  # characters: the keys of a bent view state can be long

WebUrl = Annotated[StrictStr, AfterValidator(_web_url)]


class _Fields(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class _Ref(_Fields):
    id: StrictStr


class _Option(_Fields):
    value: StrictStr


class _Action(_Fields):
    action_id: StrictStr
    block_id: StrictStr | None = None
    type: StrictStr | None = None


class _InputState(_Fields):
    """One input of a submitted view, as each element type reports it."""

    type: StrictStr | None = None
    value: StrictStr | None = None
    selected_user: StrictStr | None = None
    selected_users: list[StrictStr] | None = None
    selected_conversation: StrictStr | None = None
    selected_channel: StrictStr | None = None
    selected_date: StrictStr | None = None
    selected_time: StrictStr | None = None
    selected_option: _Option | None = None
    selected_options: list[_Option] | None = None


class _ViewState(_Fields):
    values: dict[StrictStr, dict[StrictStr, _InputState]] = {}


class _View(_Fields):
    id: StrictStr | None = None
    type: StrictStr | None = None
    callback_id: StrictStr = ""
    private_metadata: StrictStr = ""
    state: _ViewState = _ViewState()


class _Metadata(_Fields):
    event_type: StrictStr | None = None
    event_payload: dict[str, Any] | None = None


class _Message(_Fields):
    ts: StrictStr | None = None
    text: StrictStr | None = None
    user: StrictStr | None = None
    metadata: _Metadata | None = None


class _Interactive(_Fields):
    type: StrictStr
    trigger_id: StrictStr | None = None
    response_url: WebUrl | None = None
    team: _Ref | None = None
    channel: _Ref | None = None
    container: dict[str, Any] | None = None
    view: _View | None = None
    message: _Message | None = None


class _BlockActions(_Interactive):
    actions: list[_Action] = Field(min_length=1)
    trigger_id: StrictStr


class _SubmittedState(_ViewState):
    values: dict[StrictStr, dict[StrictStr, _InputState]]  # Slack always sends it on a submission


class _SubmittedView(_View):
    state: _SubmittedState


class _ViewSubmission(_Interactive):
    user: _Ref
    view: _SubmittedView


class _ViewClosed(_Interactive):
    user: _Ref
    view: _View


class _Shortcut(_Interactive):
    user: _Ref
    callback_id: StrictStr
    trigger_id: StrictStr


class _Command(_Fields):
    command: StrictStr
    response_url: WebUrl
    trigger_id: StrictStr | None = None


class _Event(_Fields):
    type: StrictStr
    subtype: StrictStr | None = None


class _EventCallback(_Fields):
    event: _Event
    event_id: StrictStr | None = None


class _Any(_Fields):
    """What Bolt reads from a payload of any type, even one no listener handles: its self-event check
    reads ``event.bot_id`` and its "unhandled request" warning ``view.type`` whenever the keys are there."""

    event: dict[str, Any] = {}
    view: dict[str, Any] = {}


_BY_TYPE: dict[str, type[_Fields]] = {
    "block_actions": _BlockActions, "view_submission": _ViewSubmission, "view_closed": _ViewClosed,
    "shortcut": _Shortcut, "message_action": _Shortcut, "event_callback": _EventCallback,
}


def envelope_problem(body: dict[str, Any]) -> str | None:
    """What is wrong with the fields Bolt and the listeners rely on, or None when they are as Slack sends them."""
    kind = body.get("type")
    shape = _Command if "command" in body else _BY_TYPE.get(kind if isinstance(kind, str) else "")
    try:
        _Any.model_validate(body)  # every type, url_verification and types no listener handles too
        if shape is not None:
            shape.model_validate(body)
    except ValidationError as exc:
        text = problems(exc)
        return text if len(text) <= MAX_PROBLEM else text[:MAX_PROBLEM] + "…"
    return None
