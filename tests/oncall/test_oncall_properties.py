"""Properties that must hold for every rotation, zone and set of overrides."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import Handoff, RotationSchedule
from bot.oncall.rotation import Rotation, wall_clock_instant
from bot.oncall.schedule import on_call_at, shifts_between
from bot.oncall.shifts import Override, Role, Shift

PEOPLE = ["U0ALICE01", "U0BOB0001", "U0CAROL01", "U0DAVE001"]
# Zones with ordinary DST, a 30-minute DST (Lord Howe), DST at midnight (Santiago), none (Kolkata).
ZONES = ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "America/Santiago", "Asia/Kolkata", "UTC"]
ROTATIONS = ["weekly", "daily", "1h", "4h", "6h", "8h", "12h", "36h", "2d"]
TICK = timedelta(microseconds=1)
# Zone arithmetic on first use (tzdata loading) is slow; timing is not what these tests check.
PROPERTY = settings(deadline=None, max_examples=150)


@st.composite
def schedules(draw: st.DrawFn) -> RotationSchedule:
    rotation = draw(st.sampled_from(ROTATIONS))
    weekday = draw(st.none() | st.integers(0, 6))
    at = time(draw(st.integers(0, 23)), draw(st.sampled_from([0, 15, 30])))
    return RotationSchedule(
        rotation=rotation,
        handoff=Handoff(weekday=weekday, at=at),
        timezone=draw(st.sampled_from(ZONES)),
        start=draw(st.dates(date(2025, 1, 1), date(2027, 12, 31))),
        primary=draw(st.lists(st.sampled_from(PEOPLE), min_size=1, max_size=4)),
        backup=draw(st.lists(st.sampled_from(PEOPLE), max_size=3)),
    )


def first_handoff(sched: RotationSchedule) -> datetime:
    return Rotation(sched, default_zone="UTC").handoff(0)


offsets = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=500))
window_lengths = st.timedeltas(min_value=timedelta(minutes=1), max_value=timedelta(days=20))


@PROPERTY
@given(schedules(), offsets)
def test_exactly_one_primary_at_every_instant_from_start(sched: RotationSchedule, offset: timedelta) -> None:
    at = first_handoff(sched) + offset
    now = on_call_at(sched, at, default_zone="UTC")
    assert now.primary is not None and now.primary.covers(at)
    covering = [s for s in shifts_between(sched, at, at + TICK, default_zone="UTC")
                if s.role is Role.PRIMARY and s.covers(at)]
    assert covering == [now.primary]
    assert (now.backup is not None) == bool(sched.backup)


@PROPERTY
@given(schedules(), st.timedeltas(min_value=TICK, max_value=timedelta(days=400)))
def test_nobody_before_start(sched: RotationSchedule, before: timedelta) -> None:
    now = on_call_at(sched, first_handoff(sched) - before, default_zone="UTC")
    assert now.primary is None and now.backup is None


def allowed_local_times(sched: RotationSchedule) -> set[time]:
    """Handoff times of day: ``at`` plus multiples of the shift length, modulo a day."""
    base = datetime.combine(date(2000, 1, 1), sched.handoff.at)
    step = timedelta(weeks=1) if sched.rotation == "weekly" else sched.shift_length
    return {(base + k * step).time() for k in range(48)}


@PROPERTY
@given(schedules(), offsets, window_lengths)
def test_boundaries_fall_at_the_handoff_local_time(sched: RotationSchedule, offset: timedelta,
                                                  length: timedelta) -> None:
    zone = ZoneInfo(sched.timezone or "UTC")
    start = first_handoff(sched) + offset
    allowed = allowed_local_times(sched)
    for shift in shifts_between(sched, start, start + length, default_zone="UTC"):
        local = shift.start.astimezone(zone)
        # Each boundary is the fold=0 image of an allowed wall-clock time (gaps move it later).
        candidates = [datetime.combine(local.date() - timedelta(days=d), t) for d in (0, 1) for t in allowed]
        assert any(wall_clock_instant(c, zone) == shift.start for c in candidates), local
        if sched.rotation == "weekly" and sched.handoff.weekday is not None and shift.start != first_handoff(sched):
            nominal = next(c for c in candidates if wall_clock_instant(c, zone) == shift.start)
            assert nominal.weekday() == sched.handoff.weekday


def assert_contiguous(shifts: list[Shift], start: datetime, end: datetime) -> None:
    assert shifts, "no shifts"
    assert shifts[0].start <= start and shifts[-1].end >= end
    for a, b in zip(shifts, shifts[1:], strict=False):
        assert a.end == b.start, (a, b)


@dataclass(frozen=True)
class Scenario:
    sched: RotationSchedule
    overrides: list[Override]
    window: tuple[datetime, datetime]


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    sched = draw(schedules())
    origin = first_handoff(sched)
    window_start = origin + draw(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=60)))
    window_end = window_start + draw(window_lengths)
    overrides = []
    for i in range(draw(st.integers(0, 5))):
        s = window_start + draw(st.timedeltas(min_value=-timedelta(days=5), max_value=timedelta(days=25)))
        e = s + draw(st.timedeltas(min_value=timedelta(minutes=1), max_value=timedelta(days=6)))
        created = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(hours=draw(st.integers(0, 5)))
        overrides.append(Override("t", draw(st.sampled_from(PEOPLE)), s, e, created_by="U0ADMIN01",
                                  created_at=created, id=i))
    return Scenario(sched, overrides, (window_start, window_end))


def expected_primary(sc: Scenario, at: datetime) -> str | None:
    """Reference model: the latest-created covering override, else the plain rotation."""
    covering = [o for o in sc.overrides if o.start <= at < o.end]
    if covering:
        return max(covering, key=lambda o: o.precedence).person
    base = on_call_at(sc.sched, at, default_zone="UTC").primary
    return base.person if base else None


@PROPERTY
@given(scenarios(), st.data())
def test_overrides_replace_their_span(sc: Scenario, data: st.DataObject) -> None:
    probes = [t for o in sc.overrides for t in (o.start, o.end - TICK, o.end, o.start - TICK)]
    probes.append(data.draw(st.datetimes(timezones=st.just(UTC), min_value=datetime(2024, 12, 1),
                                         max_value=datetime(2028, 12, 1))))
    for at in probes:
        got = on_call_at(sc.sched, at, overrides=sc.overrides, default_zone="UTC").primary
        assert (got.person if got else None) == expected_primary(sc, at), at
        if got is not None:
            assert got.covers(at)


@PROPERTY
@given(scenarios())
def test_shifts_between_is_contiguous_and_non_overlapping_per_role(sc: Scenario) -> None:
    start, end = sc.window
    shifts = shifts_between(sc.sched, start, end, overrides=sc.overrides, default_zone="UTC")
    assert shifts == sorted(shifts, key=lambda s: (s.start, s.role is Role.BACKUP))
    assert all(s.overlaps(start, end) for s in shifts)
    assert_contiguous([s for s in shifts if s.role is Role.PRIMARY], start, end)
    if sc.sched.backup:
        assert_contiguous([s for s in shifts if s.role is Role.BACKUP], start, end)
    else:
        assert not [s for s in shifts if s.role is Role.BACKUP]


@settings(deadline=None, max_examples=100)
@given(scenarios(), st.data())
def test_shift_extents_do_not_depend_on_the_query_window(sc: Scenario, data: st.DataObject) -> None:
    start, end = sc.window
    shifts = shifts_between(sc.sched, start, end, overrides=sc.overrides, default_zone="UTC")
    shift = data.draw(st.sampled_from(shifts))
    at = max(shift.start, start)
    now = on_call_at(sc.sched, at, overrides=sc.overrides, default_zone="UTC")
    assert (now.primary if shift.role is Role.PRIMARY else now.backup) == shift
