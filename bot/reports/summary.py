"""The weekly on-call summary's figures, computed from the stored alerts, pages and incidents.

Definitions, so that a number in the summary can be checked by hand:

- An *alert* is an alert group: one Slack message, acknowledged once (an Alertmanager notification
  of twelve instances is one alert). Alerts are counted in the window they were raised in.
- *Time to acknowledge* / *to resolve*: from raising to acknowledgement / resolution, over the alerts
  raised in the window that have been acknowledged / resolved; p50 and p90 by nearest rank
  (:mod:`bot.reports.stats`).
- *Critical acknowledged within target*: critical alerts acknowledged within
  ``severities.critical.ack_within``, out of those that needed it — silenced alerts, and ones that
  resolved on their own (or are still open) before the target passed without an acknowledgement,
  are left out.
- A *page* is one person interrupted for one alert at one moment (by Slack DM, SMS, call or email):
  a step that both DMs and texts someone is one page, sent *by phone* (SMS or call). *Out of hours* is judged on the wall clock of the paged
  person's zone (``people[].timezone``, else the config's) by ``summary.out_of_hours``.
- *Escalations that reached a phone or step 3+*: alerts with a page by SMS or call, or at step 3 or later.
- *Noisiest*: alerts by title and service, counting each fire and each repeat notification.
- *Flapping*: see :data:`~bot.reports.stats.FLAP_FIRES` within :data:`~bot.reports.stats.FLAP_SPAN`.
- *Open longer than 24 h*: raised more than 24 h before the window's end and not resolved by then.
- *Uptime* of each check over the window, against its ``target``, and its *downtime*: time inside
  confirmed outages, in the part of the window the check was watched (:mod:`bot.monitors.uptime`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Check, Config
from bot.monitors.uptime import CheckHistory, load_histories
from bot.oncall.schedule import Schedules
from bot.oncall.shifts import Role, Shift
from bot.oncall.who import person_zone, shifts
from bot.reports import queries
from bot.reports.queries import EscalationReach, IncidentRow, NoisyAlert, OpenGroup, PageEvent
from bot.reports.stats import FLAP_FIRES, FLAP_SPAN, DurationStats, is_out_of_hours, most_fires_within
from bot.reports.window import ReportWindow
from bot.severity import Severity

SEVERITIES = tuple(s.value for s in Severity)
NOISIEST = 5
FAR_STEP = 3
LONG_OPEN = timedelta(hours=24)
LIST_LIMIT = 10  # rows shown per list; the total is still counted
NEXT_WEEK = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class AckTarget:
    """Critical alerts acknowledged within ``target`` (None when the config sets no target)."""

    target: timedelta | None
    met: int
    total: int

    @property
    def share(self) -> float | None:
        return self.met / self.total if self.total else None


@dataclass(frozen=True, slots=True)
class PersonPages:
    person: str
    pages: int
    out_of_hours: int
    by_phone: int  # of those pages, how many went by SMS or call
    zone: str


@dataclass(frozen=True, slots=True)
class Flapping:
    title: str
    service: str | None
    fires: int  # in the window
    most_in_span: int  # most fires within FLAP_SPAN


@dataclass(frozen=True, slots=True)
class IncidentLine:
    id: int
    title: str
    severity: str
    declared_at: datetime
    resolved_at: datetime | None
    duration: timedelta  # up to the window's end while still open
    postmortem_done: bool
    channel_id: str | None

    @property
    def ongoing(self) -> bool:
        return self.resolved_at is None


@dataclass(frozen=True, slots=True)
class CheckUptime:
    """One check over the window: ``uptime`` 0–1 (None when it was not watched), against ``target`` (percent)."""

    name: str
    target: float
    uptime: float | None
    downtime: timedelta

    @property
    def met(self) -> bool | None:
        return None if self.uptime is None else self.uptime * 100 >= self.target


@dataclass(frozen=True, slots=True)
class TeamRota:
    """Who holds a team's pager over the coming week (primary shifts, then backup shifts)."""

    team: str
    primary: list[Shift]
    backup: list[Shift]


@dataclass(frozen=True)
class WeeklySummary:
    window: ReportWindow
    previous: ReportWindow
    zone: ZoneInfo
    by_severity: dict[str, int]
    previous_by_severity: dict[str, int]
    per_day: list[tuple[date, dict[str, int]]]
    time_to_ack: DurationStats
    time_to_resolve: DurationStats
    critical_ack: AckTarget
    pages: list[PersonPages]
    escalations: list[EscalationReach]
    noisiest: list[NoisyAlert]
    flapping: list[Flapping]
    incidents: list[IncidentLine]
    long_open_total: int
    long_open: list[OpenGroup]
    next_week: list[TeamRota] = field(default_factory=list)
    uptime: list[CheckUptime] = field(default_factory=list)  # every configured check, in the config's order

    @property
    def total(self) -> int:
        return sum(self.by_severity.values())

    @property
    def previous_total(self) -> int:
        return sum(self.previous_by_severity.values())

    @property
    def total_pages(self) -> int:
        return sum(p.pages for p in self.pages)

    @property
    def quiet(self) -> bool:
        """Nothing fired, nobody was paged and no incident ran: the summary says so in one line."""
        return self.total == 0 and not self.pages and not self.incidents


async def compute_summary(session: AsyncSession, *, config: Config, schedules: Schedules, window: ReportWindow,
                          zone: ZoneInfo, next_week_from: datetime | None = None) -> WeeklySummary:
    """Every figure of the summary for ``window``, against the window of the same length before it.

    ``next_week_from`` (default: the window's end) starts the coming week whose on-call is listed.
    """
    now_counts, then_counts = await queries.severity_counts(session, window)
    times = await queries.group_times(session, window)
    long_total, long_rows = await queries.long_open(session, at=window.end, older_than=window.end - LONG_OPEN,
                                                    limit=LIST_LIMIT)
    series = await queries.repeated_fires(session, window, min_fires=FLAP_FIRES)
    start = next_week_from or window.end
    return WeeklySummary(
        window=window, previous=window.previous(), zone=zone,
        by_severity=now_counts, previous_by_severity=then_counts,
        per_day=per_day(times, window, zone),
        time_to_ack=DurationStats.of([t.acknowledged_at - t.created_at for t in times if t.acknowledged_at]),
        time_to_resolve=DurationStats.of([t.resolved_at - t.created_at for t in times if t.resolved_at]),
        critical_ack=critical_ack(times, config, window.end),
        pages=pages_per_person(await queries.pages(session, window), config),
        escalations=await queries.far_escalations(session, window, min_step=FAR_STEP),
        noisiest=await queries.noisiest(session, window, limit=NOISIEST),
        flapping=flapping(series),
        incidents=[incident_line(row, window.end) for row in await queries.incidents(session, window)],
        long_open_total=long_total, long_open=long_rows,
        next_week=[await team_rota(session, schedules, team.name, start) for team in config.teams
                   if schedules.source(team.name) is not None],
        uptime=await checks_uptime(session, config.checks, window),
    )


async def checks_uptime(session: AsyncSession, checks: list[Check], window: ReportWindow) -> list[CheckUptime]:
    histories = await load_histories(session, [c.name for c in checks], since=window.start, now=window.end,
                                     latency=False)
    return [check_uptime(c, histories[c.name], window) for c in checks]


def check_uptime(check: Check, history: CheckHistory, window: ReportWindow) -> CheckUptime:
    return CheckUptime(name=check.name, target=check.target, uptime=history.uptime(window.start, window.end),
                       downtime=history.downtime(window.start, window.end))


def per_day(times: list[queries.GroupTimes], window: ReportWindow, zone: ZoneInfo) -> list[tuple[date, dict[str, int]]]:
    """Alerts raised per local calendar day of ``zone`` and severity, every day of the window listed."""
    first = window.start.astimezone(zone).date()
    last = (window.end - timedelta(microseconds=1)).astimezone(zone).date()
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    counts: dict[date, Counter[str]] = {d: Counter() for d in days}
    for t in times:
        counts[t.created_at.astimezone(zone).date()][t.severity] += 1
    return [(d, {s: counts[d][s] for s in SEVERITIES}) for d in days]


def critical_ack(times: list[queries.GroupTimes], config: Config, end: datetime) -> AckTarget:
    target = config.severities[Severity.CRITICAL].ack_within
    if target is None:
        return AckTarget(None, 0, 0)
    met = total = 0
    for t in times:
        if t.severity != Severity.CRITICAL or t.silenced:
            continue
        if t.acknowledged_at is not None:
            total += 1
            met += t.acknowledged_at - t.created_at <= target
        elif (t.resolved_at or end) - t.created_at > target:
            total += 1  # it waited past the target with nobody acknowledging it
    return AckTarget(target, met, total)


def pages_per_person(events: list[PageEvent], config: Config) -> list[PersonPages]:
    """One page per (person, alert, instant): the Slack DM and the SMS of one step interrupt once."""
    interruptions: dict[tuple[str, int, datetime], bool] = {}
    for e in events:
        key = (e.person, e.group_id, e.at)
        interruptions[key] = interruptions.get(key, False) or e.via in ("sms", "call")
    tally: dict[str, list[int]] = {}
    zones = {person: person_zone(config, person) for person, _gid, _at in interruptions}
    for (person, _gid, at), by_phone in interruptions.items():
        counts = tally.setdefault(person, [0, 0, 0])
        counts[0] += 1
        counts[1] += is_out_of_hours(at, zones[person], config.summary.out_of_hours)
        counts[2] += by_phone
    rows = [PersonPages(person, n, ooh, phone, str(zones[person])) for person, (n, ooh, phone) in tally.items()]
    return sorted(rows, key=lambda p: (-p.pages, -p.out_of_hours, p.person))


def flapping(series: list[queries.FireSeries]) -> list[Flapping]:
    found = [Flapping(s.title, s.service, len(s.fires), most_fires_within(s.fires, FLAP_SPAN)) for s in series]
    return sorted((f for f in found if f.most_in_span >= FLAP_FIRES), key=lambda f: (-f.most_in_span, -f.fires, f.title))


def incident_line(row: IncidentRow, end: datetime) -> IncidentLine:
    until = row.resolved_at if row.resolved_at is not None else end
    return IncidentLine(id=row.id, title=row.title, severity=row.severity, declared_at=row.declared_at,
                        resolved_at=row.resolved_at, duration=max(until - row.declared_at, timedelta(0)),
                        postmortem_done=row.postmortem_done_at is not None, channel_id=row.channel_id)


async def team_rota(session: AsyncSession, schedules: Schedules, team: str, start: datetime) -> TeamRota:
    found = await shifts(session, schedules, team, start, start + NEXT_WEEK)
    return TeamRota(team=team, primary=[s for s in found if s.role is Role.PRIMARY],
                    backup=[s for s in found if s.role is Role.BACKUP])
