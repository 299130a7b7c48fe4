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

from datetime import datetime

from sqlalchemy import JSON, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base

LATENCY_BUCKETS_MS = (25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)
"""Upper bounds of the rollup histogram's buckets; one more counts what is slower."""


class MonitorState(Base):
    __tablename__ = "monitor_states"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    watching_since: Mapped[datetime]
    last_ok_at: Mapped[datetime | None]
    last_failure_at: Mapped[datetime | None]
    failure_reason: Mapped[str | None] = mapped_column(Text)
    down_since: Mapped[datetime | None]  # the failing streak's start
    alerted: Mapped[bool] = mapped_column(default=False)  # the alert for this failure is raised
    slow_alerted: Mapped[bool] = mapped_column(default=False)
    good_streak: Mapped[int] = mapped_column(Integer, default=0)
    slow_streak: Mapped[int] = mapped_column(Integer, default=0)
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
