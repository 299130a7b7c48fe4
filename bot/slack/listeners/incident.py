"""`/incident`: ack at once, pick the subcommand by its first word, answer the caller ephemerally.

:data:`SUBCOMMANDS` is every `/incident` subcommand, each a
:data:`~bot.slack.commands.SubcommandHandler` in this module. Each parses its words into typed
values, calls one domain function in a short transaction, wakes the senders and returns what the
caller alone should see. What everyone should see (the severity change, the status update) is
posted into the channel by the outbox handlers, so it survives a crash between the change and the
post. Refusals from the domain (:class:`~bot.incidents.lifecycle.IncidentError`) are shown as they
are written; anything unexpected is logged with its traceback and the caller gets an apology,
never a stack trace.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncBoltContext, AsyncRespond
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import transaction
from bot.incidents import lifecycle
from bot.incidents.key_times import first_acknowledgement
from bot.incidents.models import Incident
from bot.incidents.policy import ROLES, UnknownSeverity, parse_public, parse_role, parse_status
from bot.incidents.timeline import timeline_rows
from bot.slack.blocks.common import clip, escape
from bot.slack.blocks.incident_lists import help_blocks, list_blocks, timeline_blocks
from bot.slack.blocks.incident_modals import DeclareContext, DeclareDefaults, declare_modal
from bot.slack.client import teller
from bot.slack.commands import Reply, SlashContext, SubcommandHandler, refuse, reply_args
from bot.slack.deps import SlackDeps, deps
from bot.slack.incident_people import looks_like_person, resolve_user
from bot.slack.listeners.shapes import COMMAND_NOT_UNDERSTOOD, SlashCommand, read

log = logging.getLogger(__name__)

RECENT = timedelta(days=7)


async def _here(d: SlackDeps, ctx: SlashContext, what: str) -> Incident:
    async with d.sessions() as s:
        incident = await lifecycle.incident_for_channel(s, ctx.channel_id)
    if incident is None:
        raise lifecycle.IncidentError(
            f"`/incident {what}` works in an incident channel, and this is not one. Run it in the channel "
            "of the incident (see `/incident list`), or declare one with `/incident declare <title>`.")
    return incident


async def _apply(d: SlackDeps, change: Callable[[AsyncSession, datetime], Awaitable[object]]) -> None:
    """One domain change in one short transaction, then wake the senders to show it."""
    async with transaction(d.sessions) as s:
        await change(s, d.clock.now())
    d.wake()


# --- anywhere ------------------------------------------------------------------------------


async def declare(d: SlackDeps, ctx: SlashContext) -> Reply | None:
    if not ctx.trigger_id:
        return refuse("Slack sent no trigger to open the form with; try `/incident declare` again.")
    defaults = DeclareDefaults(commander=ctx.user_id, title=ctx.text)
    view = declare_modal(defaults, DeclareContext(origin_channel=ctx.channel_id), d.kit.policy.severities,
                         d.teams)
    await d.slack.open_modal(ctx.trigger_id, view, tell=teller(ctx.respond))
    return None


async def list_(d: SlackDeps, ctx: SlashContext) -> Reply:
    now = d.clock.now()
    async with d.sessions() as s:
        open_ones = await lifecycle.open_incidents(s)
        recent = await lifecycle.resolved_since(s, now - RECENT)
    return Reply(text="Incidents", blocks=list_blocks(open_ones, recent, d.kit.policy.zone, now))


async def help_(d: SlackDeps, ctx: SlashContext) -> Reply:
    return Reply(text="/incident help", blocks=help_blocks())


# --- in an incident channel ----------------------------------------------------------------


async def sev(d: SlackDeps, ctx: SlashContext) -> Reply | None:
    numbers = "|".join(n.removeprefix("SEV") for n in d.kit.policy.severity_names)
    if not ctx.text:
        return refuse(f"Which severity? `/incident sev {numbers}`.")
    try:
        severity = d.kit.policy.severity(ctx.text)
    except UnknownSeverity as exc:
        return refuse(str(exc))
    incident = await _here(d, ctx, "sev")
    await _apply(d, lambda s, now: lifecycle.change_severity(
        s, policy=d.kit.policy, incident_id=incident.id, severity=severity, actor=ctx.user_id, now=now))
    return None


async def status(d: SlackDeps, ctx: SlashContext) -> Reply | None:
    public, rest = parse_public(ctx.text)
    status, text = parse_status(rest)
    if not text:
        return refuse("Say what is happening: "
                      "`/incident status [investigating|identified|monitoring] [--public] <text>`.")
    incident = await _here(d, ctx, "status")
    await _apply(d, lambda s, now: lifecycle.post_status(
        s, incident_id=incident.id, text=text, status=status, public=public, actor=ctx.user_id, now=now))
    if public and d.config.status_page is None:
        return Reply(text="🌐 The update is marked public, but no status page is configured yet "
                          "(`status_page:` in the config); it will show there once one is.")
    return None


async def role(d: SlackDeps, ctx: SlashContext) -> Reply | None:
    usage = f"`/incident role {'|'.join(ROLES)} @person`"
    words = ctx.text.split()
    role = parse_role(words[0]) if words else None
    if len(words) != 2 or role is None or not looks_like_person(words[1]):
        return refuse(f"Say which role and who: {usage}.")
    incident = await _here(d, ctx, "role")
    person = await resolve_user(d.slack, words[1], d.config)
    if person is None:
        return refuse(f"I cannot tell who {escape(words[1])} is; pick the person from Slack's "
                      "@-autocomplete.")
    await _apply(d, lambda s, now: lifecycle.assign_role(
        s, incident_id=incident.id, role=role, person=person, actor=ctx.user_id, now=now))
    return None


async def note(d: SlackDeps, ctx: SlashContext) -> Reply | None:
    if not ctx.text:
        return refuse("Say what to note: `/incident note <what happened or what you found>`.")
    incident = await _here(d, ctx, "note")
    await _apply(d, lambda s, now: lifecycle.add_note(
        s, incident_id=incident.id, text=ctx.text, actor=ctx.user_id, now=now))
    return None


async def action(d: SlackDeps, ctx: SlashContext) -> Reply | None:
    words = ctx.text.split()
    owner = None
    if len(words) > 1 and looks_like_person(words[-1]):
        owner = await resolve_user(d.slack, words[-1], d.config)
        if owner is None:
            return refuse(f"I cannot tell who {escape(words[-1])} is; pick the owner from Slack's "
                          "@-autocomplete.")
        words.pop()
    if not words:
        return refuse("Say what needs doing: `/incident action <follow-up> [@owner]`.")
    incident = await _here(d, ctx, "action")
    await _apply(d, lambda s, now: lifecycle.add_action(
        s, incident_id=incident.id, text=" ".join(words), owner=owner, actor=ctx.user_id, now=now))
    return None


async def timeline(d: SlackDeps, ctx: SlashContext) -> Reply:
    incident = await _here(d, ctx, "timeline")
    async with d.sessions() as s:
        rows = await timeline_rows(s, incident, person=lambda u: f"<@{u}>",
                                   quote=lambda t: clip(escape(t), 500))
    return Reply(text=f"Timeline of incident #{incident.id}", blocks=timeline_blocks(incident, rows,
                                                                                    d.kit.policy.zone))


async def resolve(d: SlackDeps, ctx: SlashContext) -> Reply | None:
    incident = await _here(d, ctx, "resolve")
    async with transaction(d.sessions) as s:
        acked = await first_acknowledgement(s, incident.id)
        await lifecycle.resolve(s, policy=d.kit.policy, incident_id=incident.id, summary=ctx.text,
                                actor=ctx.user_id, now=d.clock.now(), acknowledged_at=acked)
    d.wake()
    return None


async def postmortem(d: SlackDeps, ctx: SlashContext) -> Reply:
    incident = await _here(d, ctx, "postmortem")
    now = d.clock.now()
    async with transaction(d.sessions) as s:
        await lifecycle.request_postmortem(s, incident_id=incident.id, now=now, requested_by=ctx.user_id,
                                           reason=f"asked:{ctx.user_id}:{now.isoformat()}")
    d.wake()
    return Reply(text=f"📝 Rendering the post-mortem draft of incident #{incident.id}; it will appear here.")


SUBCOMMANDS: dict[str, SubcommandHandler] = {
    "declare": declare, "list": list_, "help": help_,
    "sev": sev, "severity": sev, "status": status, "update": status, "role": role, "note": note,
    "action": action, "timeline": timeline, "resolve": resolve, "postmortem": postmortem,
}


async def on_incident(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond,
                      context: AsyncBoltContext) -> None:
    await ack()
    if (cmd := await read(SlashCommand, command, "/incident command", respond, COMMAND_NOT_UNDERSTOOD)) is None:
        return
    text = cmd.text.strip()
    word, _, rest = text.partition(" ")
    handler = SUBCOMMANDS.get(word.lower()) if word else help_
    if handler is None:
        lead = f"⚠️ `/incident {clip(escape(word), 40)}` is not a subcommand I know; nothing was changed."
        await respond(**reply_args(Reply(text=lead, blocks=help_blocks(lead))))
        return
    ctx = SlashContext(user_id=cmd.user_id, channel_id=cmd.channel_id, text=rest.strip(), respond=respond,
                       trigger_id=cmd.trigger_id)
    try:
        reply = await handler(deps(context), ctx)
    except lifecycle.IncidentError as exc:
        reply = Reply(text=f"⚠️ {exc}")
    except Exception:  # the person gets an answer, the log gets the traceback
        log.exception("/incident %s failed", word.lower())
        reply = Reply(text="⚠️ Sorry, `/incident` failed on our side and the error was logged. "
                           "Please try again in a moment.")
    if reply is not None:
        await respond(**reply_args(reply))
