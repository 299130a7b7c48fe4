"""Who a step's target means right now: the dispatch table of target handlers.

Each handler answers for one target kind — ``slack:primary``, ``sms:backup``, ``call:<USERID>``… —
with a small :class:`TargetResult`: the recipients to page, or why nobody could be (a skip the
thread shows, so a step that pages nobody is never silent). Primary and backup are looked up at
step time, so an override taken mid-escalation is honoured by the next step.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Config
from bot.escalation.models import Via
from bot.escalation.quiet import quiet_until
from bot.escalation.sms_hygiene import opted_out
from bot.oncall.handle import members_of
from bot.oncall.schedule import Schedules
from bot.oncall.shifts import OnCall
from bot.oncall.who import on_call, person_zone
from bot.severity import Severity

SMS_NOT_SET_UP = "SMS is not set up (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER are not all set)"
CALLS_NOT_SET_UP = ("phone calls are not set up (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM_NUMBER "
                    "and PUBLIC_URL are not all set)")
EMAIL_NOT_SET_UP = "email is not set up (SMTP_URL and EMAIL_FROM are not both set)"


@dataclass(frozen=True)
class Recipient:
    person: str | None  # Slack user id; None for the team channel or a team's email address
    via: Via
    address: str | None = None  # email: the address (a person's from the config, or the target's own)
    after: timedelta = timedelta(0)  # person:<…>: sent this long after the step, by the person's own rules
    held_until: datetime | None = None  # quiet hours held it until then


@dataclass(frozen=True)
class TargetResult:
    recipients: tuple[Recipient, ...] = ()
    skipped: str | None = None  # why nobody was paged for this target
    opted_out: str | None = None  # skipped because this person replied STOP: see :func:`opted_out_reason`


VIA_WORDS = {Via.SLACK: "Slack", Via.EMAIL: "email", Via.SMS: "SMS", Via.CHANNEL: "the channel"}


def opted_out_reason(name: str, reached: list[Via]) -> str:
    """Why an SMS target was skipped for someone who replied STOP, and how the step reaches them instead."""
    how = f"reached by {' and '.join(VIA_WORDS[v] for v in reached)} only" if reached else \
        "this step does not reach them otherwise"
    return f"{name} replied STOP to SMS; {how} — they can send START to receive pages again"


@dataclass
class StepContext:
    """What a handler may look at: the team, the people, who is on call, and whether SMS, calls and email work."""

    session: AsyncSession
    config: Config
    schedules: Schedules
    team: str
    at: datetime
    sms_enabled: bool
    email_enabled: bool = False
    severity: Severity = Severity.CRITICAL  # the alert's: quiet hours hold only the less severe
    calls_enabled: bool = False  # Twilio is set up and PUBLIC_URL says where it fetches a call's words
    known: dict[str, OnCall] = field(default_factory=dict, repr=False)  # team -> who is on call, shared

    async def on_call(self, team: str | None = None) -> OnCall:
        """Who is on call for ``team`` (the alert's own by default)."""
        team = team or self.team
        if team not in self.known:
            self.known[team] = await on_call(self.session, self.schedules, team, self.at)
        return self.known[team]

    def name(self, person: str) -> str:
        found = self.config.person(person)
        return found.name if found else person


TargetHandler = Callable[[StepContext, str], Awaitable[TargetResult]]


async def _role(ctx: StepContext, role: str) -> str | None:
    now = await ctx.on_call()
    shift = now.primary if role == "primary" else now.backup
    return shift.person if shift else None


def _slack(person: str) -> TargetResult:
    return TargetResult((Recipient(person, Via.SLACK),))


async def _sms(ctx: StepContext, person: str) -> TargetResult:
    if not ctx.sms_enabled:
        return TargetResult(skipped=SMS_NOT_SET_UP)
    found = ctx.config.person(person)
    if found is None or not found.phone:
        return TargetResult(skipped=f"{ctx.name(person)} has no phone number in the config")
    if await opted_out(ctx.session, found.phone):  # Twilio would refuse it (21610): say so, reach them otherwise
        return TargetResult(skipped=opted_out_reason(found.name, []), opted_out=person)
    return TargetResult((Recipient(person, Via.SMS),))


def _call(ctx: StepContext, person: str) -> TargetResult:
    if not ctx.calls_enabled:
        return TargetResult(skipped=CALLS_NOT_SET_UP)
    found = ctx.config.person(person)
    if found is None or not found.phone:
        return TargetResult(skipped=f"{ctx.name(person)} has no phone number in the config")
    return TargetResult((Recipient(person, Via.CALL),))


def _email(ctx: StepContext, person: str) -> TargetResult:
    if not ctx.email_enabled:
        return TargetResult(skipped=EMAIL_NOT_SET_UP)
    found = ctx.config.person(person)
    if found is None or not found.email:
        return TargetResult(skipped=f"{ctx.name(person)} has no email in the config")
    return TargetResult((Recipient(person, Via.EMAIL, found.email),))


async def slack_role(ctx: StepContext, role: str) -> TargetResult:
    person = await _role(ctx, role)
    return _slack(person) if person else TargetResult(skipped=f"nobody is on call as {role} for {ctx.team}")


async def sms_role(ctx: StepContext, role: str) -> TargetResult:
    person = await _role(ctx, role)
    return await _sms(ctx, person) if person else TargetResult(skipped=f"nobody is on call as {role} for {ctx.team}")


async def slack_user(ctx: StepContext, person: str) -> TargetResult:
    return _slack(person)


async def sms_user(ctx: StepContext, person: str) -> TargetResult:
    return await _sms(ctx, person)


async def call_role(ctx: StepContext, role: str) -> TargetResult:
    person = await _role(ctx, role)
    return _call(ctx, person) if person else TargetResult(skipped=f"nobody is on call as {role} for {ctx.team}")


async def call_user(ctx: StepContext, person: str) -> TargetResult:
    return _call(ctx, person)


async def email_role(ctx: StepContext, role: str) -> TargetResult:
    person = await _role(ctx, role)
    return _email(ctx, person) if person else TargetResult(skipped=f"nobody is on call as {role} for {ctx.team}")


async def email_user(ctx: StepContext, person: str) -> TargetResult:
    return _email(ctx, person)


async def email_address(ctx: StepContext, address: str) -> TargetResult:
    """``email:oncall@example.com``: a team list, not a person; the link's actions are the address's."""
    if not ctx.email_enabled:
        return TargetResult(skipped=EMAIL_NOT_SET_UP)
    return TargetResult((Recipient(None, Via.EMAIL, address),))


async def person_role(ctx: StepContext, role: str) -> TargetResult:
    person = await _role(ctx, role)
    return await _person(ctx, person) if person else TargetResult(
        skipped=f"nobody is on call as {role} for {ctx.team}")


async def person_user(ctx: StepContext, person: str) -> TargetResult:
    return await _person(ctx, person)


async def _person(ctx: StepContext, person: str) -> TargetResult:
    """``person:<…>``: the person's own ``notify:`` rules (a Slack DM without any), each channel at its
    offset; under their quiet hours an SMS or call for a less severe alert waits until the quiet ends."""
    found = ctx.config.person(person)
    rules = [(r.after, Via(r.via)) for r in found.notify] if found and found.notify else [(timedelta(0), Via.SLACK)]
    reach = {Via.SLACK: lambda: _slack(person), Via.CALL: lambda: _call(ctx, person),
             Via.EMAIL: lambda: _email(ctx, person)}
    recipients: list[Recipient] = []
    skipped: list[str] = []
    for after, via in rules:
        one = await _sms(ctx, person) if via == Via.SMS else reach[via]()
        if one.skipped:
            skipped.append(one.skipped)
        held = None
        if (via in (Via.SMS, Via.CALL) and found is not None and found.quiet is not None
                and found.quiet.holds(ctx.severity)):
            held = quiet_until(found.quiet, person_zone(ctx.config, person), ctx.at + after)
        for r in one.recipients:
            recipients.append(replace(r, after=(held - ctx.at) if held else after, held_until=held))
    return TargetResult(tuple(recipients), skipped="; ".join(skipped) or None)


async def slack_channel(ctx: StepContext, _arg: str) -> TargetResult:
    return TargetResult((Recipient(None, Via.CHANNEL),))


async def slack_group(ctx: StepContext, handle: str) -> TargetResult:
    """``slack:@platform-oncall``: the group's mention in the alert's thread, and a DM to each member.

    A team's ``slack_handle`` holds that team's on-call, so they are paged here by DM like
    ``slack:primary``; any other group's members are read from Slack when the mention is sent
    (``bot.notify.page_group``), since only Slack knows them."""
    mention = Recipient(None, Via.GROUP, handle)
    team = ctx.config.team_of_handle(handle)
    if team is None:
        return TargetResult((mention,))
    members = members_of(team, await ctx.on_call(team.name))
    return TargetResult((*(Recipient(p, Via.SLACK) for p in members), mention))


HANDLERS: dict[str, TargetHandler] = {
    "slack:primary": slack_role,
    "slack:backup": slack_role,
    "slack:user": slack_user,
    "slack:channel": slack_channel,
    "slack:group": slack_group,
    "sms:primary": sms_role,
    "sms:backup": sms_role,
    "sms:user": sms_user,
    "call:primary": call_role,
    "call:backup": call_role,
    "call:user": call_user,
    "email:primary": email_role,
    "email:backup": email_role,
    "email:user": email_user,
    "email:address": email_address,
    "person:primary": person_role,
    "person:backup": person_role,
    "person:user": person_user,
}


def target_kind(target: str) -> tuple[str, str]:
    """``("sms:backup", "backup")``, ``("slack:user", "U0ALICE01")``, ``("email:address", "ops@example.com")``,
    ``("slack:group", "platform-oncall")``: the handler key and its argument."""
    medium, _, who = target.partition(":")
    if medium == "slack" and who.startswith("@"):
        return "slack:group", who[1:]
    if who in ("primary", "backup", "channel"):
        return target, who
    if "@" in who:
        return f"{medium}:address", who
    return f"{medium}:user", who


async def resolve(ctx: StepContext, target: str) -> TargetResult:
    kind, arg = target_kind(target)
    handler = HANDLERS.get(kind)
    if handler is None:  # config validation refuses these; a snapshot from an older version might not
        return TargetResult(skipped=f"unknown target {target!r}")
    return await handler(ctx, arg)
