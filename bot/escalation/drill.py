"""The test alert: one clearly marked alert sent through the whole path, and where each hop stands.

``POST /api/test`` fires it (``bot.web.drill`` does the HTTP and the waiting). It is stored by the
same ingest as every webhook alert, posted to the team's channel by the same dispatcher, and
escalated by the same runner and page senders — with one difference, made here and nowhere
else: its escalation is started with ``test=True``, which snapshots the team's policy
*compressed* (:meth:`~bot.escalation.policy.Policy.compressed_for_test`): every offset is zero
and the policy ends at its first SMS step, so the first Slack DM and the SMS go out within
seconds instead of at 0m and 5m, and the backup and the channel are left alone. Nothing about
a real alert's escalation changes; a webhook alert that carries the test label is escalated like
any other (the label marks, it does not compress).

The hops, in order: **stored** (committed), **slack_message** (the channel message is posted),
**first_page** (the first Slack DM of the policy is sent) and **sms** (the first SMS page is taken
by Twilio). :func:`look` reads each one's state from the database, so a hop done by another
replica counts too.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.alerts.events import EventKind, NotEscalated, PageSkipped, detail_as
from bot.alerts.incoming import AlertStatus, IncomingAlert, ParsedNotification
from bot.alerts.ingest import ingest
from bot.alerts.models import AlertEvent, AlertGroup, AlertStorm
from bot.config import OWN_INTEGRATION, Config, Team, own_integration
from bot.escalation.engine import escalation_for, start_escalation
from bot.escalation.models import Escalation, PageRecord, PageStatus, RunStatus, Via
from bot.escalation.policy import Policy
from bot.escalation.targets import SMS_NOT_SET_UP
from bot.severity import Severity

TEST_LABEL = "watchstander_test"  # every test alert carries watchstander_test=true
TEST_ACTOR = "the Watchstander test"  # who resolves it: "Resolved by the Watchstander test after 2s"
TITLE = "[TEST] Watchstander test alert"
DESCRIPTION = ("This is a TEST of the alerting path, not a real problem: nothing needs doing. "
               "It was fired with POST /api/test{by}; its escalation runs its steps at once (no waiting "
               "between the DM and the SMS) and it resolves itself when the test is over.")


class Hop(StrEnum):
    STORED = "stored"
    SLACK_MESSAGE = "slack_message"
    FIRST_PAGE = "first_page"
    SMS = "sms"


class HopState(StrEnum):
    DONE = "done"        # it happened
    PENDING = "pending"  # not yet (still expected)
    SKIPPED = "skipped"  # it will not happen, and the reason says why (not set up, nobody on call…)
    FAILED = "failed"    # it was tried and refused


@dataclass(frozen=True)
class HopView:
    state: HopState
    detail: str = ""  # what happened, in words: "Slack DM to Alice"
    ref: str | None = None  # the machine value: alert id, message ts, Slack ref, Twilio SID
    reason: str | None = None  # why it has not happened (for every state but done)


@dataclass(frozen=True)
class Drill:
    """A fired test alert: its group, its team and which steps of its compressed policy page how."""

    group_id: int
    team: str
    severity: Severity
    dm_step: int | None  # 1-based step of the first Slack DM, None when the policy has none
    sms_step: int | None  # 1-based step of the first SMS
    compressed: bool  # an escalation was started, compressed (not: the severity does not escalate, a silence…)


def default_team(config: Config) -> Team | None:
    """The team a test alert goes to when the request names none: the first with an escalation policy."""
    return next((t for t in config.teams if t.escalation), None)


async def _start_test_escalation(session: AsyncSession, config: Config, group: AlertGroup,
                                 now: datetime) -> Escalation | None:
    """Ingest's escalation hook for the test alert only: the team's policy, compressed."""
    return await start_escalation(session, config, group, now, test=True)


async def fire(session: AsyncSession, config: Config, team: Team, severity: Severity, now: datetime, *,
               requested_by: str | None = None) -> Drill:
    """Store a test alert for ``team`` in the caller's transaction, its escalation started compressed.

    It is routed to ``team`` whatever the config's routes say (they are for real alerts), under
    Watchstander's own integration, with a fingerprint of its own so it never joins another alert.
    """
    fingerprint = f"test/{uuid.uuid4().hex[:12]}"
    by = f" by {requested_by}" if requested_by else ""
    incoming = IncomingAlert(
        fingerprint=fingerprint, title=TITLE, severity=severity, description=DESCRIPTION.format(by=by),
        service="watchstander", starts_at=now,
        labels={"alertname": "WatchstanderTest", "source": OWN_INTEGRATION, TEST_LABEL: "true"},
    )
    integration = own_integration(team.name)
    result = await ingest(session, config=config.model_copy(update={"routes": []}), integration=integration,
                          notification=ParsedNotification(alerts=(incoming,), group_key=fingerprint), now=now,
                          escalate=_start_test_escalation)
    [group_id] = result.new_groups
    policy = Policy.for_team(team).compressed_for_test()
    dm, sms = policy.first_step("slack"), policy.first_step("sms")
    esc = await escalation_for(session, group_id)
    return Drill(group_id=group_id, team=team.name, severity=severity, dm_step=None if dm is None else dm + 1,
                 sms_step=None if sms is None else sms + 1,
                 compressed=esc is not None and esc.status == RunStatus.ACTIVE and Policy.from_json(esc.policy).test)


async def look(session: AsyncSession, config: Config, drill: Drill, *, sms_enabled: bool) -> dict[Hop, HopView]:
    """Where every hop stands now, from the database."""
    group = await session.get_one(AlertGroup, drill.group_id, populate_existing=True)
    esc = await escalation_for(session, drill.group_id)
    if esc is not None:
        await session.refresh(esc)
    pages = list(await session.scalars(select(PageRecord).where(PageRecord.group_id == drill.group_id)
                                       .order_by(PageRecord.id).execution_options(populate_existing=True)))
    events = list(await session.scalars(select(AlertEvent).where(
        AlertEvent.group_id == drill.group_id,
        AlertEvent.kind.in_([EventKind.PAGE_SKIPPED, EventKind.NOT_ESCALATED])).order_by(AlertEvent.id)))
    pager = _Pages(config, drill, group, esc, pages, events)
    return {
        Hop.STORED: HopView(HopState.DONE, f"alert #{group.id} for team {drill.team}", str(group.id)),
        Hop.SLACK_MESSAGE: await _message(session, group),
        Hop.FIRST_PAGE: pager.hop(Via.SLACK, drill.dm_step, "Slack DM"),
        Hop.SMS: pager.hop(Via.SMS, drill.sms_step, "SMS", None if sms_enabled else SMS_NOT_SET_UP),
    }


async def _message(session: AsyncSession, group: AlertGroup) -> HopView:
    if group.slack_ts and group.slack_channel_id:
        return HopView(HopState.DONE, f"posted in #{group.channel} (ts {group.slack_ts})",
                       f"{group.slack_channel_id}:{group.slack_ts}")
    if group.storm_id is not None:
        storm = await session.get(AlertStorm, group.storm_id, populate_existing=True)
        if storm is not None and storm.slack_ts and storm.slack_channel_id:
            return HopView(HopState.DONE, f"folded into the alert storm message in #{group.channel} "
                           f"(ts {storm.slack_ts})", f"{storm.slack_channel_id}:{storm.slack_ts}")
    if group.silence_id is not None and group.posted_version == 0:
        return HopView(HopState.SKIPPED, reason=f"a silence (#{group.silence_id}) matches the test alert: "
                       "it is stored, not posted or paged")
    waiting = f"not posted to #{group.channel} yet"
    return HopView(HopState.PENDING, reason=f"{waiting}; Slack said: {group.sync_error}" if group.sync_error
                   else waiting)


@dataclass
class _Pages:
    config: Config
    drill: Drill
    group: AlertGroup
    esc: Escalation | None
    pages: list[PageRecord]
    events: list[AlertEvent]

    def hop(self, via: Via, step: int | None, medium: str, not_set_up: str | None = None) -> HopView:
        if (reason := self._no_escalation()) is not None:
            return HopView(HopState.SKIPPED, reason=reason)
        if step is None:
            return HopView(HopState.SKIPPED, reason=f"team {self.drill.team}'s escalation policy has no {medium} step")
        page = next((p for p in self.pages if p.via == via and p.step == step), None)
        if page is not None:
            return self._page(page, medium)
        skipped = [d.reason for d in self._skips(step) if d.target.startswith(f"{via}:")]
        if skipped:
            return HopView(HopState.SKIPPED, reason=f"step {step}: " + "; ".join(dict.fromkeys(skipped)))
        if not_set_up is not None:
            return HopView(HopState.SKIPPED, reason=not_set_up)
        assert self.esc is not None
        if self.esc.status in (RunStatus.STOPPED, RunStatus.SNOOZED) and self.esc.steps_run < step:
            return HopView(HopState.SKIPPED, reason=f"the alert was {self.group.status} before step {step} ran"
                           if self.group.status != AlertStatus.FIRING else f"the alert was snoozed before step {step} ran")
        return HopView(HopState.PENDING, reason=f"step {step} has not run yet")

    def _no_escalation(self) -> str | None:
        if self.esc is None:
            if self.group.silence_id is not None:
                return f"a silence (#{self.group.silence_id}) matches the test alert: nobody is paged"
            policy = self.config.severities.get(self.drill.severity)
            if policy is None or not policy.escalate:
                return (f"severity {self.drill.severity} does not escalate (severities.{self.drill.severity}"
                        ".escalate is not true): the channel message only")
            return None  # not started yet (cannot happen: it starts in the transaction that stores the alert)
        if self.esc.status == RunStatus.UNOWNED:
            team = self.config.team(self.drill.team)
            if team is not None and not team.escalation:
                return f"team {self.drill.team} has no escalation steps (escalation: is empty): nobody is paged"
            reasons = [detail_as(NotEscalated, e.kind, e.detail).reason for e in self.events
                       if e.kind == EventKind.NOT_ESCALATED]
            return f"not escalated ({', '.join(reasons) or 'no policy'})"
        return None

    def _skips(self, step: int) -> list[PageSkipped]:
        return [d for e in self.events if e.kind == EventKind.PAGE_SKIPPED
                and (d := detail_as(PageSkipped, e.kind, e.detail)).step == step]

    def _page(self, page: PageRecord, medium: str) -> HopView:
        person = self.config.person(page.person) if page.person else None
        to = f"{medium} to {person.name if person else page.person} (step {page.step})"
        match page.status:
            case PageStatus.SENT:
                ref = page.twilio_sid if page.via == Via.SMS else page.slack_ref
                said = f", Twilio status {page.delivery_status}" if page.via == Via.SMS and page.delivery_status else ""
                return HopView(HopState.DONE, f"{to}{said}", ref)
            case PageStatus.FAILED:
                return HopView(HopState.FAILED, to, reason=f"refused: {page.error or 'no reason given'}")
            case PageStatus.CANCELLED:
                return HopView(HopState.FAILED, to, reason=f"cancelled: the alert was {self.group.status} "
                               "before the page went out")
        tried = f" ({page.send_attempts} attempt(s) so far)" if page.send_attempts else ""
        return HopView(HopState.PENDING, to, reason=f"queued, not sent yet{tried}")
