"""Daylight saving: handoffs stay at their local wall-clock time, and nothing drifts.

2026 changes: Europe/Berlin 03-29 (02:00 -> 03:00) and 10-25 (03:00 -> 02:00);
America/New_York 03-08 (02:00 -> 03:00) and 11-01 (02:00 -> 01:00).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.config import RotationSchedule
from bot.oncall.schedule import on_call_at, shifts_between
from bot.oncall.shifts import Origin, Override, Role, Shift

ALICE, BOB, CAROL = "U0ALICE01", "U0BOB0001", "U0CAROL01"
CHANGES = [
    ("Europe/Berlin", date(2026, 3, 29)),
    ("Europe/Berlin", date(2026, 10, 25)),
    ("America/New_York", date(2026, 3, 8)),
    ("America/New_York", date(2026, 11, 1)),
]


def rotation(zone: str, **kw: Any) -> RotationSchedule:
    values: dict[str, Any] = {"rotation": "daily", "handoff": "09:00", "timezone": zone,
                              "start": date(2026, 1, 5), "primary": [ALICE, BOB, CAROL]}
    return RotationSchedule.model_validate(values | kw)


def primaries(sched: RotationSchedule, start: datetime, end: datetime, **kw: Any) -> list[Shift]:
    return [s for s in shifts_between(sched, start, end, default_zone="UTC", **kw) if s.role is Role.PRIMARY]


def around(zone: str, day: date, days: int = 3) -> tuple[datetime, datetime]:
    tz = ZoneInfo(zone)
    return (datetime.combine(day - timedelta(days=days), time(0), tz),
            datetime.combine(day + timedelta(days=days), time(0), tz))


@pytest.mark.parametrize(("zone", "day"), CHANGES)
@pytest.mark.parametrize("kind", ["daily", "weekly"])
def test_0900_handoff_stays_0900_local(zone: str, day: date, kind: str) -> None:
    tz = ZoneInfo(zone)
    sched = rotation(zone, rotation=kind, handoff="sun 09:00" if kind == "weekly" else "09:00")
    start, end = around(zone, day, days=15)
    shifts = primaries(sched, start, end)
    assert len(shifts) >= 3
    for s in shifts:
        assert s.start.astimezone(tz).time() == time(9, 0)
        assert s.end.astimezone(tz).time() == time(9, 0)
    # The shift spanning the change is an hour shorter or longer in real time, never shifted.
    across = next(s for s in shifts if s.covers(datetime.combine(day, time(1), tz)))
    nominal = timedelta(days=1 if kind == "daily" else 7)
    assert abs(across.end - across.start - nominal) == timedelta(hours=1)


@pytest.mark.parametrize(("zone", "day"), CHANGES)
def test_twelve_hour_rotation_does_not_drift(zone: str, day: date) -> None:
    tz = ZoneInfo(zone)
    sched = rotation(zone, rotation="12h")
    start, end = around(zone, day, days=4)
    shifts = primaries(sched, start, end)
    assert {s.start.astimezone(tz).time() for s in shifts} == {time(9), time(21)}
    lengths = sorted({s.end - s.start for s in shifts})
    assert timedelta(hours=12) in lengths and len(lengths) == 2  # one 11h or 13h night
    # Still 09:00 / 21:00 a whole year later.
    later = primaries(sched, start + timedelta(days=365), start + timedelta(days=367))
    assert {s.start.astimezone(tz).time() for s in later} == {time(9), time(21)}


def test_twelve_hour_nights_across_both_berlin_changes() -> None:
    tz = ZoneInfo("Europe/Berlin")
    sched = rotation("Europe/Berlin", rotation="12h")
    spring = on_call_at(sched, datetime(2026, 3, 29, 4, 0, tzinfo=tz), default_zone="UTC").primary
    autumn = on_call_at(sched, datetime(2026, 10, 25, 4, 0, tzinfo=tz), default_zone="UTC").primary
    assert spring is not None and autumn is not None
    assert spring.end - spring.start == timedelta(hours=11)
    assert autumn.end - autumn.start == timedelta(hours=13)


@pytest.mark.parametrize(
    ("zone", "day", "expected_utc"),
    [
        # 02:30 does not exist: the pre-change offset applies (fold=0), i.e. 03:30 local.
        ("Europe/Berlin", date(2026, 3, 29), datetime(2026, 3, 29, 1, 30, tzinfo=UTC)),
        # 02:30 happens twice: the first one (still summer time) is the handoff.
        ("Europe/Berlin", date(2026, 10, 25), datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),
        ("America/New_York", date(2026, 3, 8), datetime(2026, 3, 8, 7, 30, tzinfo=UTC)),
    ],
)
def test_handoff_in_a_gap_or_fold_is_deterministic(zone: str, day: date, expected_utc: datetime) -> None:
    tz = ZoneInfo(zone)
    sched = rotation(zone, handoff="02:30")
    start, end = around(zone, day, days=1)
    starts = [s.start for s in primaries(sched, start, end)]
    assert expected_utc in starts
    assert on_call_at(sched, expected_utc, default_zone="UTC").primary.start == expected_utc  # type: ignore[union-attr]
    # The neighbours are at 02:30 local as usual.
    for s in starts:
        if s != expected_utc:
            assert s.astimezone(tz).time() == time(2, 30)


def test_ny_fall_back_0130_handoff_uses_the_first_0130() -> None:
    tz = ZoneInfo("America/New_York")
    sched = rotation("America/New_York", handoff="01:30")
    shift = on_call_at(sched, datetime(2026, 11, 1, 12, 0, tzinfo=tz), default_zone="UTC").primary
    assert shift is not None
    assert shift.start == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT
    assert shift.end - shift.start == timedelta(hours=25)


def test_hourly_rotation_across_spring_forward_skips_the_missing_hour() -> None:
    tz = ZoneInfo("Europe/Berlin")
    sched = rotation("Europe/Berlin", rotation="1h", handoff="00:00", start=date(2026, 3, 29))
    shifts = primaries(sched, datetime(2026, 3, 29, 0, 0, tzinfo=tz), datetime(2026, 3, 29, 6, 0, tzinfo=tz))
    assert [s.start.astimezone(tz).hour for s in shifts] == [0, 1, 3, 4, 5]
    assert all(a.end == b.start for a, b in zip(shifts, shifts[1:], strict=False))
    # Handoff 2 (02:00) collapsed into 03:00: the person whose turn it was is skipped.
    assert [s.person for s in shifts] == [ALICE, BOB, ALICE, BOB, CAROL]


@pytest.mark.parametrize(("zone", "day"), CHANGES)
def test_override_spanning_a_change(zone: str, day: date) -> None:
    tz = ZoneInfo(zone)
    sched = rotation(zone)
    start = datetime.combine(day - timedelta(days=1), time(20), tz)
    end = datetime.combine(day, time(20), tz)
    bob = Override("platform", BOB, start, end, created_by=BOB, created_at=start - timedelta(days=2), id=3)
    assert abs(bob.end - bob.start - timedelta(hours=24)) == timedelta(hours=1)
    shifts = primaries(sched, start - timedelta(hours=12), end + timedelta(hours=14), overrides=[bob])
    override = [s for s in shifts if s.source is Origin.OVERRIDE]
    assert [(s.person, s.start, s.end) for s in override] == [(BOB, bob.start, bob.end)]
    assert all(a.end == b.start for a, b in zip(shifts, shifts[1:], strict=False))
    # Rotation pieces around it keep their 09:00 edges.
    for s in shifts:
        if s.source is Origin.ROTATION:
            assert time(9) in (s.start.astimezone(tz).time(), s.end.astimezone(tz).time())
    for probe, person in [(start - timedelta(microseconds=1), None), (start, BOB),
                          (end - timedelta(microseconds=1), BOB), (end, None)]:
        got = on_call_at(sched, probe, overrides=[bob], default_zone="UTC").primary
        assert got is not None
        if person is None:
            assert got.source is Origin.ROTATION
        else:
            assert got.person == person and got.source is Origin.OVERRIDE


@pytest.mark.parametrize(("zone", "day"), CHANGES)
def test_overlapping_overrides_latest_created_wins(zone: str, day: date) -> None:
    tz = ZoneInfo(zone)
    sched = rotation(zone, primary=[ALICE])
    created = datetime(2026, 1, 1, tzinfo=UTC)
    first = Override("platform", BOB, datetime.combine(day, time(0), tz), datetime.combine(day, time(6), tz),
                     created_by=BOB, created_at=created + timedelta(hours=1), id=1)
    second = Override("platform", CAROL, datetime.combine(day, time(1), tz), datetime.combine(day, time(4), tz),
                      created_by=CAROL, created_at=created + timedelta(hours=2), id=2)
    older_but_later_id = Override("platform", ALICE, datetime.combine(day, time(5), tz),
                                  datetime.combine(day, time(8), tz), created_by=ALICE, created_at=created, id=9)
    overrides = [second, older_but_later_id, first]  # order given does not matter
    shifts = primaries(sched, datetime.combine(day - timedelta(days=1), time(23), tz),
                       datetime.combine(day, time(8, 30), tz), overrides=overrides)
    got = [(s.person, s.source, s.start, s.end) for s in shifts]
    assert got == [
        (ALICE, Origin.ROTATION, datetime.combine(day - timedelta(days=1), time(9), tz), first.start),
        (BOB, Origin.OVERRIDE, first.start, second.start),
        (CAROL, Origin.OVERRIDE, second.start, second.end),
        (BOB, Origin.OVERRIDE, second.end, first.end),
        (ALICE, Origin.OVERRIDE, first.end, older_but_later_id.end),
        (ALICE, Origin.ROTATION, older_but_later_id.end, datetime.combine(day, time(9), tz)),
    ]


def test_same_created_at_tie_broken_by_id() -> None:
    tz = ZoneInfo("Europe/Berlin")
    sched = rotation("Europe/Berlin")
    created = datetime(2026, 1, 1, tzinfo=UTC)
    a = Override("platform", BOB, datetime(2026, 3, 29, 1, tzinfo=tz), datetime(2026, 3, 29, 5, tzinfo=tz),
                 created_by=BOB, created_at=created, id=5)
    b = Override("platform", CAROL, datetime(2026, 3, 29, 1, tzinfo=tz), datetime(2026, 3, 29, 5, tzinfo=tz),
                 created_by=CAROL, created_at=created, id=6)
    for overrides in ([a, b], [b, a]):
        got = on_call_at(sched, datetime(2026, 3, 29, 4, tzinfo=tz), overrides=overrides, default_zone="UTC")
        assert got.primary is not None and got.primary.person == CAROL
