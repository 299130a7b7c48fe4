"""Rotations from the config: who is on call, until when, and who is next."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.config import RotationSchedule
from bot.oncall.rotation import Rotation
from bot.oncall.schedule import next_handoff, next_primary, on_call_at, shifts_between, upcoming_shift
from bot.oncall.shifts import OnCall, Origin, Override, Role

ALICE, BOB, CAROL = "U0ALICE01", "U0BOB0001", "U0CAROL01"
BERLIN = ZoneInfo("Europe/Berlin")


def rotation(**kw: Any) -> RotationSchedule:
    values: dict[str, Any] = {
        "rotation": "weekly", "handoff": "mon 09:00", "timezone": "Europe/Berlin",
        "start": date(2026, 11, 2), "primary": [ALICE, BOB, CAROL], "backup": [BOB, CAROL, ALICE],
    }
    return RotationSchedule.model_validate(values | kw)


def berlin(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=BERLIN)


def who(schedule: RotationSchedule, at: datetime, **kw: Any) -> OnCall:
    return on_call_at(schedule, at, default_zone="UTC", **kw)


def test_weekly_rotation_hands_off_monday_0900_local() -> None:
    sched = rotation()
    now = who(sched, berlin(2026, 11, 4, 15, 0))
    assert now.primary is not None and now.backup is not None
    assert (now.primary.person, now.backup.person) == (ALICE, BOB)
    assert now.primary.start == berlin(2026, 11, 2, 9, 0)
    assert now.primary.end == berlin(2026, 11, 9, 9, 0)
    assert now.primary.source is Origin.ROTATION
    # Start inclusive, end exclusive.
    assert who(sched, berlin(2026, 11, 9, 8, 59, 59)).primary.person == ALICE  # type: ignore[union-attr]
    assert who(sched, berlin(2026, 11, 9, 9, 0)).primary.person == BOB  # type: ignore[union-attr]
    assert who(sched, berlin(2026, 11, 23, 9, 0)).primary.person == ALICE  # type: ignore[union-attr]


def test_nobody_is_on_call_before_the_first_handoff() -> None:
    before = who(rotation(), berlin(2026, 11, 2, 8, 59))
    assert before.primary is None and before.backup is None
    assert shifts_between(rotation(), berlin(2026, 10, 1, 0, 0), berlin(2026, 11, 2, 9, 0),
                          default_zone="UTC") == []


def test_weekly_start_off_the_handoff_weekday_gives_a_short_first_shift() -> None:
    sched = rotation(start=date(2026, 11, 4))  # a Wednesday, handoff on Mondays
    shifts = [s for s in shifts_between(sched, berlin(2026, 11, 1, 0, 0), berlin(2026, 11, 24, 0, 0),
                                        default_zone="UTC") if s.role is Role.PRIMARY]
    assert [(s.person, s.start, s.end) for s in shifts] == [
        (ALICE, berlin(2026, 11, 4, 9, 0), berlin(2026, 11, 9, 9, 0)),
        (BOB, berlin(2026, 11, 9, 9, 0), berlin(2026, 11, 16, 9, 0)),
        (CAROL, berlin(2026, 11, 16, 9, 0), berlin(2026, 11, 23, 9, 0)),
        (ALICE, berlin(2026, 11, 23, 9, 0), berlin(2026, 11, 30, 9, 0)),
    ]


def test_weekly_without_weekday_runs_from_the_start_date() -> None:
    sched = rotation(handoff="10:30", start=date(2026, 11, 5))  # Thursday
    starts = [s.start for s in shifts_between(sched, berlin(2026, 11, 5, 10, 30), berlin(2026, 11, 26, 0, 0),
                                              default_zone="UTC") if s.role is Role.PRIMARY]
    assert starts == [berlin(2026, 11, 5, 10, 30), berlin(2026, 11, 12, 10, 30), berlin(2026, 11, 19, 10, 30)]


def test_daily_ignores_the_handoff_weekday() -> None:
    sched = rotation(rotation="daily", handoff="mon 08:00")
    starts = [s.start for s in shifts_between(sched, berlin(2026, 11, 2, 8, 0), berlin(2026, 11, 5, 8, 0),
                                              default_zone="UTC") if s.role is Role.PRIMARY]
    assert starts == [berlin(2026, 11, 2, 8, 0), berlin(2026, 11, 3, 8, 0), berlin(2026, 11, 4, 8, 0)]


def test_twelve_hour_rotation_and_backup_on_the_same_boundaries() -> None:
    sched = rotation(rotation="12h", handoff="09:00")
    shifts = shifts_between(sched, berlin(2026, 11, 2, 9, 0), berlin(2026, 11, 3, 21, 1), default_zone="UTC")
    assert [(s.person, s.role, s.start.astimezone(BERLIN).hour) for s in shifts] == [
        (ALICE, Role.PRIMARY, 9), (BOB, Role.BACKUP, 9),
        (BOB, Role.PRIMARY, 21), (CAROL, Role.BACKUP, 21),
        (CAROL, Role.PRIMARY, 9), (ALICE, Role.BACKUP, 9),
        (ALICE, Role.PRIMARY, 21), (BOB, Role.BACKUP, 21),
    ]


def test_schedule_without_zone_uses_the_default_zone() -> None:
    sched = rotation(timezone=None)
    ny = ZoneInfo("America/New_York")
    first = on_call_at(sched, datetime(2026, 11, 2, 9, 0, tzinfo=ny), default_zone="America/New_York").primary
    assert first is not None and first.start == datetime(2026, 11, 2, 9, 0, tzinfo=ny)


def test_no_backup_list_means_no_backup() -> None:
    assert who(rotation(backup=[]), berlin(2026, 11, 3, 0, 0)).backup is None


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        who(rotation(), datetime(2026, 11, 3, 9, 0))


def test_next_handoff() -> None:
    sched = rotation()
    assert next_handoff(sched, berlin(2026, 1, 1, 0, 0), "UTC") == berlin(2026, 11, 2, 9, 0)
    assert next_handoff(sched, berlin(2026, 11, 2, 9, 0), "UTC") == berlin(2026, 11, 9, 9, 0)
    assert next_handoff(sched, berlin(2026, 11, 9, 8, 0), "UTC") == berlin(2026, 11, 9, 9, 0)
    bob = Override("platform", BOB, berlin(2026, 11, 4, 10, 0), berlin(2026, 11, 4, 14, 0),
                   created_by=BOB, created_at=berlin(2026, 11, 3, 0, 0), id=1)
    assert next_handoff(sched, berlin(2026, 11, 3, 0, 0), "UTC", overrides=[bob]) == berlin(2026, 11, 4, 10, 0)
    assert next_handoff(sched, berlin(2026, 11, 4, 10, 0), "UTC", overrides=[bob]) == berlin(2026, 11, 4, 14, 0)
    assert Rotation(sched, default_zone="UTC").next_handoff(berlin(2026, 11, 4, 10, 0)) == berlin(2026, 11, 9, 9, 0)


def test_who_is_next() -> None:
    sched = rotation()
    nxt = next_primary(sched, berlin(2026, 11, 3, 0, 0), default_zone="UTC")
    assert nxt is not None and (nxt.person, nxt.start) == (BOB, berlin(2026, 11, 9, 9, 0))
    # Before the start, the first shift is next.
    first = next_primary(sched, berlin(2026, 10, 1, 0, 0), default_zone="UTC")
    assert first is not None and first.person == ALICE
    # An override is a different primary, so it is next.
    carol = Override("platform", CAROL, berlin(2026, 11, 5, 18, 0), berlin(2026, 11, 5, 22, 0),
                     created_by=CAROL, created_at=berlin(2026, 11, 3, 0, 0))
    nxt = next_primary(sched, berlin(2026, 11, 3, 0, 0), overrides=[carol], default_zone="UTC")
    assert nxt is not None and (nxt.person, nxt.source) == (CAROL, Origin.OVERRIDE)
    # Consecutive shifts of the same person are skipped.
    sched = rotation(primary=[ALICE, ALICE, BOB])
    nxt = next_primary(sched, berlin(2026, 11, 3, 0, 0), default_zone="UTC")
    assert nxt is not None and (nxt.person, nxt.start) == (BOB, berlin(2026, 11, 16, 9, 0))


def test_nobody_is_next_in_a_one_person_rotation() -> None:
    sched = rotation(primary=[ALICE], backup=[])
    assert next_primary(sched, berlin(2026, 11, 3, 0, 0), default_zone="UTC", horizon=timedelta(days=60)) is None


def test_upcoming_shift_of_a_person() -> None:
    sched = rotation()
    carols = upcoming_shift(sched, CAROL, berlin(2026, 11, 3, 0, 0), default_zone="UTC")
    assert carols is not None and (carols.role, carols.start) == (Role.BACKUP, berlin(2026, 11, 9, 9, 0))
    alices = upcoming_shift(sched, ALICE, berlin(2026, 11, 3, 0, 0), default_zone="UTC")
    assert alices is not None and alices.start == berlin(2026, 11, 2, 9, 0)  # the current one
    assert upcoming_shift(sched, "U0NOBODY1", berlin(2026, 11, 3, 0, 0), default_zone="UTC",
                          horizon=timedelta(days=30)) is None


def test_override_splits_the_rotation_shift_around_it() -> None:
    sched = rotation()
    bob = Override("platform", BOB, berlin(2026, 11, 4, 10, 0), berlin(2026, 11, 4, 14, 0),
                   created_by=BOB, created_at=berlin(2026, 11, 3, 0, 0), id=7)
    shifts = [s for s in shifts_between(sched, berlin(2026, 11, 2, 9, 0), berlin(2026, 11, 9, 9, 0),
                                        overrides=[bob], default_zone="UTC") if s.role is Role.PRIMARY]
    assert [(s.person, s.source, s.start, s.end, s.override_id) for s in shifts] == [
        (ALICE, Origin.ROTATION, berlin(2026, 11, 2, 9, 0), berlin(2026, 11, 4, 10, 0), None),
        (BOB, Origin.OVERRIDE, berlin(2026, 11, 4, 10, 0), berlin(2026, 11, 4, 14, 0), 7),
        (ALICE, Origin.ROTATION, berlin(2026, 11, 4, 14, 0), berlin(2026, 11, 9, 9, 0), None),
    ]
    # "Until when" is the real end of the piece, not the edge of a query window.
    before = who(sched, berlin(2026, 11, 3, 0, 0), overrides=[bob]).primary
    assert before is not None and before.end == berlin(2026, 11, 4, 10, 0)
    # The backup is untouched by an override.
    during = who(sched, berlin(2026, 11, 4, 12, 0), overrides=[bob])
    assert during.backup is not None and during.backup.person == BOB and during.backup.source is Origin.ROTATION


def test_shift_ends_reflect_overrides_outside_the_window() -> None:
    sched = rotation()
    carol = Override("platform", CAROL, berlin(2026, 11, 6, 0, 0), berlin(2026, 11, 10, 0, 0),
                     created_by=CAROL, created_at=berlin(2026, 11, 1, 0, 0))
    later = Override("platform", BOB, berlin(2026, 11, 8, 0, 0), berlin(2026, 11, 8, 12, 0),
                     created_by=BOB, created_at=berlin(2026, 11, 2, 0, 0))
    # Window covers only the start of Carol's override; the later Bob override cuts her piece.
    shifts = shifts_between(sched, berlin(2026, 11, 6, 1, 0), berlin(2026, 11, 6, 2, 0),
                            overrides=[carol, later], default_zone="UTC")
    primary = next(s for s in shifts if s.role is Role.PRIMARY)
    assert (primary.person, primary.start, primary.end) == (CAROL, berlin(2026, 11, 6, 0, 0),
                                                            berlin(2026, 11, 8, 0, 0))


def test_override_before_the_rotation_starts_still_counts() -> None:
    sched = rotation()
    early = Override("platform", CAROL, berlin(2026, 10, 30, 9, 0), berlin(2026, 11, 2, 12, 0),
                     created_by=CAROL, created_at=datetime(2026, 10, 1, tzinfo=UTC))
    assert who(sched, berlin(2026, 10, 31, 0, 0), overrides=[early]).primary.person == CAROL  # type: ignore[union-attr]
    after = who(sched, berlin(2026, 11, 2, 12, 0), overrides=[early]).primary
    assert after is not None and after.person == ALICE and after.start == berlin(2026, 11, 2, 12, 0)


def test_override_validation() -> None:
    with pytest.raises(ValueError, match="end after"):
        Override("platform", BOB, berlin(2026, 11, 4, 10, 0), berlin(2026, 11, 4, 10, 0),
                 created_by=BOB, created_at=berlin(2026, 11, 3, 0, 0))
    with pytest.raises(ValueError, match="timezone-aware"):
        Override("platform", BOB, datetime(2026, 11, 4, 10, 0), berlin(2026, 11, 4, 11, 0),
                 created_by=BOB, created_at=berlin(2026, 11, 3, 0, 0))
