"""A test page a person sends themselves (``/oncall me``): each of their channels, through the real path.

It is a test alert like ``POST /api/test``'s (:mod:`bot.escalation.drill`), stored by the same
ingest and paged by the same runner and senders, with two differences made here: it is shown in the
person's own DM with the bot instead of the team's channel (a test of how *I* am reached is nobody
else's business), and its policy is one step, at once, that reaches that person on every channel
asked for (``slack:<ID>``, ``sms:<ID>``, ``call:<ID>``, ``email:<ID>``). Explicit targets are not
held by quiet hours, so the test reaches the person whenever they ask for it. Acknowledging it by
the button, an SMS reply, key 1 on the call or the email link shows on the DM's message, exactly as
for a real alert.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.alerts.incoming import IncomingAlert, ParsedNotification
from bot.alerts.ingest import ingest
from bot.alerts.models import AlertGroup
from bot.config import OWN_INTEGRATION, Config, Person, own_integration
from bot.escalation.drill import TEST_LABEL, default_team
from bot.escalation.engine import begin_run
from bot.escalation.models import Escalation, Via
from bot.escalation.policy import EscalationStep, Policy
from bot.severity import Severity

DESCRIPTION = ("This is a TEST page you asked for with `/oncall me`, not a real problem: it checks that "
               "Watchstander reaches you on {channels}. Acknowledge it here, by replying to the SMS, by "
               "pressing 1 on the call or with the email's link, then resolve it.")
WORDS = {Via.SLACK: "Slack DM", Via.SMS: "SMS", Via.CALL: "phone call", Via.EMAIL: "email"}


@dataclass(frozen=True)
class SelfTest:
    group_id: int
    vias: tuple[Via, ...]


def channels_of(person: Person | None) -> tuple[Via, ...]:
    """The channels a person can be reached on, by what the config knows of them."""
    vias = [Via.SLACK]
    if person is not None and person.phone:
        vias += [Via.SMS, Via.CALL]
    if person is not None and person.email:
        vias.append(Via.EMAIL)
    return tuple(vias)


def describe(vias: tuple[Via, ...]) -> str:
    words = [WORDS[v] for v in vias]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


async def fire(session: AsyncSession, config: Config, user_id: str, vias: tuple[Via, ...], now: datetime) -> SelfTest:
    """Store the test alert in the caller's transaction, shown in ``user_id``'s DM, its one step due now."""
    person = config.person(user_id)
    name = person.name if person else user_id
    team = default_team(config)  # only for the record: every target names the person, and the DM is the channel
    team_name = team.name if team else None
    fingerprint = f"test/{uuid.uuid4().hex[:12]}"
    incoming = IncomingAlert(
        fingerprint=fingerprint, title=f"[TEST] Test page for {name}", severity=Severity.INFO,
        description=DESCRIPTION.format(channels=describe(vias)), service="watchstander", starts_at=now,
        labels={"alertname": "WatchstanderTestPage", "source": OWN_INTEGRATION, TEST_LABEL: "true"},
    )
    policy = Policy(steps=(EscalationStep(timedelta(0), tuple(f"{v}:{user_id}" for v in vias)),), repeat=0, test=True)

    async def escalate(s: AsyncSession, _config: Config, group: AlertGroup, at: datetime) -> Escalation | None:
        group.channel = user_id  # the DM with the bot, not the team's channel
        return await begin_run(s, group, policy, team_name or "", group.created_at, at)

    result = await ingest(session, config=config.model_copy(update={"routes": []}),
                          integration=own_integration(team_name or OWN_INTEGRATION),
                          notification=ParsedNotification(alerts=(incoming,), group_key=fingerprint), now=now,
                          escalate=escalate)
    [group_id] = result.new_groups
    return SelfTest(group_id=group_id, vias=vias)
