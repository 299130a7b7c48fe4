"""Uptime and latency of the HTTP and TLS checks, read from what the check runner stores.

Definitions, so that a number on the status page or in Slack can be checked by hand:

- *Observed*: the part of a window after the check's state row says watching began
  (``monitor_states.watching_since``). Before that there is no data, and a window with no observed
  part has no uptime (``None``), not 100 %.
- *Uptime* of a window: the observed part that is not inside a confirmed outage
  (``check_outages``; an outage whose ``ended_at`` is NULL is still going on and counts up to the
  window's end), over the observed part. Probes that failed without the failure lasting
  ``down_after`` are not outages and cost no uptime.
- *Per day*: whole calendar days in UTC, the last one up to now.
- *Latency p50 / p95*: over the hourly rollups of the last 24 h; a bucket estimate (see
  :func:`latency_percentiles`).
- *State*: see :func:`state_of`.

Reading is a query per table for all the checks asked about, never one per check or per day.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.monitors.checks import check_key
from bot.monitors.models import LATENCY_BUCKETS_MS, CheckOutage, CheckRollup, MonitorState

LATENCY_SPAN = timedelta(hours=24)
STATUS_DAYS = 90


class CheckState(StrEnum):
    UP = "up"
    DOWN = "down"
    DEGRADED = "degraded"  # answering, but slower than slow_after
    UNKNOWN = "unknown"  # never probed yet


def state_of(row: MonitorState | None) -> CheckState:
    """Down while the failure is confirmed (its alert raised); degraded while the slowness alert is
    raised; unknown before the first probe; up otherwise, including a failing streak too short to
    be an outage yet."""
    if row is None or row.last_probe_at is None:
        return CheckState.UNKNOWN
    if row.down_since is not None and row.alerted:
        return CheckState.DOWN
    if row.slow_alerted:
        return CheckState.DEGRADED
    return CheckState.UP


@dataclass(frozen=True, slots=True)
class Span:
    """One outage; ``end`` None while it goes on."""

    start: datetime
    end: datetime | None


def _merged(spans: Iterable[Span], lo: datetime, hi: datetime) -> list[tuple[datetime, datetime]]:
    """The spans clipped to [lo, hi), overlaps joined, in order."""
    clipped = sorted((max(s.start, lo), min(s.end or hi, hi)) for s in spans)
    out: list[tuple[datetime, datetime]] = []
    for a, b in clipped:
        if b <= a:
            continue
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def observed(watching_since: datetime | None, start: datetime, end: datetime) -> tuple[datetime, datetime] | None:
    """The observed part of [start, end), or None when there is none."""
    if watching_since is None:
        return None
    lo = max(start, watching_since)
    return (lo, end) if lo < end else None


def downtime(spans: Iterable[Span], *, watching_since: datetime | None, start: datetime,
             end: datetime) -> timedelta:
    """Time inside outages in the observed part of [start, end)."""
    seen = observed(watching_since, start, end)
    if seen is None:
        return timedelta(0)
    return sum((b - a for a, b in _merged(spans, *seen)), timedelta(0))


def uptime(spans: Iterable[Span], *, watching_since: datetime | None, start: datetime,
           end: datetime) -> float | None:
    """The share (0–1) of the observed part of [start, end) outside every outage; None if nothing
    of the window was observed."""
    seen = observed(watching_since, start, end)
    if seen is None:
        return None
    total = seen[1] - seen[0]
    down = sum((b - a for a, b in _merged(spans, *seen)), timedelta(0))
    return max(0.0, 1.0 - down / total)


@dataclass(frozen=True, slots=True)
class DayUptime:
    day: date  # a UTC calendar day
    uptime: float | None  # 0–1; None: not watched that day


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def daily(spans: Sequence[Span], *, watching_since: datetime | None, now: datetime,
          days: int = STATUS_DAYS) -> list[DayUptime]:
    """Uptime per UTC day, oldest first, the last day (today) up to ``now``."""
    today = now.astimezone(UTC).date()
    out = []
    for i in range(days - 1, -1, -1):
        day = today - timedelta(days=i)
        start = day_start(day)
        end = min(start + timedelta(days=1), now)
        out.append(DayUptime(day, uptime(spans, watching_since=watching_since, start=start, end=end)))
    return out


@dataclass(frozen=True, slots=True)
class Latency:
    """Latency percentiles in milliseconds, estimated from the rollup histograms; None without probes.
    ``over`` is True when the estimate fell in the open-ended bucket (slower than the last bound),
    where the value is that bound: "at least"."""

    p50: float | None = None
    p95: float | None = None
    probes: int = 0
    p50_over: bool = False
    p95_over: bool = False


def _bucket_estimate(counts: Sequence[int], q: float) -> tuple[float, bool]:
    total = sum(counts)
    rank = q * total
    seen = 0
    for i, n in enumerate(counts):
        if n and seen + n >= rank:
            if i >= len(LATENCY_BUCKETS_MS):
                return float(LATENCY_BUCKETS_MS[-1]), True
            lower = float(LATENCY_BUCKETS_MS[i - 1]) if i else 0.0
            upper = float(LATENCY_BUCKETS_MS[i])
            return lower + (upper - lower) * (rank - seen) / n, False
        seen += n
    return float(LATENCY_BUCKETS_MS[-1]), True  # not reached: rank <= total


def latency_percentiles(rollups: Iterable[CheckRollup]) -> Latency:
    """p50 and p95 over the rollups' histograms.

    This is a bucket estimate, not an exact percentile: the probes are kept only as counts per
    latency bucket (:data:`~bot.monitors.models.LATENCY_BUCKETS_MS`), so the percentile's bucket is
    found exactly and the value inside it is interpolated linearly between the bucket's bounds.
    In the open-ended last bucket the estimate is its lower bound, flagged ``over``. Rows whose
    histogram does not have one count per bucket are skipped.
    """
    width = len(LATENCY_BUCKETS_MS) + 1
    counts = [0] * width
    for row in rollups:
        buckets = row.buckets if isinstance(row.buckets, list) else []
        if len(buckets) != width or not all(isinstance(n, int) and n >= 0 for n in buckets):
            continue
        counts = [a + b for a, b in zip(counts, buckets, strict=True)]
    probes = sum(counts)
    if not probes:
        return Latency()
    p50, over50 = _bucket_estimate(counts, 0.50)
    p95, over95 = _bucket_estimate(counts, 0.95)
    return Latency(p50=p50, p95=p95, probes=probes, p50_over=over50, p95_over=over95)


@dataclass(frozen=True)
class CheckHistory:
    """What is stored about one check: its state row (None before the runner saw it), its outages
    that reach into the loaded period, oldest first, and its latency over the last 24 h."""

    name: str
    state_row: MonitorState | None
    outages: list[Span] = field(default_factory=list)
    latency: Latency = Latency()

    @property
    def state(self) -> CheckState:
        return state_of(self.state_row)

    @property
    def watching_since(self) -> datetime | None:
        return self.state_row.watching_since if self.state_row is not None else None

    def uptime(self, start: datetime, end: datetime) -> float | None:
        return uptime(self.outages, watching_since=self.watching_since, start=start, end=end)

    def downtime(self, start: datetime, end: datetime) -> timedelta:
        return downtime(self.outages, watching_since=self.watching_since, start=start, end=end)

    def daily(self, now: datetime, days: int = STATUS_DAYS) -> list[DayUptime]:
        return daily(self.outages, watching_since=self.watching_since, now=now, days=days)


async def load_histories(session: AsyncSession, names: Sequence[str], *, since: datetime,
                         now: datetime, latency: bool = True) -> dict[str, CheckHistory]:
    """Every named check's history from ``since`` (outages that end before it are not read): one
    query for the state rows, one for the outages and, with ``latency``, one for the rollups."""
    if not names:
        return {}
    wanted = list(dict.fromkeys(names))
    rows = await session.scalars(select(MonitorState).where(MonitorState.key.in_([check_key(n) for n in wanted])))
    states = {row.key: row for row in rows}
    found = await session.scalars(
        select(CheckOutage).where(CheckOutage.check.in_(wanted), CheckOutage.started_at < now,
                                  or_(CheckOutage.ended_at.is_(None), CheckOutage.ended_at > since))
        .order_by(CheckOutage.started_at, CheckOutage.id))
    outages: dict[str, list[Span]] = {n: [] for n in wanted}
    for o in found:
        outages[o.check].append(Span(o.started_at, o.ended_at))
    latencies: dict[str, list[CheckRollup]] = {n: [] for n in wanted}
    if latency:
        first_hour = (now - LATENCY_SPAN).replace(minute=0, second=0, microsecond=0)
        for r in await session.scalars(select(CheckRollup).where(CheckRollup.check.in_(wanted),
                                                                 CheckRollup.hour >= first_hour)):
            latencies[r.check].append(r)
    return {n: CheckHistory(name=n, state_row=states.get(check_key(n)), outages=outages[n],
                            latency=latency_percentiles(latencies[n])) for n in wanted}
