"""Incident clicks and forms: the declare modal (from ``/incident declare``, an alert's **Declare
incident** button or the message shortcut), the header's buttons and their small modals, playbook
checklist ticks, and **Mark post-mortem done**.

Form input that can be checked without the database is checked before the ack, so Slack shows the
problem next to the field; everything else runs after the ack and reports back ephemerally.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.models.views import View
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.alerts.models import Alert, AlertGroup
from bot.db import transaction
from bot.incidents import lifecycle
from bot.incidents.models import Incident
from bot.incidents.policy import UnknownSeverity, parse_role
from bot.incidents.report import first_acknowledgement
from bot.notify.incident_slack import IncidentSlack
from bot.services import Services
from bot.slack.blocks.common import clip
from bot.slack.blocks.incident_modals import (
    DeclareContext,
    DeclareDefaults,
    declare_modal,
    resolve_modal,
    role_modal,
    severity_modal,
    status_modal,
    submitted,
)
from bot.slack.ids import METADATA_EVENT, AlertAction, Callback, IncidentAction, IncidentField, IncidentModal
from bot.slack.incident_commands import kit_of

if TYPE_CHECKING:
    from bot.slack.app import Listeners

log = logging.getLogger(__name__)

Values = dict[str, Any]  # view.state.values
Change = Callable[[AsyncSession, int, str, datetime, Values], Awaitable[object]]


def _int(value: object) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


def register(app: Listeners, svc: Services) -> None:
    kit = kit_of(svc)
    slack = IncidentSlack(svc.slack, svc.metrics)
    teams = [t.name for t in svc.config.teams]

    async def open_view(body: dict[str, Any], view: View, respond: AsyncRespond) -> None:
        try:
            await svc.slack.views_open(trigger_id=body["trigger_id"], view=view)
        except SlackApiError as exc:  # e.g. expired_trigger_id when Slack was slow to deliver the click
            log.warning("could not open %s: %s", view.callback_id, exc.response.get("error"))
            await respond(text=f"⚠️ Slack would not open the form ({exc.response.get('error')}); please try again.",
                          response_type="ephemeral", replace_original=False)

    async def open_declare(body: dict[str, Any], defaults: DeclareDefaults, context: DeclareContext,
                           respond: AsyncRespond) -> None:
        await open_view(body, declare_modal(defaults, context, kit.policy.severities, teams), respond)

    async def defaults_from_alert(group_id: int, user: str) -> DeclareDefaults | None:
        async with svc.sessions() as s:
            group = await s.get(AlertGroup, group_id)
            lead = await s.scalar(select(Alert).where(Alert.group_id == group_id).order_by(Alert.id).limit(1))
        if group is None:
            return None
        return DeclareDefaults(commander=user, title=group.title, team=group.team,
                               severity=kit.policy.suggested_severity(group.severity),
                               summary=lead.description if lead else "",
                               service=(lead.service if lead else "") or "")

    async def act(respond: AsyncRespond, change: Callable[[AsyncSession, datetime], Awaitable[None]]) -> None:
        """A click's domain change in one transaction; a refusal goes back to the clicker alone."""
        try:
            async with transaction(svc.sessions) as s:
                await change(s, svc.clock.now())
        except lifecycle.IncidentError as exc:
            await respond(text=f"⚠️ {exc}", response_type="ephemeral", replace_original=False)
            return
        svc.wake()

    # --- opening the declare modal -------------------------------------------------------------

    async def on_alert_declare(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        user = body["user"]["id"]
        group_id = _int(body["actions"][0].get("value"))
        defaults = await defaults_from_alert(group_id, user) if group_id is not None else None
        if group_id is None or defaults is None:
            await respond(text="That button does not name an alert; it may come from an old message.",
                          response_type="ephemeral", replace_original=False)
            return
        channel = (body.get("channel") or {}).get("id")
        context = DeclareContext(origin_channel=channel, group_ids=[group_id])
        await open_declare(body, defaults, context, respond)

    async def on_message_shortcut(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        user = body["user"]["id"]
        message = body.get("message") or {}
        channel = (body.get("channel") or {}).get("id")
        text = str(message.get("text") or "")
        meta = message.get("metadata") or {}
        group_id = None
        if meta.get("event_type") == METADATA_EVENT:  # an alert message: declare from its alert
            group_id = _int((meta.get("event_payload") or {}).get("group_id"))
        if group_id is None and channel and message.get("ts"):
            async with svc.sessions() as s:
                group_id = await s.scalar(select(AlertGroup.id).where(AlertGroup.slack_channel_id == channel,
                                                                      AlertGroup.slack_ts == message["ts"]))
        defaults = await defaults_from_alert(group_id, user) if group_id is not None else None
        if defaults is None:
            first_line = next((line for line in text.splitlines() if line.strip()), "")
            defaults = DeclareDefaults(commander=user, title=clip(first_line.strip(), 150), summary=text)
        source = {"channel": channel, "ts": message.get("ts"), "author": message.get("user"), "text": text}
        context = DeclareContext(origin_channel=channel, group_ids=[group_id] if group_id else [], message=source)
        await open_declare(body, defaults, context, respond)

    # --- the declare modal's submission --------------------------------------------------------

    async def on_declare(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        values = view["state"]["values"]
        user = body["user"]["id"]
        title = " ".join(str(submitted(values, IncidentField.TITLE) or "").split())
        errors: dict[str, str] = {}
        if not title:
            errors[IncidentField.TITLE] = "Give the incident a title: a few words on what is broken."
        severity = str(submitted(values, IncidentField.SEVERITY) or "")
        try:
            severity = kit.policy.severity(severity)
        except UnknownSeverity as exc:
            errors[IncidentField.SEVERITY] = clip(str(exc), 150)
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        context = DeclareContext.load(view.get("private_metadata", ""))
        source = None
        if context.message and context.message.get("channel") and context.message.get("ts"):
            m = context.message
            source = lifecycle.SourceMessage(channel=m["channel"], ts=m["ts"], author=m.get("author"),
                                             text=str(m.get("text") or ""),
                                             permalink=await slack.permalink(m["channel"], m["ts"]))
        try:
            async with transaction(svc.sessions) as s:
                await lifecycle.declare(
                    s, policy=kit.policy, title=title, severity=severity, reporter=user,
                    commander=submitted(values, IncidentField.COMMANDER) or user, now=svc.clock.now(),
                    summary=str(submitted(values, IncidentField.SUMMARY) or ""),
                    affected_service=submitted(values, IncidentField.SERVICE),
                    team=submitted(values, IncidentField.TEAM),
                    origin_channel_id=context.origin_channel, group_ids=context.group_ids, source=source,
                )
        except lifecycle.IncidentError as exc:
            await slack.tell(user, f"⚠️ {exc}", channel=context.origin_channel)
            return
        svc.wake()

    # --- header buttons and their modals -------------------------------------------------------

    async def on_modal_button(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        """Post update / Change severity / Assign role / Resolve: open the small modal."""
        await ack()
        action = body["actions"][0]
        incident_id = _int(action.get("value"))
        async with svc.sessions() as s:
            incident = await s.get(Incident, incident_id) if incident_id is not None else None
        if incident is None or incident.is_resolved:
            why = "is already resolved" if incident else "does not exist any more"
            await respond(text=f"⚠️ That incident {why}.", response_type="ephemeral", replace_original=False)
            return
        builders = {
            IncidentAction.POST_UPDATE: lambda: status_modal(incident),
            IncidentAction.CHANGE_SEVERITY: lambda: severity_modal(incident, kit.policy.severities),
            IncidentAction.ASSIGN_ROLE: lambda: role_modal(incident),
            IncidentAction.RESOLVE: lambda: resolve_modal(incident),
        }
        await open_view(body, builders[IncidentAction(action["action_id"])](), respond)

    async def on_postmortem_button(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        """Mark post-mortem done / Re-render post-mortem."""
        await ack()
        action = body["actions"][0]
        incident_id = _int(action.get("value"))
        user = body["user"]["id"]

        async def change(s: AsyncSession, now: datetime) -> None:
            if incident_id is None:
                raise lifecycle.IncidentNotFound("That button does not name an incident.")
            if action["action_id"] == IncidentAction.POSTMORTEM_DONE:
                await lifecycle.mark_postmortem_done(s, incident_id=incident_id, actor=user, now=now)
            else:
                await lifecycle.get_incident(s, incident_id)
                await lifecycle.request_postmortem(s, incident_id=incident_id, now=now, requested_by=user,
                                                   reason=f"asked:{user}:{now.isoformat()}")

        await act(respond, change)

    async def change_status(s: AsyncSession, incident_id: int, user: str, now: datetime, values: Values) -> object:
        return await lifecycle.post_status(s, incident_id=incident_id, actor=user, now=now,
                                           text=str(submitted(values, IncidentField.UPDATE)),
                                           status=submitted(values, IncidentField.STATUS))

    async def change_severity(s: AsyncSession, incident_id: int, user: str, now: datetime, values: Values) -> object:
        return await lifecycle.change_severity(s, policy=kit.policy, incident_id=incident_id, actor=user, now=now,
                                               severity=str(submitted(values, IncidentField.SEVERITY)))

    async def change_role(s: AsyncSession, incident_id: int, user: str, now: datetime, values: Values) -> object:
        role = parse_role(str(submitted(values, IncidentField.ROLE))) or "commander"
        return await lifecycle.assign_role(s, incident_id=incident_id, role=role, actor=user, now=now,
                                           person=str(submitted(values, IncidentField.PERSON)))

    async def change_resolved(s: AsyncSession, incident_id: int, user: str, now: datetime, values: Values) -> object:
        acked = await first_acknowledgement(s, incident_id)
        return await lifecycle.resolve(s, policy=kit.policy, incident_id=incident_id, actor=user, now=now,
                                       summary=submitted(values, IncidentField.SUMMARY), acknowledged_at=acked)

    def on_small_modal(change: Change) -> Callable[..., Awaitable[None]]:
        async def listener(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
            await ack()
            user = body["user"]["id"]
            incident_id = _int(view.get("private_metadata"))
            if incident_id is None:
                return
            try:
                async with transaction(svc.sessions) as s:
                    await change(s, incident_id, user, svc.clock.now(), view["state"]["values"])
            except lifecycle.IncidentError as exc:
                async with svc.sessions() as s:
                    channel = (await lifecycle.get_incident(s, incident_id)).channel_id
                await slack.tell(user, f"⚠️ {exc}", channel=channel)
                return
            svc.wake()
        return listener

    # --- checklist ticks -----------------------------------------------------------------------

    async def on_checklist(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        action = body["actions"][0]
        item_id = str(action["action_id"]).split(":", 1)[1]
        _, _, rest = str(action.get("block_id", "")).partition(":")  # checklist:<incident id>:<item id>
        incident_id = _int(rest.split(":", 1)[0])
        done = bool(action.get("selected_options"))
        user = body["user"]["id"]

        async def change(s: AsyncSession, now: datetime) -> None:
            if incident_id is None:
                raise lifecycle.IncidentNotFound("That checklist does not name an incident.")
            incident = await lifecycle.get_incident(s, incident_id)
            item = kit.checklist_item(incident.playbook, item_id)
            if item is None:
                raise lifecycle.IncidentError("That step is no longer in the playbook; the file has changed.")
            await lifecycle.tick_checklist(s, incident_id=incident.id, item=item, done=done, actor=user, now=now)

        await act(respond, change)

    app.action(AlertAction.DECLARE_INCIDENT)(on_alert_declare)
    app.shortcut(Callback.DECLARE_FROM_MESSAGE)(on_message_shortcut)
    app.view(Callback.DECLARE_MODAL)(on_declare)
    for button in (IncidentAction.POST_UPDATE, IncidentAction.CHANGE_SEVERITY, IncidentAction.ASSIGN_ROLE,
                   IncidentAction.RESOLVE):
        app.action(button)(on_modal_button)
    app.action(IncidentAction.POSTMORTEM_DONE)(on_postmortem_button)
    app.action(IncidentAction.POSTMORTEM)(on_postmortem_button)
    app.view(IncidentModal.STATUS)(on_small_modal(change_status))
    app.view(IncidentModal.SEVERITY)(on_small_modal(change_severity))
    app.view(IncidentModal.ROLE)(on_small_modal(change_role))
    app.view(IncidentModal.RESOLVE)(on_small_modal(change_resolved))
    app.action(re.compile(f"^{IncidentAction.CHECKLIST}:"))(on_checklist)
