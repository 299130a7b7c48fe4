"""When each background loop last went round, so readiness can tell a live loop from a stuck one.

A loop calls :meth:`Heartbeat.tick` once per pass (and per batch of a long pass). The heartbeat is
stale when no tick came for ``STALE_INTERVALS`` of the loop's interval, and never sooner than
``MIN_STALE_SECONDS``, so a pass that waits on Slack's timeouts is not mistaken for a dead loop.
Time is the monotonic clock, not the bot's :class:`~bot.clock.Clock`: liveness is about real
seconds, while the bot's clock may be a test's clock that jumps by minutes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

STALE_INTERVALS = 5
MIN_STALE_SECONDS = 60.0


class Loop(StrEnum):
    """The loops that page and post: readiness reports each by this name."""

    ESCALATION = "escalation_runner"
    DISPATCHER = "dispatcher"
    SCHEDULER = "scheduler"
    CHECKS = "check_runner"  # only when checks are configured


@dataclass(frozen=True)
class Beat:
    last_tick: datetime
    seconds_ago: float
    stale_after: float

    @property
    def stale(self) -> bool:
        return self.seconds_ago > self.stale_after

    def as_json(self) -> dict[str, object]:
        return {"ok": not self.stale, "last_tick": self.last_tick.isoformat(timespec="seconds"),
                "seconds_ago": round(self.seconds_ago, 1), "stale_after_seconds": self.stale_after}


class Heartbeat:
    def __init__(self, interval: float, *, now: Callable[[], float] = time.monotonic) -> None:
        """``interval``: the longest the loop sleeps between passes when idle, in seconds."""
        self.interval = interval
        self.now = now  # tests inject a clock that has moved on
        self._last = now()  # a loop that never starts goes stale like one that stopped
        self._wall = time.time()
        self._asleep_for = 0.0

    def tick(self, *, asleep_for: float = 0.0) -> None:
        """A pass went round; ``asleep_for``: the loop now sleeps that long (until its next deadline),
        and is not stale until that long plus the usual allowance has gone by without a tick."""
        self._last, self._wall = self.now(), time.time()
        self._asleep_for = asleep_for

    def beat(self) -> Beat:
        ago = max(self.now() - self._last, 0.0)
        allowance = max(STALE_INTERVALS * self.interval, MIN_STALE_SECONDS)
        return Beat(last_tick=datetime.fromtimestamp(self._wall, UTC), seconds_ago=ago,
                    stale_after=allowance + self._asleep_for)
