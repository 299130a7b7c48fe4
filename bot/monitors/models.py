"""Stored state of the watched things, and what uptime and latency are computed from.

- ``monitor_states``: one row per check, heartbeat and Watchdog (``key`` = ``check/<name>``,
  ``heartbeat/<name>``, ``watchdog/<integration>``): when it was last good, when the current failure
  began, whether its alert is raised, when it is next due, and which replica holds it.
- ``check_outages``: one row per confirmed outage (failing for ``down_after``): uptime is computed
  from these state changes, not from a row per probe.
- ``check_rollups``: per check and hour, how many probes, how many failed, and a latency
  histogram, for p50/p95 over 24 h; kept for 31 days.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import JSON, Float, Index, Integer, String, Text, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, upsert

ROLLUPS_KEPT = timedelta(days=31)  # the retention job prunes older hourly rollups
LATENCY_BUCKETS_MS = (25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)
"""Upper bounds of the rollup histogram's buckets; one more counts what is slower."""


FRESH: dict[str, bool | int] = {"alerted": False, "slow_alerted": False, "expiry_alerted": False, "good_streak": 0,
                                "slow_streak": 0, "fast_streak": 0, "failed_probes": 0}
"""A new state row's counters (column defaults apply only at flush, and the code reads them before)."""


class MonitorState(Base):
    __tablename__ = "monitor_states"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    watching_since: Mapped[datetime]
    last_ok_at: Mapped[datetime | None]
    last_failure_at: Mapped[datetime | None]
    failure_reason: Mapped[str | None] = mapped_column(Text)
    down_since: Mapped[datetime | None]  # the failing streak's start
    alerted: Mapped[bool] = mapped_column(default=False)  # the alert for this failure is raised
    slow_alerted: Mapped[bool] = mapped_column(default=False)  # the "is slow" warning is raised
    expiry_alerted: Mapped[bool] = mapped_column(default=False)  # TLS: the "certificate expires" warning is
    good_streak: Mapped[int] = mapped_column(Integer, default=0)  # good probes since the last failure
    recovering_since: Mapped[datetime | None]  # the first of those, while down: where an outage ends
    slow_streak: Mapped[int] = mapped_column(Integer, default=0)
    fast_streak: Mapped[int] = mapped_column(Integer, default=0)  # fast probes while the slow alert is raised
    failed_probes: Mapped[int] = mapped_column(Integer, default=0)  # in the current streak, for backoff
    last_probe_at: Mapped[datetime | None]
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_latency_ms: Mapped[float | None] = mapped_column(Float)
    last_error: Mapped[str | None] = mapped_column(Text)
    cert_expires_at: Mapped[datetime | None]
    next_due_at: Mapped[datetime]
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]

    __table_args__ = (Index("ix_monitor_states_next_due_at", "next_due_at"),)


class CheckOutage(Base):
    __tablename__ = "check_outages"

    id: Mapped[int] = mapped_column(primary_key=True)
    check: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    reason: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (Index("ix_check_outages_check_started_at", "check", "started_at"),)


class CheckRollup(Base):
    __tablename__ = "check_rollups"

    check: Mapped[str] = mapped_column(String(64), primary_key=True)
    hour: Mapped[datetime] = mapped_column(primary_key=True)
    probes: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    latency_ms_sum: Mapped[float] = mapped_column(Float, default=0.0)
    buckets: Mapped[list[int]] = mapped_column(JSON)  # counts per LATENCY_BUCKETS_MS bound, then the rest


async def ensure_states(s: AsyncSession, first_due: Mapping[str, datetime], now: datetime) -> dict[str, MonitorState]:
    """The state rows of ``first_due``'s keys, creating the missing ones (watched from ``now``, first
    due as given). Two replicas starting together may both try: the insert skips rows that exist."""
    have = {row.key: row for row in (await s.scalars(
        select(MonitorState).where(MonitorState.key.in_(list(first_due))))).all()}
    missing = [{"key": key, "watching_since": now, "next_due_at": due, **FRESH}
               for key, due in first_due.items() if key not in have]
    if missing:
        await s.execute(upsert(s, MonitorState).values(missing).on_conflict_do_nothing(index_elements=["key"]))
        have.update((row.key, row) for row in (await s.scalars(
            select(MonitorState).where(MonitorState.key.in_([m["key"] for m in missing])))).all())
    return have
