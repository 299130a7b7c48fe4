"""Every kind of incident timeline entry has one detail model, stored as the JSON it always was and
validated when read, and its words: the line in the timeline and the post-mortem, and the channel
post for the kinds that get one. A kind added without them fails here and in mypy (each ``match``
on an entry's detail ends in ``assert_never``)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from bot.incidents.entries import (
    ENTRY_TYPES,
    ActionAdded,
    AlertLinked,
    AnyEntryDetail,
    ChecklistTicked,
    Declared,
    DeclaredFrom,
    EntryKind,
    IncidentResolved,
    Note,
    Pinned,
    PostmortemDone,
    RoleAssigned,
    SeverityChanged,
    StatusUpdate,
)
from bot.incidents.models import Incident, TimelineEntry
from bot.incidents.timeline import describe
from bot.slack.blocks.incidents import entry_post
from tests.support.factories import ALICE, BOB, CAROL, T0

NAMES = {ALICE: "Alice", BOB: "Bob", CAROL: "Carol"}

# One entry of every kind as its producer records it: (detail, text, the JSON stored).
SAMPLES: dict[EntryKind, tuple[AnyEntryDetail, str, dict[str, object]]] = {
    EntryKind.DECLARED: (Declared(severity="SEV2", commander=ALICE, reporter=BOB,
                                  from_message=DeclaredFrom(channel="C1", ts="1.2", author=CAROL)), "API errors",
                         {"severity": "SEV2", "commander": ALICE, "reporter": BOB,
                          "from_message": {"channel": "C1", "ts": "1.2", "author": CAROL}}),
    EntryKind.ALERT: (AlertLinked(group_id=3, severity="critical"), "HighErrorRate",
                      {"group_id": 3, "severity": "critical"}),
    EntryKind.SEVERITY: (SeverityChanged(previous="SEV2", to="SEV1"), "", {"from": "SEV2", "to": "SEV1"}),
    EntryKind.ROLE: (RoleAssigned(role="comms", person=CAROL, previous=None), "",
                     {"role": "comms", "person": CAROL, "previous": None}),
    EntryKind.STATUS: (StatusUpdate(status="monitoring"), "Error rate back under 1%", {"status": "monitoring"}),
    EntryKind.NOTE: (Note(), "Deploy 1.42 went out at 13:50", {}),
    EntryKind.ACTION: (ActionAdded(owner=BOB, action_item_id=4), "Alert on queue depth",
                       {"owner": BOB, "action_item_id": 4}),
    EntryKind.CHECKLIST: (ChecklistTicked(item="investigate-2", group="investigate", step="2", done=True),
                          "Check the dashboards",
                          {"item": "investigate-2", "group": "investigate", "step": "2", "done": True}),
    EntryKind.PIN: (Pinned(author=CAROL, how="pushpin", message_ts="1.3"), "Rollback started",
                    {"author": CAROL, "how": "pushpin", "message_ts": "1.3"}),
    EntryKind.RESOLVED: (IncidentResolved(), "Rolled back", {}),
    EntryKind.POSTMORTEM_DONE: (PostmortemDone(), "", {}),
}

TIMELINE_LINES = {
    EntryKind.DECLARED: "Declared SEV2: «API errors»",
    EntryKind.ALERT: "Linked alert: «HighErrorRate» (critical)",
    EntryKind.SEVERITY: "Severity SEV2 → SEV1",
    EntryKind.ROLE: "Carol is now comms",
    EntryKind.STATUS: "Status update: Monitoring — «Error rate back under 1%»",
    EntryKind.NOTE: "Note: «Deploy 1.42 went out at 13:50»",
    EntryKind.ACTION: "Follow-up: «Alert on queue depth» (owner: Bob)",
    EntryKind.CHECKLIST: "Done: Investigate step 2 — «Check the dashboards»",
    EntryKind.PIN: "Marked with 📌: message from Carol: «Rollback started»",
    EntryKind.RESOLVED: "Resolved: «Rolled back»",
    EntryKind.POSTMORTEM_DONE: "Post-mortem marked done",
}

CHANNEL_POSTS: dict[EntryKind, tuple[str, bool] | None] = {  # (text, also in the announcement thread)
    EntryKind.DECLARED: None, EntryKind.ALERT: None, EntryKind.CHECKLIST: None, EntryKind.PIN: None,
    EntryKind.SEVERITY: ("🔺 <@U0ALICE01> raised the severity: SEV2 → *SEV1*", True),
    EntryKind.ROLE: ("🎖️ <@U0CAROL01> is now *comms*, assigned by <@U0ALICE01>.", False),
    EntryKind.STATUS: ("📣 *Status update* — *Monitoring* from <@U0ALICE01>\n> Error rate back under 1%", True),
    EntryKind.NOTE: ("📝 <@U0ALICE01> noted: Deploy 1.42 went out at 13:50", False),
    EntryKind.ACTION: ("🛠️ Follow-up added by <@U0ALICE01>: Alert on queue depth — owner <@U0BOB0001>", False),
    EntryKind.RESOLVED: ("✅ Incident #7 resolved by <@U0ALICE01>", True),
    EntryKind.POSTMORTEM_DONE: ("📘 <@U0ALICE01> marked the post-mortem of incident #7 done.", False),
}


def _entry(kind: EntryKind) -> TimelineEntry:
    detail, text, _stored = SAMPLES[kind]
    return TimelineEntry(incident_id=7, at=T0 + timedelta(minutes=30), kind=detail.KIND, actor=ALICE, text=text,
                         detail=detail.stored())


def _incident() -> Incident:
    return Incident(id=7, title="API errors", severity="SEV1", status="resolved", commander=ALICE, reporter=BOB,
                    channel_name="inc-api-errors", declared_at=T0, resolved_at=T0 + timedelta(hours=1),
                    summary="", slack_state={})


def test_every_entry_kind_has_one_detail_model_and_a_sample_here() -> None:
    assert set(ENTRY_TYPES) == set(EntryKind)
    assert set(SAMPLES) == set(EntryKind), "add a sample (and its words below) for the new kind"
    for kind, (detail, _text, stored) in SAMPLES.items():
        assert type(detail) is ENTRY_TYPES[kind]
        assert detail.stored() == stored, "the stored JSON keeps the keys it always had"
        assert _entry(kind).details() == detail


@pytest.mark.parametrize("kind", sorted(EntryKind))
def test_each_entry_kind_has_its_line_in_the_timeline(kind: EntryKind) -> None:
    assert set(TIMELINE_LINES) == set(EntryKind)
    assert describe(_entry(kind), lambda who: NAMES.get(who, who), lambda t: f"«{t}»") == TIMELINE_LINES[kind]


@pytest.mark.parametrize("kind", sorted(EntryKind))
def test_each_entry_kind_is_posted_in_the_incident_channel_or_shown_another_way(kind: EntryKind) -> None:
    assert set(CHANNEL_POSTS) == set(EntryKind)
    post = entry_post(_entry(kind), _incident())
    assert (None if post is None else (post.text, post.mirror)) == CHANNEL_POSTS[kind]


def test_an_entry_detail_that_is_not_its_kinds_shape_is_refused_when_read() -> None:
    entry = TimelineEntry(kind=EntryKind.SEVERITY, detail={"from": "SEV2"}, at=T0)
    with pytest.raises(ValidationError, match="to"):
        entry.details()


def test_a_published_status_update_stores_public_and_says_so_on_the_timeline_and_in_the_channel() -> None:
    detail = StatusUpdate.model_validate({"status": "monitoring", "public": True})
    assert detail.stored() == {"status": "monitoring", "public": True}
    assert StatusUpdate(status="monitoring").stored() == {"status": "monitoring"}  # internal: no new key
    entry = TimelineEntry(incident_id=7, at=T0, kind=EntryKind.STATUS, actor=ALICE, text="Fix deployed",
                          detail=detail.stored())
    assert describe(entry, lambda who: who, lambda t: f"«{t}»") == (
        "Status update (published on the status page): Monitoring — «Fix deployed»")
    post = entry_post(entry, _incident())
    assert post is not None
    assert post.text == ("📣 *Status update* — *Monitoring* from <@U0ALICE01> · 🌐 published on the status page\n"
                         "> Fix deployed")
