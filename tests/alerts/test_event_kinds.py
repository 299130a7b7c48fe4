"""Every kind of alert event has one detail model, validated when read, and the words people read
for it: a reply in the alert's thread for the kinds that get one, a line in the incident timeline
for the kinds it shows. A kind added without them fails here (and in mypy, which sees every
``match`` on a detail end in ``assert_never``)."""

from __future__ import annotations

import textwrap
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from mypy import api as mypy_api
from pydantic import ValidationError

from bot.alerts.actions import THREAD_EVENTS
from bot.alerts.events import (
    DETAIL_TYPES,
    Acknowledged,
    AckTimedOut,
    AlertResolved,
    AnyEventDetail,
    Escalated,
    EventKind,
    NotEscalated,
    Paged,
    PageFailed,
    PageSkipped,
    Received,
    Reopened,
    Repeated,
    Resolved,
    Silenced,
    SilencedSimilar,
    Snoozed,
    Unacknowledged,
    detail_as,
)
from bot.alerts.incoming import AlertStatus
from bot.alerts.models import AlertEvent, AlertGroup
from bot.incidents.timeline import ALERT_EVENT_KINDS, describe_alert_event
from bot.severity import Severity
from bot.slack.blocks.alert import thread_text
from tests.support.factories import ALICE, CAROL, T0

ZONE = ZoneInfo("Europe/Berlin")
NAMES = {ALICE: "Alice", CAROL: "Carol"}
LATER = T0 + timedelta(minutes=6, seconds=2)

# One event of every kind, as its producer records it: (detail, actor, via).
SAMPLES: dict[EventKind, tuple[AnyEventDetail, str | None, str | None]] = {
    EventKind.RECEIVED: (Received(severity=Severity.CRITICAL, title="Disk full"), "Alertmanager", "source"),
    EventKind.REPEATED: (Repeated(count=3), "Alertmanager", "source"),
    EventKind.ALERT_RESOLVED: (AlertResolved(), "Alertmanager", "source"),
    EventKind.SILENCED: (Silenced(silence_id=4), CAROL, None),
    EventKind.ACKNOWLEDGED: (Acknowledged(), ALICE, "sms"),
    EventKind.UNACKNOWLEDGED: (Unacknowledged(), ALICE, "slack"),
    EventKind.RESOLVED: (Resolved(), CAROL, "slack"),
    EventKind.SNOOZED: (Snoozed(until=LATER + timedelta(hours=1), minutes=60), ALICE, "slack"),
    EventKind.SILENCED_SIMILAR: (SilencedSimilar(silence_id=4, until=LATER + timedelta(days=1),
                                                 matchers={"alertname": "DiskFull"}), CAROL, "slack"),
    EventKind.REOPENED: (Reopened(), None, None),
    EventKind.ESCALATED: (Escalated(step=3, round=1, by=ALICE), ALICE, "sms"),
    EventKind.PAGED: (Paged(step=2, round=1, page_id=7), ALICE, "sms"),
    EventKind.PAGE_FAILED: (PageFailed(error="30003", page_id=7, status="undelivered"), ALICE, "sms"),
    EventKind.PAGE_SKIPPED: (PageSkipped(step=2, round=1, target="sms:backup",
                                         reason="Dave has no phone number in the config"), None, None),
    EventKind.NOT_ESCALATED: (NotEscalated(reason="no_team"), None, None),
    EventKind.ACK_TIMED_OUT: (AckTimedOut(by=ALICE, via="slack", acknowledged_at=T0, seconds=1800, restarted=True),
                              None, None),
}

THREAD_REPLIES = {
    EventKind.ACKNOWLEDGED: "👀 Acknowledged by Alice (SMS) after 6m 02s.",
    EventKind.UNACKNOWLEDGED: "↩️ <@U0ALICE01> took the acknowledgement back; the alert is firing again.",
    EventKind.RESOLVED: "✅ Resolved by <@U0CAROL01> after 6m 02s.",
    EventKind.SNOOZED: "💤 Snoozed by <@U0ALICE01> for 60m, until <!date^1795529162^{time}|2026-11-24 15:06 CET>.",
    EventKind.SILENCED_SIMILAR: ("🔕 <@U0CAROL01> silenced similar alerts (alertname=DiskFull) until "
                                 "<!date^1795611962^{date_short_pretty} {time}|2026-11-25 14:06 CET>; they are "
                                 "recorded, not notified."),
    EventKind.REOPENED: "🚨 The snooze ended and the alert is still firing.",
    EventKind.ESCALATED: "⏫ Alice (SMS) escalated: step 3 runs now.",
    EventKind.PAGED: "📱 Paging Alice by SMS (step 2)",
    EventKind.PAGE_FAILED: "⚠️ SMS to Alice failed: undelivered (30003). The escalation goes on.",
    EventKind.PAGE_SKIPPED: "⚠️ Step 2: could not page sms:backup: Dave has no phone number in the config.",
    EventKind.NOT_ESCALATED: ("ℹ️ No team owns this alert, so nobody is paged. Add a route for it in the config "
                              "to page a team."),
    EventKind.ACK_TIMED_OUT: ("⏰ Acknowledged 30m ago by <@U0ALICE01> and not resolved: firing again, paging from "
                              "step 1."),
}

TIMELINE_LINES = {
    EventKind.RECEIVED: "Alert fired: 'Disk full'",
    EventKind.ACKNOWLEDGED: "Acknowledged alert 'Disk full'",
    EventKind.UNACKNOWLEDGED: "Took back the acknowledgement of 'Disk full'",
    EventKind.RESOLVED: "Alert resolved: 'Disk full'",
    EventKind.ALERT_RESOLVED: "Alert resolved: 'Disk full'",
    EventKind.PAGED: "Paged Alice by SMS (step 2) for 'Disk full'",
    EventKind.ESCALATED: "Escalated 'Disk full' (step 3)",
    EventKind.PAGE_FAILED: "Page to Alice failed: '30003' ('Disk full')",
    EventKind.SNOOZED: "Snoozed alert 'Disk full'",
    EventKind.SILENCED_SIMILAR: "Silenced similar: 'Disk full'",
    EventKind.ACK_TIMED_OUT: "Acknowledged and not resolved in time; firing again: 'Disk full'",
}


def _group() -> AlertGroup:
    return AlertGroup(id=1, title="Disk full", severity=Severity.CRITICAL, status=AlertStatus.FIRING, created_at=T0)


def _event(kind: EventKind) -> AlertEvent:
    detail, actor, via = SAMPLES[kind]
    return AlertEvent.of(_group(), detail, LATER, actor=actor, via=via)


def test_every_event_kind_has_one_detail_model_and_a_sample_here() -> None:
    assert set(DETAIL_TYPES) == set(EventKind)
    assert set(SAMPLES) == set(EventKind), "add a sample (and its words below) for the new kind"
    for kind, (detail, _actor, _via) in SAMPLES.items():
        assert type(detail) is DETAIL_TYPES[kind] and kind == detail.KIND


@pytest.mark.parametrize("kind", sorted(THREAD_EVENTS | {EventKind.ESCALATED}))
def test_each_thread_event_has_its_own_reply_in_the_alerts_thread(kind: EventKind) -> None:
    assert set(THREAD_REPLIES) == THREAD_EVENTS | {EventKind.ESCALATED}
    assert thread_text(_event(kind), _group(), NAMES, ZONE) == THREAD_REPLIES[kind]


@pytest.mark.parametrize("kind", sorted(ALERT_EVENT_KINDS))
def test_each_kind_the_incident_timeline_shows_has_its_line(kind: EventKind) -> None:
    assert set(TIMELINE_LINES) == set(ALERT_EVENT_KINDS)
    line = describe_alert_event(_event(kind), "Disk full", lambda who: NAMES.get(who, who), lambda t: f"'{t}'")
    assert line == TIMELINE_LINES[kind]


def test_a_stored_detail_is_read_back_as_its_kinds_model() -> None:
    for kind in EventKind:
        event = _event(kind)
        assert event.kind == kind and event.details() == SAMPLES[kind][0]
    assert _event(EventKind.SNOOZED).detail == {"until": "2026-11-24T14:06:02+00:00", "minutes": 60}


def test_a_detail_that_is_not_its_kinds_shape_is_refused_when_read() -> None:
    event = AlertEvent(kind=EventKind.SNOOZED, detail={"until": "after lunch", "minutes": 60}, at=LATER)
    with pytest.raises(ValidationError, match="until"):
        event.details()
    paged = _event(EventKind.PAGED)
    assert detail_as(Paged, paged.kind, paged.detail).step == 2
    with pytest.raises(ValueError, match="a paged event has no PageFailed detail"):
        detail_as(PageFailed, paged.kind, paged.detail)


def test_mypy_refuses_a_match_on_event_details_that_misses_a_kind(tmp_path: Path) -> None:
    module = tmp_path / "reader.py"
    module.write_text(textwrap.dedent("""
        from typing import assert_never

        from bot.alerts.events import AnyEventDetail, Paged, Received


        def words(detail: AnyEventDetail) -> str:
            match detail:
                case Paged() | Received():
                    return "seen"
                case never:
                    assert_never(never)
    """))
    out, _err, status = mypy_api.run(["--strict", "--no-incremental", "--follow-imports=silent",
                                      "--cache-dir=/dev/null", str(module)])
    assert status == 1, out
    assert f'{module}:12: error: Argument 1 to "assert_never" has incompatible type' in out, out
    assert 'expected "Never"' in out and "Found 1 error in 1 file" in out
