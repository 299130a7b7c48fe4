"""Every outbox kind has a payload model and a handler in the running bot; a payload is checked when
the row is written and again when it is read, so a malformed row fails visibly instead of sending
something wrong or waiting forever."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import insert, select

from bot.db import transaction
from bot.outbox import (
    ChannelPost,
    IncidentRef,
    OutboxKind,
    OutboxMessage,
    PageSend,
    ThreadReply,
    enqueue,
    payload_type,
)
from tests.escalation.paging import fire, thread_texts
from tests.support.harness import Harness


def test_every_outbox_kind_has_a_payload_model() -> None:
    assert {kind: payload_type(kind).__name__ for kind in OutboxKind} == {
        OutboxKind.ALERT_THREAD: "ThreadReply", OutboxKind.CHANNEL_POST: "ChannelPost", OutboxKind.DM: "DirectMessage",
        OutboxKind.SUMMARY_CHART: "SummaryChart", OutboxKind.INCIDENT_SETUP: "IncidentRef",
        OutboxKind.INCIDENT_ENTRY: "IncidentEntryPost", OutboxKind.INCIDENT_POSTMORTEM: "PostmortemDraft",
        OutboxKind.INCIDENT_NUDGE: "IncidentRef", OutboxKind.INCIDENT_POSTMORTEM_REMINDER: "IncidentRef",
        OutboxKind.PAGE_SLACK: "PageSend", OutboxKind.PAGE_SMS: "PageSend", OutboxKind.PAGE_CHANNEL: "PageSend",
        OutboxKind.PAGE_EMAIL: "PageSend", OutboxKind.ALERT_EMAIL: "AlertEmail", OutboxKind.DIGEST_EMAIL: "DigestEmail",
        OutboxKind.HANDLE_SYNC: "HandleSync", OutboxKind.PAGE_GROUP: "PageSend", OutboxKind.PAGE_CALL: "PageSend",
        OutboxKind.CALL_CANCEL: "PageSend",
    }


async def test_the_running_bot_has_a_handler_for_every_outbox_kind(harness: Harness) -> None:
    assert set(harness.bot.dispatcher.handlers) == set(OutboxKind)


async def test_a_payload_of_another_kind_is_refused_when_written(harness: Harness) -> None:
    async with transaction(harness.bot.services.sessions) as s:
        with pytest.raises(TypeError, match="an outbox row of kind incident_nudge carries a IncidentRef, "
                                            "not a ThreadReply"):
            await enqueue(s, key="x:1", kind=OutboxKind.INCIDENT_NUDGE, payload=ThreadReply(event_id=1),
                          now=harness.clock.now())


def test_a_stored_payload_is_read_back_as_its_model_and_refused_as_another() -> None:
    row = OutboxMessage(kind=OutboxKind.CHANNEL_POST, payload=ChannelPost(channel="ops", text="hi", what="x").stored())
    assert row.payload == {"channel": "ops", "text": "hi", "what": "x"}
    assert ChannelPost.of(row) == ChannelPost(channel="ops", text="hi", what="x")
    with pytest.raises(ValueError, match="an outbox row of kind channel_post carries no IncidentRef"):
        IncidentRef.of(row)
    with pytest.raises(ValidationError, match="text"):
        ChannelPost.of(OutboxMessage(kind=OutboxKind.CHANNEL_POST, payload={"channel": "ops"}))


async def test_a_page_row_with_a_malformed_payload_fails_and_is_said_in_the_alerts_thread(pager: Harness) -> None:
    msg = await fire(pager)
    now = pager.clock.now()
    async with transaction(pager.bot.services.sessions) as s:
        group_id = (await s.scalars(select(OutboxMessage.group_id).where(OutboxMessage.kind == OutboxKind.PAGE_SLACK)
                                    )).first()
        # What a bug (or a hand-edited database) might leave: the page row's id is not a number.
        await s.execute(insert(OutboxMessage).values(key="page:bad", kind=OutboxKind.PAGE_SLACK, group_id=group_id,
                                                     payload={"page_id": "the first one"}, created_at=now, due_at=now))
    for _ in range(3):  # a refusal that would repeat gets three attempts
        await pager.drain()
        pager.clock.advance(timedelta(minutes=1))
    async with pager.bot.services.sessions() as s:
        row = (await s.scalars(select(OutboxMessage).where(OutboxMessage.key == "page:bad"))).one()
    assert row.failed_at is not None and row.sent_at is None and row.attempts == 3
    assert row.last_error is not None and row.last_error.startswith("ValidationError: 1 validation error for PageSend")
    assert thread_texts(pager, msg)[-1] == (
        "⚠️ Watchstander gave up sending a page by Slack DM after 3 attempt(s): ValidationError. "
        f"The bot's log has the details (outbox row #{row.id}).")
    assert PageSend.of(OutboxMessage(kind=OutboxKind.PAGE_SMS, payload={"page_id": 3})).page_id == 3
