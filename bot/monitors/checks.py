"""What one probe result means for a check: the state machine, and the alerts it raises.

- A failing check raises its alert once it has failed for ``down_after`` (so one failed probe never
  does), and one alert per outage; the outage is stored (``check_outages``) from its first failed
  probe, which is what uptime is computed from.
- It recovers after two good probes running, not one (no flapping); the alert resolves with the
  downtime on the message. A failure between the two continues the same outage.
- ``slow_after``: three slow probes running raise a warning; two fast ones resolve it.
- TLS checks: a certificate that does not verify is a failure like a refused connection; one that
  verifies but expires within ``expires_within`` raises its own warning, resolved by a renewal.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Check
from bot.durations import format_config_duration, format_duration
from bot.monitors.models import LATENCY_BUCKETS_MS, CheckOutage, CheckRollup, MonitorState
from bot.monitors.probes import ProbeResult
from bot.monitors.raising import AlertSink, Raise
from bot.severity import Severity

GOOD_PROBES_TO_RECOVER = 2
SLOW_PROBES_TO_WARN = 3
FAST_PROBES_TO_CLEAR = 2
MAX_BACKOFF = timedelta(minutes=5)


def check_key(name: str) -> str:
    return f"check/{name}"


def _ms(value: float | None) -> str:
    if value is None:
        return "no answer"
    if value >= 1000:
        return f"{value / 1000:.1f} s"
    return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"


def next_interval(check: Check, row: MonitorState) -> timedelta:
    """``every``, doubling while an alerted check keeps failing (to ``MAX_BACKOFF`` or ``every``,
    whichever is longer); a check on its way back is probed at ``every`` to recover promptly."""
    if not row.alerted or row.good_streak:
        return check.every
    doubled: timedelta = check.every * 2 ** min(row.failed_probes, 8)
    return min(doubled, max(check.every, MAX_BACKOFF))


def _what(check: Check) -> str:
    return f"{check.method} {check.url}" if check.url else f"TLS handshake with {check.tls}"


class CheckStates:
    """Applies probe results to state rows, in the caller's transaction."""

    def __init__(self, sink: AlertSink) -> None:
        self._sink = sink

    async def record(self, s: AsyncSession, check: Check, row: MonitorState, result: ProbeResult,
                     now: datetime, rollup: CheckRollup) -> None:
        row.last_probe_at, row.last_status = now, result.status
        row.last_latency_ms, row.last_error = result.latency_ms, result.error
        if result.cert_expires_at is not None:
            row.cert_expires_at = result.cert_expires_at
        _roll_up(rollup, result)
        if result.ok:
            await self._good(s, check, row, now)
            await self._speed(s, check, row, result, now)
        else:
            await self._failed(s, check, row, result, now)
        if check.kind == "tls" and result.cert_expires_at is not None:
            await self._expiry(s, check, row, result, now)
        await self._options_removed(s, check, row, now)

    async def _options_removed(self, s: AsyncSession, check: Check, row: MonitorState, now: datetime) -> None:
        """A warning raised under an option the config no longer has would stay open for good."""
        if row.slow_alerted and check.slow_after is None:
            row.slow_alerted, row.slow_streak, row.fast_streak = False, 0, 0
            await self._sink.resolve(s, f"{check_key(check.name)}/slow", now, team=check.team,
                                     note="No longer watched: slow_after was removed from the config.")
        if row.expiry_alerted and check.kind != "tls":
            row.expiry_alerted = False
            await self._sink.resolve(s, f"{check_key(check.name)}/expiry", now, team=check.team,
                                     note="No longer watched: the check is no longer a TLS check.")

    async def _failed(self, s: AsyncSession, check: Check, row: MonitorState, result: ProbeResult,
                      now: datetime) -> None:
        row.good_streak, row.recovering_since = 0, None
        row.slow_streak = 0  # a failure is not a slow answer; the slow alert, if raised, stays
        row.last_failure_at = now
        row.failed_probes += 1
        if row.down_since is None:
            row.down_since = now
        if row.alerted or now - row.down_since < check.down_after:
            return
        row.alerted, row.failed_probes = True, 0
        s.add(CheckOutage(check=check.name, started_at=row.down_since, reason=result.error or ""))
        tls = check.kind == "tls"
        await self._sink.fire(s, Raise(
            key=check_key(check.name), title=f"{check.name} is down", severity=check.severity,
            alertname="TLSCertificateInvalid" if tls else "EndpointDown", team=check.team, service=check.name,
            labels=(("check", check.name),), source_url=check.url,
            description=(f"{_what(check)}: {result.error}. Failing since {self._sink.local(row.down_since)} "
                         f"({format_duration(now - row.down_since)}, down_after "
                         f"{format_config_duration(check.down_after)}); last probe at {self._sink.local(now)}"
                         + (f", status {result.status}" if result.status else "")
                         + (f", {_ms(result.latency_ms)}" if result.latency_ms is not None else "") + ".")), now)

    async def _good(self, s: AsyncSession, check: Check, row: MonitorState, now: datetime) -> None:
        row.last_ok_at = now
        if row.down_since is None:
            row.failed_probes = 0
            return
        row.good_streak += 1
        if row.recovering_since is None:
            row.recovering_since = now
        if row.good_streak < GOOD_PROBES_TO_RECOVER:
            return
        back_at = row.recovering_since
        if row.alerted:
            outage = await s.scalar(select(CheckOutage).where(CheckOutage.check == check.name,
                                                              CheckOutage.ended_at.is_(None))
                                    .order_by(CheckOutage.started_at.desc()).limit(1))
            if outage is not None:
                outage.ended_at = back_at
            await self._sink.resolve(
                s, check_key(check.name), now, team=check.team,
                note=(f"Back up at {self._sink.local(back_at)} after {format_duration(back_at - row.down_since)} "
                      f"of downtime (down since {self._sink.local(row.down_since)})."))
        row.down_since, row.recovering_since, row.alerted = None, None, False
        row.good_streak, row.failed_probes = 0, 0

    async def _speed(self, s: AsyncSession, check: Check, row: MonitorState, result: ProbeResult,
                     now: datetime) -> None:
        if check.slow_after is None or result.latency_ms is None:
            return
        limit_ms = check.slow_after.total_seconds() * 1000
        key = f"{check_key(check.name)}/slow"
        if result.latency_ms > limit_ms:
            row.slow_streak, row.fast_streak = row.slow_streak + 1, 0
            if row.slow_streak >= SLOW_PROBES_TO_WARN and not row.slow_alerted:
                row.slow_alerted = True
                await self._sink.fire(s, Raise(
                    key=key, title=f"{check.name} is slow", severity=Severity.MEDIUM, alertname="SlowResponses",
                    team=check.team, service=check.name, labels=(("check", check.name),), source_url=check.url,
                    description=(f"{_what(check)}: {row.slow_streak} probes running slower than "
                                 f"{format_config_duration(check.slow_after)}; the last took "
                                 f"{_ms(result.latency_ms)}.")), now)
            return
        row.slow_streak = 0
        if row.slow_alerted:
            row.fast_streak += 1
            if row.fast_streak >= FAST_PROBES_TO_CLEAR:
                row.slow_alerted, row.fast_streak = False, 0
                await self._sink.resolve(s, key, now, team=check.team,
                                         note=f"Fast again: {_ms(result.latency_ms)} at {self._sink.local(now)}.")

    async def _expiry(self, s: AsyncSession, check: Check, row: MonitorState, result: ProbeResult,
                      now: datetime) -> None:
        assert result.cert_expires_at is not None
        key = f"{check_key(check.name)}/expiry"
        left = result.cert_expires_at - now
        expiring = left <= check.expires_within
        if expiring and not row.expiry_alerted:
            row.expiry_alerted = True
            days = max(int(left.total_seconds() // 86400), 0)
            await self._sink.fire(s, Raise(
                key=key, title=f"TLS certificate for {check.tls} expires in {days} days",
                severity=Severity.HIGH if left <= timedelta(days=7) else Severity.MEDIUM,
                alertname="TLSCertificateExpiringSoon", team=check.team, service=check.name,
                labels=(("check", check.name),),
                description=(f"The certificate chain served by {check.tls}"
                             + (f" (subject {result.cert_subject})" if result.cert_subject else "")
                             + f" expires {self._sink.local(result.cert_expires_at, '%Y-%m-%d %H:%M')}: within expires_within "
                               f"({format_config_duration(check.expires_within)}). Renew it.")), now)
        elif not expiring and row.expiry_alerted:
            row.expiry_alerted = False
            await self._sink.resolve(s, key, now, team=check.team,
                                     note=f"Renewed: now valid until {self._sink.local(result.cert_expires_at, '%Y-%m-%d')}.")


async def hour_rollups(s: AsyncSession, names: list[str], now: datetime) -> dict[str, CheckRollup]:
    """This hour's rollup row of each check, created where missing: one query for the batch."""
    hour = now.replace(minute=0, second=0, microsecond=0)
    found = {r.check: r for r in (await s.scalars(
        select(CheckRollup).where(CheckRollup.hour == hour, CheckRollup.check.in_(names)))).all()}
    for name in set(names) - found.keys():
        found[name] = CheckRollup(check=name, hour=hour, probes=0, failures=0, latency_ms_sum=0.0,
                                  buckets=[0] * (len(LATENCY_BUCKETS_MS) + 1))
        s.add(found[name])
    return found


def _roll_up(rollup: CheckRollup, result: ProbeResult) -> None:
    rollup.probes += 1
    if not result.ok:
        rollup.failures += 1
    if result.latency_ms is not None:
        rollup.latency_ms_sum += result.latency_ms
        index = next((i for i, bound in enumerate(LATENCY_BUCKETS_MS) if result.latency_ms <= bound),
                     len(LATENCY_BUCKETS_MS))
        buckets = list(rollup.buckets)
        buckets[index] += 1
        rollup.buckets = buckets  # a new list, so the JSON column sees the change
