"""iCal in both directions: the subscribable export, and schedules imported from other tools."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest

from bot.config import IcalSchedule, RotationSchedule
from bot.oncall.ical_export import export_calendar, shift_uid
from bot.oncall.ical_import import IcalError, IcalSource
from bot.oncall.schedule import load_source, next_primary, on_call_at, shifts_between
from bot.oncall.shifts import Origin, Override, Role, Shift

ALICE, BOB, CAROL, DAVE = "U0ALICE01", "U0BOB0001", "U0CAROL01", "U0DAVE001"
PEOPLE = [(ALICE, "Alice"), (BOB, "Bob"), (CAROL, "Carol"), (DAVE, "Dave")]
NAMES = dict(PEOPLE)
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def ics(body: str) -> bytes:
    """Calendars on the wire use CRLF; write them readable here and convert."""
    return "\r\n".join(line.strip() for line in body.strip().splitlines()).encode() + b"\r\n"


# --- export ------------------------------------------------------------------------------------


def platform_shifts() -> list[Shift]:
    sched = RotationSchedule.model_validate({
        "rotation": "weekly", "handoff": "mon 09:00", "timezone": "Europe/Berlin", "start": "2026-03-02",
        "primary": [ALICE, BOB, CAROL], "backup": [BOB, CAROL, ALICE],
    })
    bob = Override("platform", DAVE, datetime(2026, 3, 25, 10, tzinfo=BERLIN), datetime(2026, 3, 30, 12, tzinfo=BERLIN),
                   created_by=DAVE, created_at=datetime(2026, 3, 1, tzinfo=UTC), id=4)
    now = datetime(2026, 3, 10, 12, tzinfo=UTC)
    return shifts_between(sched, now, now + timedelta(weeks=8), overrides=[bob], default_zone="UTC")


def test_export_has_one_event_per_shift_in_utc() -> None:
    shifts = platform_shifts()
    now = datetime(2026, 3, 10, 12, tzinfo=UTC)
    data = export_calendar("platform", shifts, people_names=NAMES, now=now,
                           calendar_url="https://ws.example.com/oncall/platform.ics")
    cal = icalendar.Calendar.from_ical(data)
    assert str(cal["X-WR-CALNAME"]) == "On call: platform"
    assert str(cal["X-PUBLISHED-TTL"]) == "PT1H"
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT1H" in data
    assert b"TZID" not in data and b"DTSTART:20260309T080000Z" in data  # everything in UTC
    events = [e for e in cal.walk("VEVENT") if isinstance(e, icalendar.Event)]
    assert len(events) == len(shifts)
    by_uid = {str(e["UID"]): e for e in events}
    assert len(by_uid) == len(shifts)
    for shift in shifts:
        event = by_uid[shift_uid("platform", shift)]
        assert isinstance(event.start, datetime) and event.start.utcoffset() == timedelta(0)
        assert (event.start, event.end, event.DTSTAMP) == (shift.start, shift.end, now)
        assert str(event["SUMMARY"]) == f"On call: {NAMES[shift.person]} (platform {shift.role.value})"
    dave = next(e for e in events if "Dave" in str(e["SUMMARY"]))
    assert "override" in str(dave["DESCRIPTION"])


def test_uid_is_stable_when_an_override_later_shortens_the_shift() -> None:
    start = datetime(2026, 3, 2, 8, tzinfo=UTC)
    week = Shift(ALICE, Role.PRIMARY, start, start + timedelta(weeks=1), Origin.ROTATION)
    shortened = Shift(ALICE, Role.PRIMARY, start, start + timedelta(days=2), Origin.ROTATION)
    assert shift_uid("platform", week) == shift_uid("platform", shortened)
    assert shift_uid("platform", week) != shift_uid("infra", week)
    assert shift_uid("platform", week) != shift_uid("platform", Shift(BOB, Role.PRIMARY, week.start, week.end,
                                                                      Origin.ROTATION))
    assert shift_uid("platform", week) != shift_uid("platform", Shift(ALICE, Role.BACKUP, week.start, week.end,
                                                                      Origin.ROTATION))


def test_export_reimports_as_the_same_shifts() -> None:
    shifts = platform_shifts()
    data = export_calendar("platform", shifts, people_names=NAMES, now=datetime(2026, 3, 10, tzinfo=UTC))
    source = IcalSource.from_bytes(data, people=PEOPLE, zone="UTC")
    window = (shifts[0].start, max(s.end for s in shifts))
    back = source.base_shifts(*window)
    assert [(s.person, s.role, s.start, s.end) for s in back] == [(s.person, s.role, s.start, s.end) for s in shifts]
    assert source.warnings(*window) == []


# --- import: PagerDuty style ------------------------------------------------------------------

BERLIN_VTIMEZONE = """
BEGIN:VTIMEZONE
TZID:Europe/Berlin
BEGIN:DAYLIGHT
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
TZNAME:CEST
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
TZNAME:CET
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE
"""

# Three people on a three-week cycle, handing off Mondays 09:00 Berlin; Dave is the secondary
# every week; Alice's 6 April week was swapped to Bob (RECURRENCE-ID); one shift names someone
# the bot does not know.
PAGERDUTY = f"""
BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//PagerDuty Inc.//PagerDuty Calendar Feed//EN
X-WR-CALNAME:Platform Primary
{BERLIN_VTIMEZONE}
BEGIN:VEVENT
UID:Q1ALICE@pagerduty.com
DTSTAMP:20260301T000000Z
DTSTART;TZID=Europe/Berlin:20260316T090000
DTEND;TZID=Europe/Berlin:20260323T090000
RRULE:FREQ=WEEKLY;INTERVAL=3
SUMMARY:On Call - Alice Smith - Platform Primary
ATTENDEE;CN=Alice Smith:mailto:alice.smith@example.com
URL:https://acme.pagerduty.com/schedules#P1PRIM
END:VEVENT
BEGIN:VEVENT
UID:Q1ALICE@pagerduty.com
DTSTAMP:20260301T000000Z
RECURRENCE-ID;TZID=Europe/Berlin:20260406T090000
DTSTART;TZID=Europe/Berlin:20260406T090000
DTEND;TZID=Europe/Berlin:20260413T090000
SUMMARY:On Call - Bob Jones - Platform Primary
ATTENDEE;CN=Bob Jones:mailto:bob.jones@example.com
END:VEVENT
BEGIN:VEVENT
UID:Q2BOB@pagerduty.com
DTSTAMP:20260301T000000Z
DTSTART;TZID=Europe/Berlin:20260323T090000
DTEND;TZID=Europe/Berlin:20260330T090000
RRULE:FREQ=WEEKLY;INTERVAL=3
SUMMARY:On Call - Bob Jones - Platform Primary
ATTENDEE;CN=Bob Jones:mailto:bob.jones@example.com
END:VEVENT
BEGIN:VEVENT
UID:Q3CAROL@pagerduty.com
DTSTAMP:20260301T000000Z
DTSTART;TZID=Europe/Berlin:20260330T090000
DTEND;TZID=Europe/Berlin:20260406T090000
RRULE:FREQ=WEEKLY;INTERVAL=3
SUMMARY:On Call - Carol White - Platform Primary
ATTENDEE;CN=Carol White:mailto:cwhite@example.com
END:VEVENT
BEGIN:VEVENT
UID:Q4DAVE@pagerduty.com
DTSTAMP:20260301T000000Z
DTSTART;TZID=Europe/Berlin:20260316T090000
DTEND;TZID=Europe/Berlin:20260323T090000
RRULE:FREQ=WEEKLY
SUMMARY:On Call - Dave Brown - Platform Secondary
ATTENDEE;CN=Dave Brown:mailto:dave@example.com
END:VEVENT
BEGIN:VEVENT
UID:Q5MALLORY@pagerduty.com
DTSTAMP:20260301T000000Z
DTSTART;TZID=Europe/Berlin:20260504T090000
DTEND;TZID=Europe/Berlin:20260511T090000
SUMMARY:On Call - Mallory Eve - Platform Primary
ATTENDEE;CN=Mallory Eve:mailto:mallory@example.com
END:VEVENT
END:VCALENDAR
"""


def berlin(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=BERLIN)


def test_pagerduty_export_imports_with_rrule_exception_and_dst() -> None:
    source = IcalSource.from_bytes(ics(PAGERDUTY), people=PEOPLE, zone="Europe/Berlin", name="pd.ics")
    primaries = [s for s in source.base_shifts(berlin(2026, 3, 16, 9), berlin(2026, 4, 20, 9))
                 if s.role is Role.PRIMARY]
    assert [(s.person, s.start, s.end) for s in primaries] == [
        (ALICE, berlin(2026, 3, 16, 9), berlin(2026, 3, 23, 9)),
        (BOB, berlin(2026, 3, 23, 9), berlin(2026, 3, 30, 9)),  # spans the 29 March change
        (CAROL, berlin(2026, 3, 30, 9), berlin(2026, 4, 6, 9)),
        (BOB, berlin(2026, 4, 6, 9), berlin(2026, 4, 13, 9)),  # the swapped occurrence
        (BOB, berlin(2026, 4, 13, 9), berlin(2026, 4, 20, 9)),
    ]
    assert all(s.source is Origin.ICAL for s in primaries)
    assert primaries[1].end - primaries[1].start == timedelta(days=7, hours=-1)
    now = on_call_at(source, berlin(2026, 3, 29, 12), default_zone="UTC")
    assert now.primary is not None and now.primary.person == BOB
    assert now.backup is not None and now.backup.person == DAVE
    assert now.backup.start == berlin(2026, 3, 23, 9)


def test_pagerduty_unknown_person_is_reported_not_dropped_silently() -> None:
    source = IcalSource.from_bytes(ics(PAGERDUTY), people=PEOPLE, zone="Europe/Berlin")
    warnings = source.warnings(berlin(2026, 5, 1, 0), berlin(2026, 5, 20, 0))
    assert len(warnings) == 1
    assert warnings[0].uid == "Q5MALLORY@pagerduty.com"
    assert warnings[0].start == berlin(2026, 5, 4, 9)
    assert "nobody" in str(warnings[0]) and "Mallory" in str(warnings[0])
    # The unmatched event does not displace the rotation underneath it.
    assert on_call_at(source, berlin(2026, 5, 5, 0), default_zone="UTC").primary.person == BOB  # type: ignore[union-attr]


def test_overrides_apply_to_imported_schedules_too() -> None:
    source = IcalSource.from_bytes(ics(PAGERDUTY), people=PEOPLE, zone="Europe/Berlin")
    take = Override("platform", CAROL, berlin(2026, 3, 17, 18), berlin(2026, 3, 17, 22), created_by=CAROL,
                    created_at=berlin(2026, 3, 17, 17))
    during = on_call_at(source, berlin(2026, 3, 17, 20), overrides=[take], default_zone="UTC")
    assert during.primary is not None and (during.primary.person, during.primary.source) == (CAROL, Origin.OVERRIDE)
    assert during.backup is not None and during.backup.person == DAVE
    before = on_call_at(source, berlin(2026, 3, 17, 12), overrides=[take], default_zone="UTC").primary
    assert before is not None and (before.person, before.end) == (ALICE, take.start)
    nxt = next_primary(source, berlin(2026, 3, 17, 12), overrides=[take], default_zone="UTC")
    assert nxt is not None and nxt.person == CAROL


# --- import: Grafana OnCall style ----------------------------------------------------------------

# Grafana OnCall iCal schedules: the event title is the username, "[L1]" raises the priority of
# an overlapping event. Alice and Bob alternate days at 09:00 New York time across the 1 November
# change; Carol covers an afternoon at level 1; a covering shift names Dave by Slack id in an
# ATTENDEE address; one event names two people; one is cancelled.
GRAFANA = """
BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Grafana Labs//Grafana OnCall//EN
X-WR-CALNAME:platform-oncall
BEGIN:VTIMEZONE
TZID:America/New_York
BEGIN:DAYLIGHT
TZOFFSETFROM:-0500
TZOFFSETTO:-0400
TZNAME:EDT
DTSTART:19700308T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:-0400
TZOFFSETTO:-0500
TZNAME:EST
DTSTART:19701101T020000
RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU
END:STANDARD
END:VTIMEZONE
BEGIN:VEVENT
UID:oncall-alice-rotation
DTSTAMP:20261001T000000Z
DTSTART;TZID=America/New_York:20261026T090000
DTEND;TZID=America/New_York:20261027T090000
RRULE:FREQ=DAILY;INTERVAL=2;UNTIL=20261130T000000Z
SUMMARY:alice
END:VEVENT
BEGIN:VEVENT
UID:oncall-bob-rotation
DTSTAMP:20261001T000000Z
DTSTART;TZID=America/New_York:20261027T090000
DTEND;TZID=America/New_York:20261028T090000
RRULE:FREQ=DAILY;INTERVAL=2;UNTIL=20261130T000000Z
SUMMARY:BOB
END:VEVENT
BEGIN:VEVENT
UID:oncall-carol-override
DTSTAMP:20261001T000000Z
DTSTART;TZID=America/New_York:20261030T120000
DTEND;TZID=America/New_York:20261030T180000
SUMMARY:[L1] carol
END:VEVENT
BEGIN:VEVENT
UID:oncall-cover
DTSTAMP:20261001T000000Z
DTSTART:20261102T180000Z
DTEND:20261102T200000Z
SUMMARY:[L1] cover
ATTENDEE:mailto:U0DAVE001@slack.invalid
END:VEVENT
BEGIN:VEVENT
UID:oncall-pair
DTSTAMP:20261001T000000Z
DTSTART;TZID=America/New_York:20261104T090000
DTEND;TZID=America/New_York:20261104T100000
SUMMARY:[L2] alice, bob
END:VEVENT
BEGIN:VEVENT
UID:oncall-cancelled
DTSTAMP:20261001T000000Z
DTSTART;TZID=America/New_York:20261103T090000
DTEND;TZID=America/New_York:20261103T100000
SUMMARY:[L3] dave
STATUS:CANCELLED
END:VEVENT
END:VCALENDAR
"""


def ny(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=NEW_YORK)


def test_grafana_oncall_export_imports_with_levels_and_dst() -> None:
    source = IcalSource.from_bytes(ics(GRAFANA), people=PEOPLE, zone="America/New_York")
    shifts = source.base_shifts(ny(2026, 10, 29, 9), ny(2026, 11, 5, 9))
    got = [(s.person, s.start, s.end) for s in shifts]
    assert got == [
        (BOB, ny(2026, 10, 29, 9), ny(2026, 10, 30, 9)),
        (ALICE, ny(2026, 10, 30, 9), ny(2026, 10, 30, 12)),
        (CAROL, ny(2026, 10, 30, 12), ny(2026, 10, 30, 18)),  # [L1] beats the rotation
        (ALICE, ny(2026, 10, 30, 18), ny(2026, 10, 31, 9)),
        (BOB, ny(2026, 10, 31, 9), ny(2026, 11, 1, 9)),  # 25 h: the fall-back night
        (ALICE, ny(2026, 11, 1, 9), ny(2026, 11, 2, 9)),
        (BOB, ny(2026, 11, 2, 9), ny(2026, 11, 2, 13)),
        (DAVE, ny(2026, 11, 2, 13), ny(2026, 11, 2, 15)),  # Slack id in the ATTENDEE address
        (BOB, ny(2026, 11, 2, 15), ny(2026, 11, 3, 9)),
        (ALICE, ny(2026, 11, 3, 9), ny(2026, 11, 4, 9)),  # the cancelled [L3] dave is ignored
        (BOB, ny(2026, 11, 4, 9), ny(2026, 11, 5, 9)),  # the ambiguous pair is not applied
    ]
    assert shifts[4].end - shifts[4].start == timedelta(hours=25)
    assert all(s.role is Role.PRIMARY for s in shifts)
    warnings = source.warnings(ny(2026, 10, 29, 9), ny(2026, 11, 5, 9))
    assert [(w.uid, w.message) for w in warnings] == [
        ("oncall-pair", "names more than one person (Alice and Bob); name exactly one"),
    ]


# --- import: details ----------------------------------------------------------------------------


def test_floating_and_all_day_events_are_read_in_the_schedule_zone() -> None:
    data = ics("""
        BEGIN:VCALENDAR
        VERSION:2.0
        PRODID:-//test//EN
        BEGIN:VEVENT
        UID:floating
        DTSTAMP:20260101T000000Z
        DTSTART:20260601T090000
        DTEND:20260601T170000
        SUMMARY:On-Call: Alice
        END:VEVENT
        BEGIN:VEVENT
        UID:allday
        DTSTAMP:20260101T000000Z
        DTSTART;VALUE=DATE:20260602
        DTEND;VALUE=DATE:20260604
        SUMMARY:Backup: Bob
        END:VEVENT
        BEGIN:VEVENT
        UID:noend
        DTSTAMP:20260101T000000Z
        DTSTART:20260605T090000Z
        SUMMARY:Carol
        END:VEVENT
        END:VCALENDAR
    """)
    source = IcalSource.from_bytes(data, people=PEOPLE, zone="Europe/Berlin")
    shifts = source.base_shifts(datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 6, 10, tzinfo=UTC))
    assert [(s.person, s.role, s.start, s.end) for s in shifts] == [
        (ALICE, Role.PRIMARY, berlin(2026, 6, 1, 9), berlin(2026, 6, 1, 17)),
        (BOB, Role.BACKUP, berlin(2026, 6, 2, 0), berlin(2026, 6, 4, 0)),
    ]
    warnings = source.warnings(datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 6, 10, tzinfo=UTC))
    assert [w.uid for w in warnings] == ["noend"] and "no end" in warnings[0].message


def test_name_matching_is_whole_word_and_prefers_the_longest_name() -> None:
    people = [(ALICE, "Al"), (BOB, "Alice Smith"), (CAROL, "Alice")]
    data = ics("""
        BEGIN:VCALENDAR
        VERSION:2.0
        PRODID:-//test//EN
        BEGIN:VEVENT
        UID:a
        DTSTAMP:20260101T000000Z
        DTSTART:20260601T090000Z
        DTEND:20260601T100000Z
        SUMMARY:On call - ALICE   SMITH
        END:VEVENT
        BEGIN:VEVENT
        UID:b
        DTSTAMP:20260101T000000Z
        DTSTART:20260601T100000Z
        DTEND:20260601T110000Z
        SUMMARY:Alice
        END:VEVENT
        BEGIN:VEVENT
        UID:c
        DTSTAMP:20260101T000000Z
        DTSTART:20260601T110000Z
        DTEND:20260601T120000Z
        SUMMARY:Shift
        ATTENDEE;CN=Al Jones:mailto:aj@example.com
        END:VEVENT
        END:VCALENDAR
    """)
    source = IcalSource.from_bytes(data, people=people, zone="UTC")
    shifts = source.base_shifts(datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 6, 2, tzinfo=UTC))
    assert [s.person for s in shifts] == [BOB, CAROL, ALICE]


def test_from_path_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "pd.ics"
    path.write_bytes(ics(PAGERDUTY))
    source = IcalSource.from_path(path, people=PEOPLE, zone="Europe/Berlin")
    now = on_call_at(source, berlin(2026, 3, 17, 0), default_zone="UTC")
    assert now.primary is not None and now.primary.person == ALICE  # the calendar file, read from disk
    with pytest.raises(IcalError, match="cannot read"):
        IcalSource.from_path(tmp_path / "missing.ics", people=PEOPLE, zone="UTC")
    (tmp_path / "junk.ics").write_bytes(b"this is not a calendar")
    with pytest.raises(IcalError, match="junk.ics"):
        IcalSource.from_path(tmp_path / "junk.ics", people=PEOPLE, zone="UTC")


def test_load_source_reads_an_ical_schedule_relative_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "schedules").mkdir()
    (tmp_path / "schedules" / "pd.ics").write_bytes(ics(PAGERDUTY))
    source = load_source(IcalSchedule(ical="schedules/pd.ics"), people=PEOPLE, default_zone="Europe/Berlin",
                         base_dir=tmp_path)
    assert isinstance(source, IcalSource)
    assert on_call_at(source, berlin(2026, 3, 24), default_zone="UTC").primary.person == BOB  # type: ignore[union-attr]
    rotation = RotationSchedule.model_validate({"start": "2026-03-02", "primary": [ALICE]})
    assert on_call_at(load_source(rotation, people=PEOPLE, default_zone="UTC"), berlin(2026, 3, 24),
                      default_zone="UTC").primary.person == ALICE  # type: ignore[union-attr]


def test_a_broken_series_is_skipped_and_reported_not_fatal() -> None:
    data = ics("""
        BEGIN:VCALENDAR
        VERSION:2.0
        PRODID:-//test//EN
        BEGIN:VEVENT
        UID:broken
        DTSTAMP:20260101T000000Z
        DTSTART:20260601T090000Z
        DTEND:20260601T100000Z
        RRULE:FREQ=FORTNIGHTLY
        SUMMARY:Bob
        END:VEVENT
        BEGIN:VEVENT
        UID:fine
        DTSTAMP:20260101T000000Z
        DTSTART:20260601T090000Z
        DTEND:20260608T090000Z
        SUMMARY:Alice
        END:VEVENT
        END:VCALENDAR
    """)
    source = IcalSource.from_bytes(data, people=PEOPLE, zone="UTC")
    window = (datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 6, 8, tzinfo=UTC))
    assert [s.person for s in source.base_shifts(*window)] == [ALICE]
    warnings = source.warnings(*window)
    assert [(w.uid, w.start) for w in warnings] == [("broken", None)]
    assert "skipped" in warnings[0].message and "FORTNIGHTLY" in warnings[0].message


def test_empty_calendar_means_nobody_on_call() -> None:
    source = IcalSource.from_bytes(ics("BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//EN\nEND:VCALENDAR"),
                                   people=PEOPLE, zone="UTC")
    assert on_call_at(source, datetime(2026, 1, 1, tzinfo=UTC), default_zone="UTC").primary is None
    assert next_primary(source, datetime(2026, 1, 1, tzinfo=UTC), default_zone="UTC",
                        horizon=timedelta(days=30)) is None


def test_date_and_time_helpers_used_above_are_consistent() -> None:
    assert berlin(2026, 3, 30, 9) == datetime.combine(date(2026, 3, 30), time(9), BERLIN)
