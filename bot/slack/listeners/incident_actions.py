"""Incident clicks and forms: the declare modal (from ``/incident declare``, an alert's **Declare
incident** button or the message shortcut), the header's buttons and their small modals, playbook
checklist ticks, and **Mark post-mortem done**.

Form input that can be checked without the database is checked before the ack, so Slack shows the
problem next to the field; everything else runs after the ack and reports back ephemerally.

Each listener is a module-level function taking what Bolt passes by name; the bot's own parts come
from ``deps(context)`` (see :mod:`bot.slack.deps`). :func:`bot.slack.app.register_listeners`
says which listener answers which action, shortcut or view.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncBoltContext, AsyncRespond
from slack_sdk.models.views import View
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.alerts.models import Alert, AlertGroup
from bot.db import record_id, transaction
from bot.incidents import lifecycle
from bot.incidents.key_times import first_acknowledgement
from bot.incidents.models import Incident
from bot.incidents.policy import UnknownSeverity, parse_role
from bot.slack.blocks.common import clip
from bot.slack.blocks.incident_modals import (
    PUBLISH,
    DeclareContext,
    DeclareDefaults,
    declare_modal,
    resolve_modal,
    role_modal,
    severity_modal,
    status_modal,
    submitted,
    ticked,
)
from bot.slack.client import answer, teller
from bot.slack.deps import SlackDeps, deps
from bot.slack.ids import METADATA_EVENT, IncidentAction, IncidentField
from bot.slack.listeners.shapes import BlockActions, read

log = logging.getLogger(__name__)

Values = dict[str, Any]  # view.state.values
Change = Callable[[SlackDeps, AsyncSession, int, str, datetime, Values], Awaitable[object]]




async def open_view(d: SlackDeps, body: dict[str, Any], view: View, respond: AsyncRespond) -> None:
    await d.slack.open_modal(body["trigger_id"], view, tell=teller(respond))


async def open_declare(d: SlackDeps, body: dict[str, Any], defaults: DeclareDefaults, context: DeclareContext,
                       respond: AsyncRespond) -> None:
    await open_view(d, body, declare_modal(defaults, context, d.kit.policy.severities, d.teams), respond)


async def defaults_from_alert(d: SlackDeps, group_id: int, user: str) -> DeclareDefaults | None:
    async with d.sessions() as s:
        group = await s.get(AlertGroup, group_id)
        lead = await s.scalar(select(Alert).where(Alert.group_id == group_id).order_by(Alert.id).limit(1))
    if group is None:
        return None
    return DeclareDefaults(commander=user, title=group.title, team=group.team,
                           severity=d.kit.policy.suggested_severity(group.severity),
                           summary=lead.description if lead else "",
                           service=(lead.service if lead else "") or "")


async def act(d: SlackDeps, respond: AsyncRespond, change: Callable[[AsyncSession, datetime], Awaitable[None]]) -> None:
    """A click's domain change in one transaction; a refusal goes back to the clicker alone."""
    try:
        async with transaction(d.sessions) as s:
            await change(s, d.clock.now())
    except lifecycle.IncidentError as exc:
        await answer(respond, f"⚠️ {exc}")
        return
    d.wake()


# --- opening the declare modal -------------------------------------------------------------------


async def on_alert_declare(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond,
                           context: AsyncBoltContext) -> None:
    """An alert's **Declare incident** button: the declare modal, filled in from the alert."""
    await ack()
    if (click := await read(BlockActions, body, "Declare incident button", respond)) is None:
        return
    d = deps(context)
    user = click.user.id
    group_id = record_id(click.action.value)
    defaults = await defaults_from_alert(d, group_id, user) if group_id is not None else None
    if group_id is None or defaults is None:
        await answer(respond, "That button does not name an alert; it may come from an old message.")
        return
    channel = (body.get("channel") or {}).get("id")
    declare = DeclareContext(origin_channel=channel, group_ids=[group_id])
    await open_declare(d, body, defaults, declare, respond)


async def _message_group(d: SlackDeps, channel: str | None, message: dict[str, Any]) -> int | None:
    """The alert a message is about: from its metadata, else the alert we posted as that message."""
    meta = message.get("metadata") or {}
    group_id = None
    if meta.get("event_type") == METADATA_EVENT:  # an alert message: declare from its alert
        group_id = record_id((meta.get("event_payload") or {}).get("group_id"))
    if group_id is None and channel and message.get("ts"):
        async with d.sessions() as s:
            group_id = await s.scalar(select(AlertGroup.id).where(AlertGroup.slack_channel_id == channel,
                                                                  AlertGroup.slack_ts == message["ts"]))
    return group_id


async def on_message_shortcut(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond,
                              context: AsyncBoltContext) -> None:
    """The message shortcut: declare from any message, from its alert when it is one of ours."""
    await ack()
    d = deps(context)
    user = body["user"]["id"]
    message = body.get("message") or {}
    channel = (body.get("channel") or {}).get("id")
    text = str(message.get("text") or "")
    group_id = await _message_group(d, channel, message)
    defaults = await defaults_from_alert(d, group_id, user) if group_id is not None else None
    if defaults is None:
        first_line = next((line for line in text.splitlines() if line.strip()), "")
        defaults = DeclareDefaults(commander=user, title=clip(first_line.strip(), 150), summary=text)
    source = {"channel": channel, "ts": message.get("ts"), "author": message.get("user"), "text": text}
    declare = DeclareContext(origin_channel=channel, group_ids=[group_id] if group_id else [], message=source)
    await open_declare(d, body, defaults, declare, respond)


# --- the declare modal's submission --------------------------------------------------------------


def _declare_errors(d: SlackDeps, values: Values) -> tuple[str, str, dict[str, str]]:
    """The title and severity as submitted, and what is wrong with them, by field."""
    title = " ".join(str(submitted(values, IncidentField.TITLE) or "").split())
    errors: dict[str, str] = {}
    if not title:
        errors[IncidentField.TITLE] = "Give the incident a title: a few words on what is broken."
    severity = str(submitted(values, IncidentField.SEVERITY) or "")
    try:
        severity = d.kit.policy.severity(severity)
    except UnknownSeverity as exc:
        errors[IncidentField.SEVERITY] = clip(str(exc), 150)
    return title, severity, errors


async def _source_message(d: SlackDeps, declare: DeclareContext) -> lifecycle.SourceMessage | None:
    m = declare.message or {}
    channel, ts = m.get("channel"), m.get("ts")
    if not (channel and ts):
        return None
    return lifecycle.SourceMessage(channel=channel, ts=ts, author=m.get("author"), text=str(m.get("text") or ""),
                                   permalink=await d.incident_slack.permalink(channel, ts))


async def on_declare(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], context: AsyncBoltContext) -> None:
    """The declare modal submitted: a bad title or severity is shown in the form, else the incident opens."""
    d = deps(context)
    values = view["state"]["values"]
    user = body["user"]["id"]
    title, severity, errors = _declare_errors(d, values)
    if errors:
        await ack(response_action="errors", errors=errors)
        return
    await ack()
    declare = DeclareContext.load(view.get("private_metadata", ""))
    source = await _source_message(d, declare)
    try:
        async with transaction(d.sessions) as s:
            await lifecycle.declare(
                s, policy=d.kit.policy, title=title, severity=severity, reporter=user,
                commander=submitted(values, IncidentField.COMMANDER) or user, now=d.clock.now(),
                summary=str(submitted(values, IncidentField.SUMMARY) or ""),
                affected_service=submitted(values, IncidentField.SERVICE),
                team=submitted(values, IncidentField.TEAM),
                origin_channel_id=declare.origin_channel, group_ids=declare.group_ids, source=source,
            )
    except lifecycle.IncidentError as exc:
        await d.incident_slack.tell(user, f"⚠️ {exc}", channel=declare.origin_channel)
        return
    d.wake()


# --- header buttons and their modals -------------------------------------------------------------


async def on_modal_button(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond,
                          context: AsyncBoltContext) -> None:
    """Post update / Change severity / Assign role / Resolve: open the small modal."""
    await ack()
    d = deps(context)
    action = body["actions"][0]
    incident_id = record_id(action.get("value"))
    async with d.sessions() as s:
        incident = await s.get(Incident, incident_id) if incident_id is not None else None
    if incident is None or incident.is_resolved:
        why = "is already resolved" if incident else "does not exist any more"
        await answer(respond, f"⚠️ That incident {why}.")
        return
    builders = {
        IncidentAction.POST_UPDATE: lambda: status_modal(
            incident, f"{d.base_url}/status" if d.config.status_page is not None else None),
        IncidentAction.CHANGE_SEVERITY: lambda: severity_modal(incident, d.kit.policy.severities),
        IncidentAction.ASSIGN_ROLE: lambda: role_modal(incident),
        IncidentAction.RESOLVE: lambda: resolve_modal(incident),
    }
    await open_view(d, body, builders[IncidentAction(action["action_id"])](), respond)


async def on_postmortem_button(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond,
                               context: AsyncBoltContext) -> None:
    """Mark post-mortem done / Re-render post-mortem."""
    await ack()
    if (click := await read(BlockActions, body, "post-mortem button", respond)) is None:
        return
    action = body["actions"][0]
    incident_id = record_id(click.action.value)
    user = click.user.id

    async def change(s: AsyncSession, now: datetime) -> None:
        if incident_id is None:
            raise lifecycle.IncidentNotFound("That button does not name an incident.")
        if action["action_id"] == IncidentAction.POSTMORTEM_DONE:
            await lifecycle.mark_postmortem_done(s, incident_id=incident_id, actor=user, now=now)
        else:
            await lifecycle.get_incident(s, incident_id)
            await lifecycle.request_postmortem(s, incident_id=incident_id, now=now, requested_by=user,
                                               reason=f"asked:{user}:{now.isoformat()}")

    await act(deps(context), respond, change)


async def change_status(d: SlackDeps, s: AsyncSession, incident_id: int, user: str, now: datetime,
                        values: Values) -> object:
    return await lifecycle.post_status(s, incident_id=incident_id, actor=user, now=now,
                                       text=str(submitted(values, IncidentField.UPDATE)),
                                       status=submitted(values, IncidentField.STATUS),
                                       public=ticked(values, IncidentField.PUBLIC, PUBLISH))


async def change_severity(d: SlackDeps, s: AsyncSession, incident_id: int, user: str, now: datetime,
                          values: Values) -> object:
    return await lifecycle.change_severity(s, policy=d.kit.policy, incident_id=incident_id, actor=user, now=now,
                                           severity=str(submitted(values, IncidentField.SEVERITY)))


async def change_role(d: SlackDeps, s: AsyncSession, incident_id: int, user: str, now: datetime,
                      values: Values) -> object:
    role = parse_role(str(submitted(values, IncidentField.ROLE))) or "commander"
    return await lifecycle.assign_role(s, incident_id=incident_id, role=role, actor=user, now=now,
                                       person=str(submitted(values, IncidentField.PERSON)))


async def change_resolved(d: SlackDeps, s: AsyncSession, incident_id: int, user: str, now: datetime,
                          values: Values) -> object:
    acked = await first_acknowledgement(s, incident_id)
    return await lifecycle.resolve(s, policy=d.kit.policy, incident_id=incident_id, actor=user, now=now,
                                   summary=submitted(values, IncidentField.SUMMARY), acknowledged_at=acked)


async def submit_small_modal(change: Change, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any],
                             context: AsyncBoltContext) -> None:
    """A small modal submitted: ``change`` in one transaction; a refusal goes to the submitter."""
    await ack()
    d = deps(context)
    user = body["user"]["id"]
    incident_id = record_id(view.get("private_metadata"))
    if incident_id is None:
        return
    try:
        async with transaction(d.sessions) as s:
            await change(d, s, incident_id, user, d.clock.now(), view["state"]["values"])
    except lifecycle.IncidentError as exc:
        async with d.sessions() as s:
            channel = (await lifecycle.get_incident(s, incident_id)).channel_id
        await d.incident_slack.tell(user, f"⚠️ {exc}", channel=channel)
        return
    d.wake()


async def on_status_modal(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], context: AsyncBoltContext) -> None:
    await submit_small_modal(change_status, ack, body, view, context)


async def on_severity_modal(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any],
                            context: AsyncBoltContext) -> None:
    await submit_small_modal(change_severity, ack, body, view, context)


async def on_role_modal(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], context: AsyncBoltContext) -> None:
    await submit_small_modal(change_role, ack, body, view, context)


async def on_resolve_modal(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any],
                           context: AsyncBoltContext) -> None:
    await submit_small_modal(change_resolved, ack, body, view, context)


# --- checklist ticks -----------------------------------------------------------------------------


async def on_checklist(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, context: AsyncBoltContext) -> None:
    """A playbook checklist box ticked or unticked."""
    await ack()
    if (click := await read(BlockActions, body, "checklist tick", respond)) is None:
        return
    d = deps(context)
    action = body["actions"][0]
    item_id = str(action["action_id"]).split(":", 1)[1]
    _, _, rest = str(action.get("block_id", "")).partition(":")  # checklist:<incident id>:<item id>
    incident_id = record_id(rest.split(":", 1)[0])
    done = bool(action.get("selected_options"))
    user = click.user.id

    async def change(s: AsyncSession, now: datetime) -> None:
        if incident_id is None:
            raise lifecycle.IncidentNotFound("That checklist does not name an incident.")
        incident = await lifecycle.get_incident(s, incident_id)
        item = d.kit.checklist_item(incident.playbook, item_id)
        if item is None:
            raise lifecycle.IncidentError("That step is no longer in the playbook; the file has changed.")
        await lifecycle.tick_checklist(s, incident_id=incident.id, item=item, done=done, actor=user, now=now)

    await act(d, respond, change)
