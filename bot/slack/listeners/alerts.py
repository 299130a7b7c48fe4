"""Alert message buttons and overflow menu (reactions: bot.slack.listeners.reactions). Thin: parse, call the
domain, answer.

Each listener is a module-level function taking what Bolt passes by name; the bot's own parts come
from ``deps(context)`` (see :mod:`bot.slack.deps`). :func:`bot.slack.app.register_listeners`
says which listener answers which action.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncBoltContext, AsyncRespond
from sqlalchemy import select

from bot.alerts import actions
from bot.alerts.incoming import AlertStatus
from bot.alerts.models import AlertGroup
from bot.db import record_id, transaction
from bot.slack.blocks.common import actor_text
from bot.slack.blocks.playbook import playbook_modal
from bot.slack.client import answer, teller
from bot.slack.deps import SlackDeps, deps
from bot.slack.ids import AlertAction, OverflowChoice
from bot.slack.listeners.shapes import BlockActions, read

log = logging.getLogger(__name__)

SNOOZES = {
    OverflowChoice.SNOOZE_30M: timedelta(minutes=30),
    OverflowChoice.SNOOZE_1H: timedelta(hours=1),
    OverflowChoice.SNOOZE_4H: timedelta(hours=4),
}


def _group_id(value: str) -> int | None:
    return record_id(value.rsplit(":", 1)[-1])


def _refusal(d: SlackDeps, outcome: actions.ActionOutcome) -> str:
    g = outcome.group
    if g.status == AlertStatus.RESOLVED and g.resolved_by:
        by = actor_text(g.resolved_by, g.resolved_via, d.names)
        return f"Alert #{g.id} {outcome.unchanged} by {by}."
    if g.status == AlertStatus.ACKNOWLEDGED and g.acknowledged_by and outcome.unchanged in (
            actions.Unchanged.ALREADY_ACKNOWLEDGED, actions.Unchanged.ALREADY_RESOLVED):
        by = actor_text(g.acknowledged_by, g.acknowledged_via, d.names)
        return f"Alert #{g.id} is {outcome.unchanged} by {by}.{outcome.renewal}"
    return f"Alert #{g.id}: nothing to do, it is {outcome.unchanged}."


async def run(d: SlackDeps, respond: AsyncRespond, group_id: int | None, op: str, user: str, **kw: Any) -> None:
    if group_id is None:
        await answer(respond, "That button does not name an alert; it may come from an old message.")
        return
    try:
        async with transaction(d.sessions) as s:
            now = d.clock.now()
            if op == "silence":
                outcome, _ = await actions.silence_similar(s, group_id, actor=user, now=now, **kw)
            elif op == "acknowledge":
                outcome = await actions.acknowledge(s, group_id, actor=user, via="slack", now=now,
                                                    severities=d.config.severities)
            else:
                outcome = await getattr(actions, op)(s, group_id, actor=user, via="slack", now=now, **kw)
    except actions.AlertNotFound as exc:
        await answer(respond, f"{exc}.")
        return
    d.wake()
    if not outcome.changed:
        await answer(respond, _refusal(d, outcome))


async def on_button(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond,
                    context: AsyncBoltContext) -> None:
    await ack()
    if (click := await read(BlockActions, body, "alert button", respond)) is None:
        return
    op = {AlertAction.ACKNOWLEDGE: "acknowledge", AlertAction.UNACKNOWLEDGE: "unacknowledge",
          AlertAction.RESOLVE: "resolve"}[AlertAction(click.action.action_id)]
    await run(deps(context), respond, _group_id(click.action.value or ""), op, click.user.id)


async def on_overflow(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond,
                      context: AsyncBoltContext) -> None:
    await ack()
    click = await read(BlockActions, body, "alert menu choice", respond)
    if click is None or click.action.selected_option is None:
        return
    choice, _, raw = click.action.selected_option.value.partition(":")
    gid = _group_id(raw)
    user = click.user.id
    if choice == OverflowChoice.SILENCE_1H:
        await run(deps(context), respond, gid, "silence", user, duration=timedelta(hours=1))
    elif choice in SNOOZES:
        await run(deps(context), respond, gid, "snooze", user, duration=SNOOZES[OverflowChoice(choice)])


async def on_link(ack: AsyncAck) -> None:
    await ack()  # URL buttons still send an interaction; Slack wants it acknowledged


async def on_storm_ack_all(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond,
                           context: AsyncBoltContext) -> None:
    await ack()
    if (click := await read(BlockActions, body, "storm button", respond)) is None:
        return
    d = deps(context)
    storm_id = _group_id(click.action.value or "")
    user = click.user.id
    async with d.sessions() as s:
        firing = list(await s.scalars(select(AlertGroup.id).where(AlertGroup.storm_id == storm_id,
                                                                  AlertGroup.status == AlertStatus.FIRING)))
    acked = 0
    for gid in firing:  # one short transaction each, so clicks and webhooks interleave
        async with transaction(d.sessions) as s:
            acked += (await actions.acknowledge(s, gid, actor=user, via="slack", now=d.clock.now(),
                                                severities=d.config.severities)).changed
    d.wake()
    await answer(respond, f"Acknowledged {acked} firing alert(s) of this storm.")


async def on_playbook(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, context: AsyncBoltContext) -> None:
    await ack()
    if (click := await read(BlockActions, body, "playbook button", respond)) is None:
        return
    d = deps(context)
    gid = _group_id(click.action.value or "")
    async with d.sessions() as s:
        group = await s.get(AlertGroup, gid) if gid is not None else None
    playbook = next((p for p in d.playbooks if group is not None and p.id == group.playbook), None)
    if group is None or playbook is None:
        await answer(respond, "That playbook is no longer available.")
        return
    await d.slack.open_modal(click.trigger_id, playbook_modal(playbook, group.title), tell=teller(respond),
                             what="the playbook")
