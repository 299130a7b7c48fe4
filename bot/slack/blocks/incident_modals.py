"""The incident modals: declare (from ``/incident declare``, an alert's button or a message
shortcut) and the small ones behind the header's buttons. Built with slack_sdk's view models;
every block and input is named by :class:`~bot.slack.ids.IncidentField`."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from slack_sdk.models.blocks import (
    Block,
    CheckboxesElement,
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    RadioButtonsElement,
    StaticSelectElement,
    UserSelectElement,
)
from slack_sdk.models.views import View

from bot.config import IncidentSeverity
from bot.db import record_id
from bot.incidents.models import Incident
from bot.incidents.policy import ROLES
from bot.slack.blocks.common import clip
from bot.slack.ids import Callback, IncidentField, IncidentModal

PUBLISH = "publish"  # the value of the update form's "Publish to status page" option
STATUS_CHOICES = (("investigating", "🔍 Investigating"), ("identified", "🎯 Identified"),
                  ("monitoring", "👀 Monitoring (mitigated)"))


_MESSAGE_KEYS = ("channel", "ts", "author", "text")
PRIVATE_METADATA_MAX = 3000  # Slack refuses a view whose private_metadata is longer
ID_MAX = 32  # longer than any Slack id or message ts (what incidents.origin_channel_id holds)
MESSAGE_TEXT_KEPT = 1000  # of the source message's text, carried for the timeline


def slack_id(value: object) -> str | None:
    """``value`` if it can be a Slack id (a channel, a user, a message ts), else None."""
    return value if isinstance(value, str) and 0 < len(value) <= ID_MAX else None


@dataclass(frozen=True)
class DeclareContext:
    """Where a declaration comes from, carried through the modal in ``private_metadata``."""

    origin_channel: str | None = None
    group_ids: list[int] = field(default_factory=list)
    message: dict[str, str | None] | None = None  # {"channel", "ts", "author", "text"} for the message shortcut

    def dump(self) -> str:
        """The context as ``private_metadata``, always within Slack's limit. A signed request can
        still name a channel in 5,000 characters: what cannot be a Slack id is left out, and the
        source message's text is cut until the whole fits."""
        message = self.message
        if message is not None and not (slack_id(message.get("channel")) and slack_id(message.get("ts"))
                                        and (message.get("author") is None or slack_id(message.get("author")))):
            message = None  # no message Slack could have sent: nothing to link to
        kept = str((message or {}).get("text") or "")[:MESSAGE_TEXT_KEPT]
        while True:
            text = json.dumps({"origin_channel": slack_id(self.origin_channel), "group_ids": self.group_ids,
                               "message": None if message is None else {**message, "text": kept}})
            if len(text) <= PRIVATE_METADATA_MAX or message is None:
                return text
            if kept:
                kept = kept[:len(kept) // 2]  # escapes make a character up to 12 bytes of JSON
            else:
                message = None

    @classmethod
    def load(cls, raw: str) -> DeclareContext:
        try:
            data = json.loads(raw or "{}")
        except json.JSONDecodeError:
            return cls()
        if not isinstance(data, dict):
            return cls()
        groups = [i for g in data.get("group_ids") or [] if (i := record_id(g)) is not None]
        message = data.get("message") if isinstance(data.get("message"), dict) else None
        if message is not None and not all(isinstance(message.get(k), str | None) for k in _MESSAGE_KEYS):
            message = None  # not what dump() wrote: the modal's metadata was altered
        return cls(origin_channel=slack_id(data.get("origin_channel")), group_ids=groups, message=message)


@dataclass(frozen=True)
class DeclareDefaults:
    commander: str
    title: str = ""
    severity: str | None = None
    summary: str = ""
    service: str = ""
    team: str | None = None


def _severity_options(severities: Mapping[str, IncidentSeverity]) -> list[Option]:
    return [Option(text=name, value=name, description=clip(policy.description, 75))
            for name, policy in sorted(severities.items())]


def _chosen(options: Sequence[Option], value: str | None) -> Option | None:
    return next((o for o in options if o.value == value), None)


def declare_modal(defaults: DeclareDefaults, context: DeclareContext, severities: Mapping[str, IncidentSeverity],
                  teams: Sequence[str]) -> View:
    severity_options = _severity_options(severities)
    blocks: list[Block] = [
        InputBlock(block_id=IncidentField.TITLE, label="Title",
                   hint="A few words on what is broken; it names the channel.",
                   element=PlainTextInputElement(action_id=IncidentField.TITLE, max_length=150,
                                                 initial_value=clip(defaults.title, 150) or None,
                                                 placeholder="Checkout failing")),
        InputBlock(block_id=IncidentField.SEVERITY, label="Severity",
                   element=RadioButtonsElement(action_id=IncidentField.SEVERITY, options=severity_options,
                                               initial_option=_chosen(severity_options, defaults.severity))),
        InputBlock(block_id=IncidentField.SUMMARY, label="Summary", optional=True,
                   element=PlainTextInputElement(action_id=IncidentField.SUMMARY, multiline=True, max_length=3000,
                                                 initial_value=clip(defaults.summary, 3000) or None,
                                                 placeholder="What do users see? What do we know so far?")),
        InputBlock(block_id=IncidentField.SERVICE, label="Affected service", optional=True,
                   element=PlainTextInputElement(action_id=IncidentField.SERVICE, max_length=200,
                                                 initial_value=clip(defaults.service, 200) or None)),
    ]
    if teams:
        team_options = [Option(text=t, value=t) for t in teams]
        blocks.append(InputBlock(
            block_id=IncidentField.TEAM, label="Affected team", optional=True,
            hint="Its on-call person is invited to the incident channel.",
            element=StaticSelectElement(action_id=IncidentField.TEAM, options=team_options,
                                        initial_option=_chosen(team_options, defaults.team),
                                        placeholder="Choose a team"),
        ))
    blocks.append(InputBlock(block_id=IncidentField.COMMANDER, label="Commander",
                             element=UserSelectElement(action_id=IncidentField.COMMANDER,
                                                       initial_user=defaults.commander)))
    if context.group_ids or context.message:
        what = "the alert" if context.group_ids else "the message"
        blocks.append(ContextBlock(elements=[MarkdownTextObject(
            text=f"The incident channel will link {what} this was declared from.")]))
    return View(type="modal", callback_id=Callback.DECLARE_MODAL, title="Declare incident", submit="Declare",
                close="Cancel", private_metadata=context.dump(), blocks=blocks)


def _small(callback: IncidentModal, title: str, submit: str, incident: Incident, blocks: list[Block]) -> View:
    return View(type="modal", callback_id=callback, title=title, submit=submit, close="Cancel",
                private_metadata=str(incident.id), blocks=blocks)


def status_modal(incident: Incident, status_page_url: str | None = None) -> View:
    """``status_page_url``: where public updates show, None when no status page is configured."""
    options = [Option(text=label, value=value) for value, label in STATUS_CHOICES]
    where = (f"Shown with the incident's title on the status page, {status_page_url}." if status_page_url
             else "No status page is configured yet (status_page: in the config); the update will show "
                  "there once one is.")
    publish = Option(text="Publish to status page", value=PUBLISH,
                     description=clip(f"Customers can read it. {where}", 75))
    return _small(IncidentModal.STATUS, "Post update", "Post", incident, [
        InputBlock(block_id=IncidentField.STATUS, label="Status",
                   element=RadioButtonsElement(action_id=IncidentField.STATUS, options=options,
                                               initial_option=_chosen(options, incident.status))),
        InputBlock(block_id=IncidentField.UPDATE, label="Update",
                   hint="Also posted in the announcement thread.",
                   element=PlainTextInputElement(action_id=IncidentField.UPDATE, multiline=True, max_length=3000,
                                                 placeholder="What we know, what we are doing, next update when")),
        InputBlock(block_id=IncidentField.PUBLIC, label="Status page", optional=True, hint=clip(where, 150),
                   element=CheckboxesElement(action_id=IncidentField.PUBLIC, options=[publish])),
    ])


def severity_modal(incident: Incident, severities: Mapping[str, IncidentSeverity]) -> View:
    options = _severity_options(severities)
    return _small(IncidentModal.SEVERITY, "Change severity", "Change", incident, [
        InputBlock(block_id=IncidentField.SEVERITY, label="Severity",
                   element=RadioButtonsElement(action_id=IncidentField.SEVERITY, options=options,
                                               initial_option=_chosen(options, incident.severity))),
    ])


def role_modal(incident: Incident) -> View:
    options = [Option(text=role.capitalize(), value=role) for role in ROLES]
    return _small(IncidentModal.ROLE, "Assign role", "Assign", incident, [
        InputBlock(block_id=IncidentField.ROLE, label="Role",
                   element=StaticSelectElement(action_id=IncidentField.ROLE, options=options,
                                               placeholder="Choose a role")),
        InputBlock(block_id=IncidentField.PERSON, label="Person",
                   element=UserSelectElement(action_id=IncidentField.PERSON, placeholder="Choose someone")),
    ])


def resolve_modal(incident: Incident) -> View:
    return _small(IncidentModal.RESOLVE, "Resolve incident", "Resolve", incident, [
        InputBlock(block_id=IncidentField.SUMMARY, label="Summary", optional=True,
                   hint="What happened and what fixed it; it opens the post-mortem draft.",
                   element=PlainTextInputElement(action_id=IncidentField.SUMMARY, multiline=True, max_length=3000,
                                                 initial_value=clip(incident.summary, 3000) or None)),
    ])


def ticked(values: Mapping[str, object], field_id: IncidentField, value: str) -> bool:
    """Whether the checkbox option ``value`` of one input was ticked in ``view.state.values``."""
    block = values.get(field_id)
    state = block.get(field_id) if isinstance(block, dict) else None
    chosen = state.get("selected_options") if isinstance(state, dict) else None
    return isinstance(chosen, list) and any(isinstance(o, dict) and o.get("value") == value for o in chosen)


def submitted(values: Mapping[str, object], field_id: IncidentField) -> str | None:
    """The value of one input from ``view.state.values``, whatever its element type."""
    block = values.get(field_id)
    state = block.get(field_id) if isinstance(block, dict) else None
    if not isinstance(state, dict):
        return None
    for key in ("value", "selected_user"):
        if key in state:
            return None if state[key] is None else str(state[key])
    option = state.get("selected_option")
    value = option.get("value") if isinstance(option, dict) else None
    return None if value is None else str(value)
