"""The few fields each listener reads from a Slack payload, checked before it acts.

A signed payload can still lack ``user_id`` or carry a list where an id string belongs (an old
app version, a Slack change, a test tool). A listener reads its payload through :func:`read`:
on a bad shape the person is told ("That button's data was not understood") where a
``response_url`` exists, the log gets one line naming the fields that were wrong, and nothing is
changed — instead of a ``KeyError`` traceback after the ack.
"""

from __future__ import annotations

import logging
import re
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from slack_bolt.async_app import AsyncRespond

from bot.slack.client import answer

log = logging.getLogger(__name__)

NOT_UNDERSTOOD = "That button's data was not understood, so nothing was changed. Please try again from a fresh message."
COMMAND_NOT_UNDERSTOOD = "Slack sent this command without the fields it always has, so nothing was changed."


class _Shape(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class SlackUser(_Shape):
    id: str = Field(min_length=1)


class SelectedOption(_Shape):
    value: str


class Action(_Shape):
    action_id: str
    value: str | None = None
    selected_option: SelectedOption | None = None


class BlockActions(_Shape):
    """A ``block_actions`` click: who clicked and the first action (the one clicked)."""

    user: SlackUser
    actions: list[Action] = Field(min_length=1)
    trigger_id: str | None = None

    @property
    def action(self) -> Action:
        return self.actions[0]


class SlashCommand(_Shape):
    user_id: str = Field(min_length=1)
    channel_id: str = ""
    text: str = ""
    trigger_id: str | None = None


class UserEvent(_Shape):
    """An event that names the person who did it (``reaction_added``, ``app_home_opened``)."""

    user: str = Field(min_length=1)


class ReactionItem(_Shape):
    type: str = ""
    channel: str = ""
    ts: str = ""


class ReactionAdded(UserEvent):
    reaction: str = ""
    item: ReactionItem = ReactionItem()


class AppHomeOpened(UserEvent):
    tab: str = "home"


class PinnedMessage(_Shape):
    ts: str = ""
    text: str = ""
    user: str | None = None
    permalink: str | None = None


class PinItem(_Shape):
    type: str = ""
    channel: str = ""
    created_by: str = ""
    message: PinnedMessage = PinnedMessage()


class PinAdded(_Shape):
    user: str = ""
    channel_id: str = ""
    item: PinItem = PinItem()


class EditedMessage(_Shape):
    ts: str = ""
    text: str = ""
    subtype: str | None = None


class MessageEvent(_Shape):
    """A ``message`` event; only edits and deletions (``subtype``) matter to the bot."""

    subtype: str | None = None
    channel: str = ""
    deleted_ts: str | None = None
    message: EditedMessage = EditedMessage()


class ViewSubmission(_Shape):
    user: SlackUser


S = TypeVar("S", bound=_Shape)


_INSTANCE_OF = re.compile(r" or instance of \w+")  # pydantic names our classes; the sender needs no such detail


def problems(exc: ValidationError) -> str:
    """``user.id: Field required; actions.0.value: Input should be a valid string`` — no values, which may be secret."""
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(payload)'}: {_INSTANCE_OF.sub('', e['msg'])}"
                     for e in exc.errors())


async def read(shape: type[S], payload: Any, what: str, respond: AsyncRespond | None = None,
               message: str = NOT_UNDERSTOOD) -> S | None:
    """``payload`` as ``shape``, or None after telling the person (if there is a response_url) and logging why."""
    try:
        return shape.model_validate(payload)
    except ValidationError as exc:
        log.warning("ignored a Slack %s whose payload is not understood: %s", what, problems(exc))
    if respond is not None and getattr(respond, "response_url", None):
        try:
            await answer(respond, message)
        except Exception as exc:  # a response_url we cannot reach: the log line above is all we can do
            log.warning("could not tell the person their Slack %s was not understood: %s", what, type(exc).__name__)
    return None
