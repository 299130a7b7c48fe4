"""The on-call vocabulary: who holds which role over which span, and the overrides that change it.

Every instant here is timezone-aware UTC. Zones matter only where a rotation turns local
wall-clock handoffs into instants (``rotation.py``) and where people type times
(``timeparse.py``); past those edges everything is UTC, so comparisons never depend on who is
looking. Spans are half-open, ``[start, end)``: at the very instant of a handoff the incoming
person is on call, never both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum


class Role(StrEnum):
    PRIMARY = "primary"
    BACKUP = "backup"


class Origin(StrEnum):
    """Where a shift came from; the UI says "(override)" and the export says why."""

    ROTATION = "rotation"
    OVERRIDE = "override"
    ICAL = "ical"


def as_utc(value: datetime, what: str = "time") -> datetime:
    """Normalise an aware datetime to UTC; a naive one is a bug upstream, so it is refused loudly.

    Guessing a zone for a naive value (SQLite hands them back) would silently shift a shift.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {value.isoformat()}")
    return value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Shift:
    """One person holding one role over ``[start, end)``.

    ``override_id`` is set on pieces of a stored override so the UI can offer to remove it.
    """

    person: str
    role: Role
    start: datetime
    end: datetime
    source: Origin
    override_id: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", as_utc(self.start, "shift start"))
        object.__setattr__(self, "end", as_utc(self.end, "shift end"))
        if self.end <= self.start:
            raise ValueError(f"shift ends ({self.end.isoformat()}) before it starts ({self.start.isoformat()})")

    def covers(self, at: datetime) -> bool:
        return self.start <= at < self.end

    def overlaps(self, start: datetime, end: datetime) -> bool:
        return self.start < end and self.end > start


@dataclass(frozen=True, slots=True)
class Override:
    """A stored ``/oncall override`` or ``/oncall take``: ``person`` is primary for ``[start, end)``.

    The DB layer builds these from its rows; the schedule functions never look at ``team`` (the
    caller passes one team's overrides) but it travels along so logs and UIs can say whose it is.
    """

    team: str
    person: str
    start: datetime
    end: datetime
    created_by: str
    created_at: datetime
    id: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", as_utc(self.start, "override start"))
        object.__setattr__(self, "end", as_utc(self.end, "override end"))
        object.__setattr__(self, "created_at", as_utc(self.created_at, "override created_at"))
        if self.end <= self.start:
            raise ValueError("an override must end after it starts")

    @property
    def precedence(self) -> tuple[datetime, int]:
        """Later-created overrides win where they overlap; the id breaks same-instant ties."""
        return (self.created_at, -1 if self.id is None else self.id)

    def as_shift(self) -> Shift:
        return Shift(self.person, Role.PRIMARY, self.start, self.end, Origin.OVERRIDE, self.id)


@dataclass(frozen=True, slots=True)
class OnCall:
    """Who holds each role at ``at``; ``None`` where nobody does (before a rotation starts, gaps)."""

    at: datetime
    primary: Shift | None
    backup: Shift | None
