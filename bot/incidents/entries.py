"""What an incident's timeline records: one :class:`EntryKind` per kind of entry, and one detail
model per kind (validated when read, :meth:`~bot.incidents.models.TimelineEntry.details`).

Producers pass the model (``record(session, incident, SeverityChanged(...), ...)``), so no
producer spells a kind; consumers ``match`` on the model with ``assert_never`` in the last case,
so a new kind the channel post or the timeline does not word is a type error.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import ClassVar, get_args

from pydantic import BaseModel, ConfigDict, Field


class EntryKind(StrEnum):
    DECLARED = "declared"
    ALERT = "alert"                      # an alert group was linked
    SEVERITY = "severity"
    ROLE = "role"
    STATUS = "status"                    # a status update
    NOTE = "note"
    ACTION = "action"                    # a follow-up action item
    CHECKLIST = "checklist"              # a playbook step ticked or unticked
    PIN = "pin"                          # a message pinned or marked with 📌
    RESOLVED = "resolved"
    POSTMORTEM_DONE = "postmortem_done"


class EntryDetail(BaseModel):
    """The structured part of one kind of entry (what people typed is the entry's ``text``); fields
    the producer did not set are not stored."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    KIND: ClassVar[EntryKind]

    def stored(self) -> dict[str, object]:
        """The JSON the ``detail`` column keeps."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)

    def people(self) -> set[str]:
        """Slack IDs the entry names besides its actor (the post-mortem looks their names up)."""
        return set()


class DeclaredFrom(BaseModel):
    """The Slack message an incident was declared from (the message shortcut)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    channel: str
    ts: str
    author: str | None = None


class Declared(EntryDetail):
    KIND = EntryKind.DECLARED
    severity: str
    commander: str
    reporter: str
    from_message: DeclaredFrom | None = None


class AlertLinked(EntryDetail):
    KIND = EntryKind.ALERT
    group_id: int
    severity: str


class SeverityChanged(EntryDetail):
    KIND = EntryKind.SEVERITY
    previous: str = Field(alias="from")
    to: str


class RoleAssigned(EntryDetail):
    KIND = EntryKind.ROLE
    role: str
    person: str
    previous: str | None = None

    def people(self) -> set[str]:
        return {self.person, *([self.previous] if self.previous else [])}


class StatusUpdate(EntryDetail):
    KIND = EntryKind.STATUS
    status: str | None = None
    public: bool = False                 # published on the status page; stored only when true


class Note(EntryDetail):
    KIND = EntryKind.NOTE


class ActionAdded(EntryDetail):
    KIND = EntryKind.ACTION
    action_item_id: int
    owner: str | None = None

    def people(self) -> set[str]:
        return {self.owner} if self.owner else set()


class ChecklistTicked(EntryDetail):
    KIND = EntryKind.CHECKLIST
    item: str
    group: str
    step: str                            # the step's number in its group, as in the item id
    done: bool


class Pinned(EntryDetail):
    KIND = EntryKind.PIN
    how: str                             # "pin" or "pushpin" (the 📌 reaction)
    message_ts: str
    author: str | None = None

    def people(self) -> set[str]:
        return {self.author} if self.author else set()


class IncidentResolved(EntryDetail):
    KIND = EntryKind.RESOLVED


class PostmortemDone(EntryDetail):
    KIND = EntryKind.POSTMORTEM_DONE


AnyEntryDetail = (Declared | AlertLinked | SeverityChanged | RoleAssigned | StatusUpdate | Note | ActionAdded
                  | ChecklistTicked | Pinned | IncidentResolved | PostmortemDone)

ENTRY_TYPES: dict[EntryKind, type[AnyEntryDetail]] = {cls.KIND: cls for cls in get_args(AnyEntryDetail)}
if set(ENTRY_TYPES) != set(EntryKind) or len(ENTRY_TYPES) != len(get_args(AnyEntryDetail)):
    raise RuntimeError("every EntryKind needs exactly one detail model in AnyEntryDetail")


def parse_entry_detail(kind: EntryKind, detail: Mapping[str, object]) -> AnyEntryDetail:
    """The stored detail as its kind's model; raises ``pydantic.ValidationError`` if it is not one."""
    return ENTRY_TYPES[kind].model_validate(detail)
