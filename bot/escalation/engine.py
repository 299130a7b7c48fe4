"""Escalation runs: start one when an alert fires, run its due step, escalate by hand, reopen a snooze.

Everything here runs inside the caller's transaction and only writes rows (escalation state,
pages, events, outbox intents); :mod:`bot.notify` sends. Whether to page is decided from the
alert's state at the moment the step is claimed — acknowledging or resolving an alert never has
to know that an escalation exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.alerts.actions import record, reply_in_thread, touch
from bot.alerts.events import Escalated, NotEscalated, PageSkipped, Reopened
from bot.alerts.incoming import AlertStatus
from bot.alerts.models import AlertGroup, Silence
from bot.config import Config
from bot.escalation.models import Escalation, PageRecord, RunStatus, Via, on_postgres
from bot.escalation.pages import create_page
from bot.escalation.policy import Policy, Position
from bot.escalation.silences import is_active, matching_silence, quiet, silences_in_force
from bot.escalation.sms_hygiene import opted_out
from bot.escalation.targets import Recipient, StepContext, TargetResult, opted_out_reason, resolve
from bot.oncall.schedule import Schedules
from bot.oncall.shifts import OnCall
from bot.severity import Severity


@dataclass(frozen=True)
class Paging:
    """What the engine needs besides the session: config, schedules, and whether SMS, calls and email can be sent."""

    config: Config
    schedules: Schedules
    sms_enabled: bool
    email_enabled: bool = False
    calls_enabled: bool = False


@dataclass
class SharedLookups:
    """What the steps claimed together can share: who is on call per team and the silences in force,
    looked up once per pass instead of once per step (10,000 open alerts make this matter)."""

    on_call: dict[str, OnCall] = field(default_factory=dict)
    silences: list[Silence] | None = None
    # The claimed steps' alerts, loaded in one query; referenced here because the session's identity
    # map keeps only objects someone holds, and each step looks its alert up there.
    alerts: list[AlertGroup] = field(default_factory=list)


@dataclass(frozen=True)
class StepReport:
    step: int  # 1-based
    round: int  # 1-based
    pages: tuple[PageRecord, ...]
    skipped: tuple[str, ...]


class NothingToEscalate(Exception):
    """The alert has no policy to move along (no team, or not an escalating severity)."""


def _escalates(config: Config, severity: str) -> bool:
    try:
        return config.severities[Severity(severity)].escalate
    except (ValueError, KeyError):
        return False


async def escalation_for(session: AsyncSession, group_id: int, *, lock: bool = False) -> Escalation | None:
    query = select(Escalation).where(Escalation.group_id == group_id)
    if lock and on_postgres(session):  # waits for whoever holds it, then reads the row as they left it
        query = query.with_for_update().execution_options(populate_existing=True)
    return (await session.scalars(query)).first()


async def start_escalation(session: AsyncSession, config: Config, group: AlertGroup,
                           now: datetime, *, test: bool = False) -> Escalation | None:
    """Snapshot the team's policy onto a firing alert whose severity escalates; idempotent.

    Called by ingest whenever an alert joins a group, so a group that becomes critical later
    starts escalating then. Silenced alerts are stored, not paged. ``test`` (only ever passed for
    the test alert of ``POST /api/test``) snapshots the policy compressed: every step at once,
    see :meth:`Policy.compressed_for_test`.
    """
    if group.status != AlertStatus.FIRING or group.silence_id is not None or not _escalates(config, group.severity):
        return None
    if await escalation_for(session, group.id) is not None:
        return None
    team = config.team(group.team) if group.team else None
    if team is None or not team.escalation:
        esc = Escalation(group_id=group.id, team=group.team, policy={"steps": [], "repeat": 0},
                         started_at=now, next_at=None, status=RunStatus.UNOWNED, updated_at=now)
        session.add(esc)
        await record(session, group, NotEscalated(reason="no_team"), now)
        return esc
    policy = Policy.for_team(team)
    return await begin_run(session, group, policy.compressed_for_test() if test else policy, team.name,
                           group.created_at, now)


async def begin_run(session: AsyncSession, group: AlertGroup, policy: Policy, team: str, started_at: datetime,
                    now: datetime, esc: Escalation | None = None) -> Escalation:
    """(Re)start a run of ``policy`` from its first step, timed from ``started_at``."""
    if esc is None:
        esc = Escalation(group_id=group.id, started_at=started_at, policy={}, updated_at=now)
        session.add(esc)
    esc.team, esc.policy, esc.started_at = team, policy.to_json(), started_at
    esc.round, esc.next_step, esc.status, esc.updated_at = 0, 0, RunStatus.ACTIVE, now
    esc.next_at = policy.deadline(started_at, Position(0, 0))
    await session.flush()
    return esc


def _hold_reason(group: AlertGroup, silence: Silence | None, now: datetime) -> str | None:
    if group.status != AlertStatus.FIRING:
        return group.status
    if group.snoozed_until is not None and group.snoozed_until > now:
        return "snoozed"
    if silence is not None and is_active(silence, now):
        return "silenced"
    return None


async def run_due_step(session: AsyncSession, esc: Escalation, paging: Paging, now: datetime,
                       shared: SharedLookups | None = None) -> StepReport | None:
    """Run the claimed escalation's due step, unless the alert no longer needs it; then move on.

    The caller holds the claim (the row lock on PostgreSQL, the write lock on SQLite) until
    commit, so pages and the advanced deadline land together or not at all.
    """
    shared = shared or SharedLookups()
    group = await session.get_one(AlertGroup, esc.group_id)
    silence = await session.get(Silence, group.silence_id) if group.silence_id else None
    if group.status == AlertStatus.FIRING and (silence is None or not is_active(silence, now)):
        if silence is not None:  # the silence that held it is over: show the alert as firing again
            group.silence_id, silence = None, None
            touch(group, now)
        if shared.silences is None:
            shared.silences = await silences_in_force(session, now)
        silence = await matching_silence(session, group.id, shared.silences)
        if silence is not None:
            await quiet(session, group, silence, now)
    reason = _hold_reason(group, silence, now)
    if reason in (AlertStatus.ACKNOWLEDGED, AlertStatus.RESOLVED):
        esc.status, esc.next_at, esc.updated_at = RunStatus.STOPPED, None, now
        return None
    if reason == "snoozed":
        esc.status, esc.next_at, esc.updated_at = RunStatus.SNOOZED, None, now  # the snooze's end restarts it
        return None
    if reason == "silenced" and silence is not None:
        esc.next_at, esc.updated_at = silence.ends_at, now  # the step runs when the silence is over
        return None
    return await _run_step(session, esc, group, paging, now, by=None, on_call_cache=shared.on_call)


async def _run_step(session: AsyncSession, esc: Escalation, group: AlertGroup, paging: Paging, now: datetime, *,
                    by: str | None, via: str = "slack", team: str | None = None,
                    on_call_cache: dict[str, OnCall] | None = None) -> StepReport:
    policy = Policy.from_json(esc.policy)
    at = Position(esc.round, esc.next_step)
    step, round_ = at.step + 1, at.round + 1
    if step > 1 or round_ > 1 or by:
        event = await record(session, group, Escalated(step=step, round=round_, by=by, team=team), now, actor=by,
                             via=via if by else None)
        if by:
            await reply_in_thread(session, group, event, now)
    ctx = StepContext(session=session, config=paging.config, schedules=paging.schedules,
                      team=esc.team or "", at=now, sms_enabled=paging.sms_enabled,
                      email_enabled=paging.email_enabled, calls_enabled=paging.calls_enabled,
                      severity=group.severity,
                      known={} if on_call_cache is None else on_call_cache)
    pages, skipped, seen = [], [], set()
    results = [(target, await resolve(ctx, target)) for target in policy.steps[at.step].notify]
    for target, result in results:
        if result.skipped:
            reason = _skip_reason(ctx, result, results)
            skipped.append(reason)
            await record(session, group, PageSkipped(step=step, round=round_, target=target, reason=reason), now)
        for recipient in result.recipients:
            if recipient in seen:  # sms:primary and sms:<same person> in one step: one page
                continue
            seen.add(recipient)
            pages.append(await create_page(session, group, recipient, now, step=step, round_=round_,
                                           requested_by=by))
    _advance(esc, policy, at, now)
    return StepReport(step, round_, tuple(pages), tuple(skipped))


def _skip_reason(ctx: StepContext, result: TargetResult, results: list[tuple[str, TargetResult]]) -> str:
    """The skip's reason; for someone who replied STOP, also how the rest of the step reaches them."""
    person = result.opted_out
    if person is None or result.skipped is None:
        return result.skipped or ""
    reached = list(dict.fromkeys(r.via for _, other in results for r in other.recipients if r.person == person))
    return opted_out_reason(ctx.name(person), reached)


def _advance(esc: Escalation, policy: Policy, at: Position, now: datetime) -> None:
    following = policy.following(at)
    esc.steps_run += 1
    esc.updated_at = now
    if following is None:
        esc.status, esc.next_at = RunStatus.DONE, None
        return
    esc.round, esc.next_step = following.round, following.step
    if esc.status == RunStatus.ACTIVE:
        esc.next_at = policy.deadline(esc.started_at, following)


async def escalate_now(session: AsyncSession, group_id: int, paging: Paging, *, by: str, now: datetime,
                       via: str = "slack") -> StepReport:
    """The Escalate button (or an SMS ``E``): run the next step now; later steps keep their times.

    Works on an acknowledged alert too — whoever acknowledged it may want help — but does not
    restart automatic escalation there. After the last step, it runs the last step again.
    """
    group = await session.get_one(AlertGroup, group_id)
    esc = await escalation_for(session, group_id, lock=True)
    if group.status == AlertStatus.RESOLVED:
        raise NothingToEscalate(f"alert #{group_id} is already resolved")
    if esc is None or not esc.policy.get("steps"):
        raise NothingToEscalate(f"alert #{group_id} has no escalation policy; page a person or a team instead")
    if esc.status == RunStatus.DONE:
        policy = Policy.from_json(esc.policy)
        esc.round, esc.next_step = policy.repeat, len(policy.steps) - 1
    return await _run_step(session, esc, group, paging, now, by=by, via=via)


async def hand_to_team(session: AsyncSession, group_id: int, team_name: str, paging: Paging, *, by: str,
                       now: datetime) -> StepReport:
    """Page another team instead: its policy replaces the alert's and starts now, at its first step."""
    team = paging.config.team(team_name)
    if team is None:
        raise NothingToEscalate(f"there is no team named {team_name!r}")
    group = await session.get_one(AlertGroup, group_id)
    if group.status == AlertStatus.RESOLVED:
        raise NothingToEscalate(f"alert #{group_id} is already resolved")
    esc = await escalation_for(session, group_id, lock=True)
    esc = await begin_run(session, group, Policy.for_team(team), team.name, now, now, esc)
    if group.status != AlertStatus.FIRING:  # acknowledged: page the team once, no automatic follow-up
        esc.status, esc.next_at = RunStatus.STOPPED, None
    return await _run_step(session, esc, group, paging, now, by=by, team=team.name)


async def page_person(session: AsyncSession, group_id: int, person: str, paging: Paging, *, by: str,
                      now: datetime) -> StepReport:
    """Page one named person by Slack DM, and by SMS when they have a phone and SMS is set up."""
    group = await session.get_one(AlertGroup, group_id)
    if group.status == AlertStatus.RESOLVED:
        raise NothingToEscalate(f"alert #{group_id} is already resolved")
    event = await record(session, group, Escalated(step=None, by=by, person=person), now, actor=by, via="slack")
    await reply_in_thread(session, group, event, now)
    pages = [await create_page(session, group, Recipient(person, Via.SLACK), now, step=None, round_=None,
                               requested_by=by)]
    found = paging.config.person(person)
    skipped: list[str] = []
    if found is not None and found.phone and paging.sms_enabled and await opted_out(session, found.phone):
        skipped.append(opted_out_reason(found.name, [Via.SLACK]))
        await record(session, group, PageSkipped(target=f"sms:{person}", reason=skipped[-1]), now)
    elif found is not None and found.phone and paging.sms_enabled:
        pages.append(await create_page(session, group, Recipient(person, Via.SMS), now, step=None, round_=None,
                                       requested_by=by))
    elif found is not None and found.phone:
        skipped.append("SMS is not set up")
    return StepReport(0, 0, tuple(pages), tuple(skipped))


async def reopen_snoozed(session: AsyncSession, group_id: int, now: datetime) -> bool:
    """A snooze ended on a still-firing alert: show it firing again and restart its policy from step 1.

    Restarting (rather than resuming mid-policy) is deliberate: whoever snoozed it said "later",
    and later has come, so the on-call person gets the first step's gentle DM again before SMS.
    """
    result = await session.execute(
        update(AlertGroup)
        .where(AlertGroup.id == group_id, AlertGroup.status == AlertStatus.FIRING,
               AlertGroup.snoozed_until.is_not(None), AlertGroup.snoozed_until <= now)
        .values(snoozed_until=None, version=AlertGroup.version + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    group = await session.get_one(AlertGroup, group_id, populate_existing=True)
    await record(session, group, Reopened(), now)
    esc = await escalation_for(session, group_id)
    if esc is not None and esc.policy.get("steps") and esc.status != RunStatus.UNOWNED:
        await begin_run(session, group, Policy.from_json(esc.policy), esc.team or "", now, now, esc)
    return True
