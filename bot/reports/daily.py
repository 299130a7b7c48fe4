"""The daily digest's content: yesterday's alerts, what is open now, today's on-call, checks in trouble.

Definitions, so that a line of the digest can be checked by hand:

- The digest is sent on a local *digest day* (:class:`DueDigest`), at ``daily_summary.time`` in
  ``daily_summary.timezone`` (default: the config's ``timezone``), and covers the local calendar
  day before it, midnight to midnight in that zone: 24 hours, or 23 / 25 across a daylight-saving
  change.
- *Yesterday's alerts*: alert groups raised in that day, whatever they are now (their status is
  the one they have now), counted per severity and listed most severe first, then in the order
  they came, :data:`LIST_LIMIT` of them. Test alerts (``POST /api/test``) are not counted.
- *Open now*: alert groups firing or acknowledged when the digest is computed, oldest first.
- *On call today*: per team, who holds primary and backup at the digest's instant, and who takes
  over before the local day ends (overrides applied). A team with no schedule is listed only when
  an override puts someone on call today.
- *Checks down*: checks whose failure is confirmed (their alert is raised), longest down first.
- *Certificates expiring*: TLS checks whose certificate expires within their ``expires_within``,
  or whose expiry warning is raised, soonest first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Check, Config, DailySummary, Team
from bot.monitors.checks import check_key
from bot.oncall.schedule import Schedules
from bot.oncall.shifts import Role, Shift
from bot.oncall.who import overrides_for, shifts
from bot.reports import daily_queries
from bot.reports.daily_queries import AlertCount, AlertLine, CheckStateRow

LIST_LIMIT = 10  # alerts listed per section; all are counted

__all__ = ["AlertCount", "AlertLine", "CertExpiring", "CheckDown", "DailyDigest", "DueDigest", "TeamToday",
           "compute_daily_digest", "digest_key", "due_digest", "local_midnight"]


# --- which day -----------------------------------------------------------------------------------


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The instant ``day`` begins in ``zone``, as aware UTC."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def _local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    # A time the clocks skip (02:30 on a spring-forward night) happens an hour later, as in window.py.
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class DueDigest:
    """The digest sent on local ``day`` at ``scheduled_at``, covering the local day before."""

    day: date
    scheduled_at: datetime
    zone: ZoneInfo

    @property
    def covered(self) -> date:
        return self.day - timedelta(days=1)

    @property
    def start(self) -> datetime:
        return local_midnight(self.covered, self.zone)

    @property
    def end(self) -> datetime:
        return local_midnight(self.day, self.zone)


def digest_zone(config: Config, daily: DailySummary) -> ZoneInfo:
    return ZoneInfo(daily.timezone or config.timezone)


def due_digest(config: Config, daily: DailySummary, now: datetime) -> DueDigest:
    """The most recent digest scheduled at or before ``now`` (sent or not)."""
    zone = digest_zone(config, daily)
    day = now.astimezone(zone).date()
    at = _local_instant(day, daily.time, zone)
    if at > now:
        day -= timedelta(days=1)
        at = _local_instant(day, daily.time, zone)
    return DueDigest(day=day, scheduled_at=at, zone=zone)


def digest_key(day: date) -> str:
    """The outbox key of day ``day``'s Slack post; every other row of that digest (the email) has a key
    starting with it and a colon, e.g. ``daily:2026-12-03:email``. One digest per day hangs on these keys."""
    return f"daily:{day.isoformat()}"


# --- what it says --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TeamToday:
    """A team's pager today: ``primary[0]`` / ``backup[0]`` hold it at the digest's instant when they
    cover it; the rest take over before the local day ends. ``problem``: its schedule did not load."""

    team: str
    primary: tuple[Shift, ...]
    backup: tuple[Shift, ...]
    has_schedule: bool
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class CheckDown:
    name: str
    team: str | None
    down_since: datetime
    reason: str | None  # the last probe's error


@dataclass(frozen=True, slots=True)
class CertExpiring:
    name: str
    team: str | None
    address: str  # host:port
    expires_at: datetime | None  # None: not read (the warning is raised from an earlier probe)
    within: timedelta  # the check's expires_within
    alerted: bool  # its "certificate expires" alert is raised


@dataclass(frozen=True)
class DailyDigest:
    """Everything the digest says, as plain values (instants aware UTC; ``zone`` is the one to show them in).
    Slack (``bot.slack.blocks.daily``) and email (``bot.notify.email_digest``) render it."""

    day: date  # the local day covered ("yesterday")
    day_start: datetime
    day_end: datetime
    now: datetime  # when it was computed: "open now", ages and on-call are as of this instant
    zone: ZoneInfo
    yesterday: AlertCount
    open_now: AlertCount
    on_call: tuple[TeamToday, ...]
    checks_down: tuple[CheckDown, ...]
    certs_expiring: tuple[CertExpiring, ...]
    late_for: datetime | None = None  # the instant it was due, when it is sent late (after downtime)

    @property
    def sent_on(self) -> date:
        """The digest day: the local day after the one covered."""
        return self.day + timedelta(days=1)

    @property
    def quiet(self) -> bool:
        """Nothing raised yesterday, nothing open, no check in trouble."""
        return not (self.yesterday.total or self.open_now.total or self.checks_down or self.certs_expiring)


async def compute_daily_digest(session: AsyncSession, *, config: Config, schedules: Schedules, day_start: datetime,
                               day_end: datetime, now: datetime, zone: ZoneInfo) -> DailyDigest:
    """Every section of the digest covering ``[day_start, day_end)`` (a local day of ``zone``), as of ``now``."""
    states = await daily_queries.check_states(session, [check_key(c.name) for c in config.checks])
    return DailyDigest(
        day=day_start.astimezone(zone).date(), day_start=day_start, day_end=day_end, now=now, zone=zone,
        yesterday=await daily_queries.raised_between(session, day_start, day_end, limit=LIST_LIMIT),
        open_now=await daily_queries.open_now(session, limit=LIST_LIMIT),
        on_call=await teams_today(session, schedules, config.teams, now=now, zone=zone),
        checks_down=checks_down(config.checks, states),
        certs_expiring=certs_expiring(config.checks, states, now),
    )


async def teams_today(session: AsyncSession, schedules: Schedules, teams: list[Team], *, now: datetime,
                      zone: ZoneInfo) -> tuple[TeamToday, ...]:
    day_end = local_midnight(now.astimezone(zone).date() + timedelta(days=1), zone)
    found: list[TeamToday] = []
    for team in teams:
        problem = schedules.problems.get(team.name)
        if schedules.source(team.name) is None:
            # No rotation, but an override still puts someone on call (as bot.oncall.who.on_call says).
            live = sorted((o.as_shift() for o in await overrides_for(session, team.name, now, day_end)),
                          key=lambda s: (s.start, s.end))
            if live or problem:
                found.append(TeamToday(team.name, tuple(live), (), has_schedule=False, problem=problem))
            continue
        today = await shifts(session, schedules, team.name, now, day_end)
        found.append(TeamToday(team.name, tuple(s for s in today if s.role is Role.PRIMARY),
                               tuple(s for s in today if s.role is Role.BACKUP), has_schedule=True, problem=problem))
    return tuple(found)


def checks_down(checks: list[Check], states: dict[str, CheckStateRow]) -> tuple[CheckDown, ...]:
    """Down as ``/oncall checks`` says it (``bot.monitors.uptime.state_of``): probed, failing, alert raised."""
    down = []
    for c in checks:
        row = states.get(check_key(c.name))
        if row is not None and row.last_probe_at is not None and row.down_since is not None and row.alerted:
            down.append(CheckDown(c.name, c.team, row.down_since, row.last_error))
    return tuple(sorted(down, key=lambda d: (d.down_since, d.name)))


def certs_expiring(checks: list[Check], states: dict[str, CheckStateRow], now: datetime) -> tuple[CertExpiring, ...]:
    found = []
    for c in checks:
        row = states.get(check_key(c.name))
        if c.kind != "tls" or row is None or c.tls is None:
            continue
        soon = row.cert_expires_at is not None and row.cert_expires_at - now <= c.expires_within
        if soon or row.expiry_alerted:
            found.append(CertExpiring(c.name, c.team, c.tls, row.cert_expires_at, c.expires_within,
                                      alerted=row.expiry_alerted))
    far = datetime.max.replace(tzinfo=UTC)
    return tuple(sorted(found, key=lambda e: (e.expires_at or far, e.name)))
