"""Time source. Everything that needs "now" takes a Clock so tests can move time."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to; for tests, the demo and benchmarks."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        self._now += delta
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when.astimezone(UTC)


class FileClock:
    """TEST-ONLY: the current instant is whatever ISO-8601 time the file holds, read on every call.

    Lets a crash test move time for a bot running in another process (``python -m bot serve`` with
    ``WATCHSTANDER_FAKE_CLOCK_FILE`` set, see :func:`clock_from_env`): the test writes the file,
    the bot sees the new time at its next look. Never set that variable in production.
    """

    #: Time jumps when the test writes the file, so sleepers must look again often.
    max_sleep = 0.05

    def __init__(self, path: str) -> None:
        self._path = path

    def now(self) -> datetime:
        with open(self._path, encoding="utf-8") as f:
            when = datetime.fromisoformat(f.read().strip())
        if when.tzinfo is None:
            raise ValueError(f"{self._path} must hold a timezone-aware time, e.g. 2026-11-24T13:00:00+00:00")
        return when.astimezone(UTC)


FAKE_CLOCK_ENV = "WATCHSTANDER_FAKE_CLOCK_FILE"


def clock_from_env(env: Mapping[str, str]) -> Clock:
    """The real clock, unless a test set ``WATCHSTANDER_FAKE_CLOCK_FILE`` (then a :class:`FileClock`)."""
    path = env.get(FAKE_CLOCK_ENV)
    return FileClock(path) if path else SystemClock()


def max_sleep(clock: Clock, default: float) -> float:
    """How long a sleeper may wait before looking at ``clock`` again (a FileClock jumps)."""
    return min(default, float(getattr(clock, "max_sleep", default)))
