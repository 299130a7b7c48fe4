"""The ``/incident`` subcommands, one :data:`~bot.slack.commands.SubcommandHandler` each.

Each parses its words into typed values, calls one domain function in a short transaction, wakes
the senders and returns what the caller alone should see. What everyone should see (the severity
change, the status update) is posted into the channel by the outbox handlers, so it survives a
crash between the change and the post.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import transaction
from bot.incidents import lifecycle
from bot.incidents.key_times import first_acknowledgement
from bot.incidents.kit import INCIDENT_KIT, IncidentKit
from bot.incidents.models import Incident
from bot.incidents.policy import ROLES, UnknownSeverity, parse_role, parse_status
from bot.incidents.timeline import timeline_rows
from bot.services import Services
from bot.slack.blocks.common import clip, escape
from bot.slack.blocks.incident_lists import help_blocks, list_blocks, timeline_blocks
from bot.slack.blocks.incident_modals import DeclareContext, DeclareDefaults, declare_modal
from bot.slack.client import teller
from bot.slack.commands import Reply, SlashContext, SubcommandHandler
from bot.slack.incident_people import looks_like_person, resolve_user

RECENT = timedelta(days=7)


def refuse(message: str) -> Reply:
    return Reply(text=f"⚠️ {message}")


def kit_of(svc: Services) -> IncidentKit:
    kit: IncidentKit = svc.extras[INCIDENT_KIT]
    return kit


class IncidentCommands:
    def __init__(self, svc: Services) -> None:
        self.svc = svc
        self.kit = kit_of(svc)

    def table(self) -> dict[str, SubcommandHandler]:
        return {
            "declare": self.declare, "sev": self.sev, "severity": self.sev, "status": self.status,
            "update": self.status, "role": self.role, "note": self.note, "action": self.action,
            "timeline": self.timeline, "resolve": self.resolve, "postmortem": self.postmortem,
            "list": self.list, "help": self.help,
        }

    async def _here(self, ctx: SlashContext, what: str) -> Incident:
        async with self.svc.sessions() as s:
            incident = await lifecycle.incident_for_channel(s, ctx.channel_id)
        if incident is None:
            raise lifecycle.IncidentError(
                f"`/incident {what}` works in an incident channel, and this is not one. Run it in the channel "
                "of the incident (see `/incident list`), or declare one with `/incident declare <title>`.")
        return incident

    async def _apply(self, change: Callable[[AsyncSession, datetime], Awaitable[object]]) -> None:
        """One domain change in one short transaction, then wake the senders to show it."""
        async with transaction(self.svc.sessions) as s:
            await change(s, self.svc.clock.now())
        self.svc.wake()

    # --- anywhere ------------------------------------------------------------------------------

    async def declare(self, svc: Services, ctx: SlashContext) -> Reply | None:
        if not ctx.trigger_id:
            return refuse("Slack sent no trigger to open the form with; try `/incident declare` again.")
        defaults = DeclareDefaults(commander=ctx.user_id, title=ctx.text)
        view = declare_modal(defaults, DeclareContext(origin_channel=ctx.channel_id), self.kit.policy.severities,
                             [t.name for t in svc.config.teams])
        await svc.slack.open_modal(ctx.trigger_id, view, tell=teller(ctx.respond))
        return None

    async def list(self, svc: Services, ctx: SlashContext) -> Reply:
        now = svc.clock.now()
        async with svc.sessions() as s:
            open_ones = await lifecycle.open_incidents(s)
            recent = await lifecycle.resolved_since(s, now - RECENT)
        return Reply(text="Incidents", blocks=list_blocks(open_ones, recent, self.kit.policy.zone, now))

    async def help(self, svc: Services, ctx: SlashContext) -> Reply:
        return Reply(text="/incident help", blocks=help_blocks())

    # --- in an incident channel ----------------------------------------------------------------

    async def sev(self, svc: Services, ctx: SlashContext) -> Reply | None:
        numbers = "|".join(n.removeprefix("SEV") for n in self.kit.policy.severity_names)
        if not ctx.text:
            return refuse(f"Which severity? `/incident sev {numbers}`.")
        try:
            severity = self.kit.policy.severity(ctx.text)
        except UnknownSeverity as exc:
            return refuse(str(exc))
        incident = await self._here(ctx, "sev")
        await self._apply(lambda s, now: lifecycle.change_severity(
            s, policy=self.kit.policy, incident_id=incident.id, severity=severity, actor=ctx.user_id, now=now))
        return None

    async def status(self, svc: Services, ctx: SlashContext) -> Reply | None:
        status, text = parse_status(ctx.text)
        if not text:
            return refuse("Say what is happening: "
                          "`/incident status [investigating|identified|monitoring] <text>`.")
        incident = await self._here(ctx, "status")
        await self._apply(lambda s, now: lifecycle.post_status(
            s, incident_id=incident.id, text=text, status=status, actor=ctx.user_id, now=now))
        return None

    async def role(self, svc: Services, ctx: SlashContext) -> Reply | None:
        usage = f"`/incident role {'|'.join(ROLES)} @person`"
        words = ctx.text.split()
        role = parse_role(words[0]) if words else None
        if len(words) != 2 or role is None or not looks_like_person(words[1]):
            return refuse(f"Say which role and who: {usage}.")
        incident = await self._here(ctx, "role")
        person = await resolve_user(svc.slack, words[1], svc.config)
        if person is None:
            return refuse(f"I cannot tell who {escape(words[1])} is; pick the person from Slack's "
                          "@-autocomplete.")
        await self._apply(lambda s, now: lifecycle.assign_role(
            s, incident_id=incident.id, role=role, person=person, actor=ctx.user_id, now=now))
        return None

    async def note(self, svc: Services, ctx: SlashContext) -> Reply | None:
        if not ctx.text:
            return refuse("Say what to note: `/incident note <what happened or what you found>`.")
        incident = await self._here(ctx, "note")
        await self._apply(lambda s, now: lifecycle.add_note(
            s, incident_id=incident.id, text=ctx.text, actor=ctx.user_id, now=now))
        return None

    async def action(self, svc: Services, ctx: SlashContext) -> Reply | None:
        words = ctx.text.split()
        owner = None
        if len(words) > 1 and looks_like_person(words[-1]):
            owner = await resolve_user(svc.slack, words[-1], svc.config)
            if owner is None:
                return refuse(f"I cannot tell who {escape(words[-1])} is; pick the owner from Slack's "
                              "@-autocomplete.")
            words.pop()
        if not words:
            return refuse("Say what needs doing: `/incident action <follow-up> [@owner]`.")
        incident = await self._here(ctx, "action")
        await self._apply(lambda s, now: lifecycle.add_action(
            s, incident_id=incident.id, text=" ".join(words), owner=owner, actor=ctx.user_id, now=now))
        return None

    async def timeline(self, svc: Services, ctx: SlashContext) -> Reply:
        incident = await self._here(ctx, "timeline")
        async with svc.sessions() as s:
            rows = await timeline_rows(s, incident, person=lambda u: f"<@{u}>",
                                       quote=lambda t: clip(escape(t), 500))
        return Reply(text=f"Timeline of incident #{incident.id}", blocks=timeline_blocks(incident, rows,
                                                                                        self.kit.policy.zone))

    async def resolve(self, svc: Services, ctx: SlashContext) -> Reply | None:
        incident = await self._here(ctx, "resolve")
        async with transaction(svc.sessions) as s:
            acked = await first_acknowledgement(s, incident.id)
            await lifecycle.resolve(s, policy=self.kit.policy, incident_id=incident.id, summary=ctx.text,
                                    actor=ctx.user_id, now=svc.clock.now(), acknowledged_at=acked)
        svc.wake()
        return None

    async def postmortem(self, svc: Services, ctx: SlashContext) -> Reply:
        incident = await self._here(ctx, "postmortem")
        now = svc.clock.now()
        async with transaction(svc.sessions) as s:
            await lifecycle.request_postmortem(s, incident_id=incident.id, now=now, requested_by=ctx.user_id,
                                               reason=f"asked:{ctx.user_id}:{now.isoformat()}")
        svc.wake()
        return Reply(text=f"📝 Rendering the post-mortem draft of incident #{incident.id}; it will appear here.")
