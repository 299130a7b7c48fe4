"""The Escalate button and its modal: run the next step now, or page a person or a team instead.

Each listener is a module-level function taking what Bolt passes by name; the bot's own parts come
from ``deps(context)`` (see :mod:`bot.slack.deps`). :func:`bot.slack.app.register_listeners`
says which listener answers which action or view.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncBoltContext, AsyncRespond

from bot.alerts.incoming import AlertStatus
from bot.alerts.models import AlertGroup
from bot.db import record_id, transaction
from bot.escalation.engine import (
    NothingToEscalate,
    StepReport,
    escalate_now,
    escalation_for,
    hand_to_team,
    page_person,
)
from bot.escalation.models import RunStatus
from bot.escalation.policy import Policy, PolicyJson
from bot.slack.blocks.escalation import escalate_modal
from bot.slack.client import answer
from bot.slack.deps import SlackDeps, deps
from bot.slack.ids import EscalateField
from bot.slack.listeners.shapes import BlockActions, read

log = logging.getLogger(__name__)


def _next_step(policy: PolicyJson, status: str, next_step: int) -> str | None:
    if not policy.get("steps"):
        return None
    p = Policy.from_json(policy)
    index = len(p.steps) - 1 if status == RunStatus.DONE else next_step
    return f"step {index + 1}, {p.describe(index)}"


async def escalate(d: SlackDeps, group_id: int, *, user: str, person: str | None = None, team: str | None = None) -> StepReport:
    paging = d.paging
    now = d.clock.now()
    async with transaction(d.sessions) as s:
        if person:
            report = await page_person(s, group_id, person, paging, by=user, now=now)
        elif team:
            report = await hand_to_team(s, group_id, team, paging, by=user, now=now)
        else:
            report = await escalate_now(s, group_id, paging, by=user, now=now)
    d.wake()
    return report


async def on_escalate(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, context: AsyncBoltContext) -> None:
    await ack()
    if (click := await read(BlockActions, body, "escalate button", respond)) is None:
        return
    d = deps(context)
    user = click.user.id
    value = click.action.value or ""
    group_id = record_id(value)
    if group_id is None:
        await answer(respond, "That button does not name an alert; it may come from an old message.")
        return
    async with d.sessions() as s:
        group = await s.get(AlertGroup, group_id)
        esc = await escalation_for(s, group_id)
    if group is None or group.status == AlertStatus.RESOLVED:
        what = "does not exist" if group is None else "is already resolved"
        await answer(respond, f"Alert #{group_id} {what}; there is nobody to escalate to.")
        return
    next_step = _next_step(esc.policy, esc.status, esc.next_step) if esc else None
    view = escalate_modal(group, next_step=next_step, teams=d.teams)
    if await d.slack.open_modal(click.trigger_id, view, tell=None, what="the Escalate dialog"):
        return
    if next_step is None:  # the click was too slow to reach us, most likely; the person may click again
        await answer(respond, "Could not open the Escalate dialog; please click Escalate again.")
        return
    report = await escalate(d, group_id, user=user)
    await answer(respond, f"Could not open the Escalate dialog, so step {report.step} runs now.")


async def on_submit(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], context: AsyncBoltContext) -> None:
    values = view["state"]["values"]
    person = values.get(EscalateField.PERSON, {}).get(EscalateField.PERSON, {}).get("selected_user")
    team = (values.get(EscalateField.TEAM, {}).get(EscalateField.TEAM, {}).get("selected_option") or {}).get("value")
    if person and team:
        await ack(response_action="errors", errors={EscalateField.TEAM: "Pick a person or a team, not both."})
        return
    group_id = record_id(view.get("private_metadata"))  # the bot put the alert's id there
    if group_id is None:
        log.warning("ignored an Escalate dialog whose private_metadata names no alert")
        await ack()
        return
    try:
        # Quick database work before the ack, so a refusal can be shown in the dialog itself.
        await escalate(deps(context), group_id, user=body["user"]["id"], person=person, team=team)
    except NothingToEscalate as exc:
        await ack(response_action="errors", errors={EscalateField.PERSON: f"{str(exc)[:1].upper()}{str(exc)[1:]}."})
        return
    await ack()
