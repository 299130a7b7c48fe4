"""What incident changes show in Slack, sent from the outbox.

- ``incident_entry``: the channel post for a timeline entry (severity, role, status, note,
  follow-up, resolution), the refreshed pinned header, the announcement thread's mirror of it,
  and for checklist ticks the re-drawn checklist message.
- ``incident_postmortem``: render the post-mortem draft from the database and upload it.
- ``incident_nudge`` / ``incident_postmortem_reminder``: the reminders (see
  :mod:`bot.incidents.reminders` for why they can neither be lost nor sent twice).

Entries wait (:class:`~bot.notify.dispatch.Deferred`) until the channel set-up has posted the
header, so a severity change made seconds after declaring still lands in the channel.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import select

from bot.db import transaction
from bot.durations import format_config_duration
from bot.incidents.entries import ChecklistTicked, EntryKind, RoleAssigned
from bot.incidents.key_times import key_times, people_mentioned, postmortem_context
from bot.incidents.kit import IncidentKit
from bot.incidents.lifecycle import POSTMORTEM_OUTBOX_KIND, SETUP_OUTBOX_KIND, checklist_state, roles_of
from bot.incidents.models import Incident, TimelineEntry
from bot.incidents.postmortem import PostmortemTemplateError, render_postmortem
from bot.incidents.reminders import (
    NUDGE_KIND,
    POSTMORTEM_REMINDER_KIND,
    decide_nudge,
    nudge_sent,
    postmortem_reminder_wanted,
    schedule_nudge,
)
from bot.incidents.timeline import ENTRY_OUTBOX_KIND
from bot.notify.dispatch import Deferred, Dispatcher
from bot.notify.incident_channel import IncidentSetup
from bot.notify.incident_slack_posts import IncidentSlackPosts
from bot.notify.once import PostContent, RowPosts
from bot.outbox import IncidentEntryPost, IncidentRef, OutboxMessage, PostmortemDraft
from bot.services import Services
from bot.slack.blocks.incidents import (
    IncidentCard,
    announcement_blocks,
    announcement_text,
    checklist_messages,
    entry_post,
    header_blocks,
    header_text,
    mirror_text,
    nudge_text,
    postmortem_reminder_blocks,
)
from bot.slack.client import SlackClient
from bot.slack.errors import AlreadyInChannel, SlackError

log = logging.getLogger(__name__)

HEADER_KINDS = frozenset({EntryKind.SEVERITY, EntryKind.ROLE, EntryKind.STATUS, EntryKind.RESOLVED,
                          EntryKind.POSTMORTEM_DONE})
ANNOUNCEMENT_KINDS = frozenset({EntryKind.SEVERITY, EntryKind.STATUS, EntryKind.RESOLVED, EntryKind.ROLE})


class IncidentPosts:
    def __init__(self, svc: Services, kit: IncidentKit, slack: IncidentSlackPosts) -> None:
        self.svc = svc
        self.kit = kit
        self.slack = slack

    async def _ready(self, incident_id: int) -> Incident | None:
        """The incident once its channel and header exist; None if they never will (the set-up gave
        up), so nothing waits forever; Deferred while the set-up is still under way."""
        async with self.svc.sessions() as s:
            incident = await s.get_one(Incident, incident_id)
            if incident.channel_id and "header" in incident.slack_state.get("done", []):
                return incident
            setup = await s.scalar(select(OutboxMessage).where(OutboxMessage.key == f"incident-setup:{incident_id}"))
        if setup is None or setup.failed_at is not None or setup.sent_at is not None:
            return None
        raise Deferred()

    # --- the header and the announcement, redrawn from the database ----------------------------

    async def refresh_header(self, incident: Incident) -> None:
        if not incident.channel_id or not incident.header_ts:
            return
        async with self.svc.sessions() as s:
            roles = await roles_of(s, incident.id)
        severity = self.kit.policy.severities.get(incident.severity)
        playbook = self.kit.playbook(incident.playbook)
        card = IncidentCard(incident=incident, zone=self.kit.policy.zone, roles=roles,
                            severity_description=severity.description if severity else "",
                            playbook_name=playbook.name if playbook else None)
        try:
            await self.slack.client.chat_update(channel=incident.channel_id, ts=incident.header_ts,
                                  text=header_text(incident), blocks=[b.to_dict() for b in header_blocks(card)])
        except SlackError as exc:  # the post itself went out; a stale header is fixed by the next change
            log.warning("could not refresh the header of incident %s: %s", incident.id, exc)

    async def _mirror(self, posts: RowPosts, entry: TimelineEntry, incident: Incident) -> None:
        if not incident.announcement_channel_id or not incident.announcement_ts:
            return
        try:
            await self.slack.post(posts, incident.announcement_channel_id, thread_ts=incident.announcement_ts,
                                  text=mirror_text(entry, incident), what="incident_mirror", part="mirror")
            blocks = announcement_blocks(incident, self.kit.policy.zone)
            await self.slack.client.chat_update(channel=incident.announcement_channel_id,
                                  ts=incident.announcement_ts, text=announcement_text(incident),
                                  blocks=[b.to_dict() for b in blocks])
        except SlackError as exc:
            log.warning("could not mirror incident %s in its announcement: %s", incident.id, exc)

    # --- handlers ------------------------------------------------------------------------------

    async def entry(self, item: OutboxMessage) -> dict[str, object]:
        payload = IncidentEntryPost.of(item)
        incident = await self._ready(payload.incident_id)
        if incident is None:
            return {"skipped": "no channel"}
        async with self.svc.sessions() as s:
            entry = await s.get(TimelineEntry, payload.entry_id)
            durations = (await key_times(s, incident)).durations if entry and entry.kind == EntryKind.RESOLVED else None
        if entry is None:  # removed since (a deleted message): nothing to show
            return {"skipped": "gone"}
        assert incident.channel_id is not None
        posts = self.slack.posts(item)
        detail = entry.details()
        if isinstance(detail, ChecklistTicked):
            await self._redraw_checklist(incident, detail.group)
            return {"checklist": detail.item}
        if isinstance(detail, RoleAssigned):
            await self._invite(incident, detail.person)
        result: dict[str, object] = {}
        post = entry_post(entry, incident, durations=durations)
        if post is not None:
            content: PostContent = {"text": post.text}
            if post.blocks:
                content["blocks"] = [b.to_dict() for b in post.blocks]
            posted = await self.slack.post(posts, incident.channel_id, what=f"incident_{entry.kind}", **content)
            result["ts"] = posted.ts
        if entry.kind in HEADER_KINDS:
            await self.refresh_header(incident)
        if post is not None and post.mirror and entry.kind in ANNOUNCEMENT_KINDS:
            await self._mirror(posts, entry, incident)
        return result

    async def _invite(self, incident: Incident, person: str) -> None:
        if incident.channel_id is None:
            return
        try:
            await self.slack.client.conversations_invite(channel=incident.channel_id, users=person)
        except AlreadyInChannel:
            pass
        except SlackError as exc:
            log.info("could not invite %s to incident %s: %s", person, incident.id, exc.code)

    async def _redraw_checklist(self, incident: Incident, group: str) -> None:
        playbook = self.kit.playbook(incident.playbook)
        ts = incident.slack_state.get("checklist", {}).get(group)
        if playbook is None or not ts or not incident.channel_id:
            return
        async with self.svc.sessions() as s:
            ticks = await checklist_state(s, incident.id)
        blocks = checklist_messages(playbook, incident.id, ticks, self.kit.policy.zone).get(group)
        if blocks:
            await self.slack.client.chat_update(channel=incident.channel_id, ts=ts, text=f"Playbook: {playbook.name}"
                                  f" — {group}", blocks=[b.to_dict() for b in blocks])

    async def postmortem(self, item: OutboxMessage) -> dict[str, object]:
        incident = await self._ready(PostmortemDraft.of(item).incident_id)
        if incident is None or incident.channel_id is None:
            return {"skipped": "no channel"}
        now = self.svc.clock.now()
        async with self.svc.sessions() as s:
            names = await self._names(await people_mentioned(s, incident))
            context = await postmortem_context(s, incident, names=names, timezone=self.kit.timezone, now=now)
        try:
            document = await asyncio.to_thread(render_postmortem, context, self.kit.template)
        except PostmortemTemplateError as exc:
            log.error("post-mortem of incident %s: %s", incident.id, exc)
            await self.slack.post(self.slack.posts(item), incident.channel_id, what="incident_postmortem_error",
                                  text=f"⚠️ The post-mortem draft could not be rendered: {exc}")
            return {"error": "template"}
        state = "Draft" if incident.is_resolved else "Interim draft (the incident is still open)"
        resp = await self.slack.client.files_upload_v2(
            channel=incident.channel_id, content=document, filename=f"postmortem-{incident.channel_name}.md",
            title=f"Post-mortem draft: {incident.title}",
            initial_comment=f"📝 {state} of the post-mortem for incident #{incident.id}, written from the "
                            "timeline. Fill in root cause, five whys and lessons, then mark it done.",
        )
        files = resp.get("files") or [{}]
        return {"file": files[0].get("id"), "bytes": len(document.encode())}

    async def _names(self, ids: set[str]) -> dict[str, str]:
        """Display names for the draft: the config's people, then Slack's for everyone else."""
        names = dict(self.svc.names)
        for user in sorted(ids - set(names)):
            if not user.startswith(("U", "W")):
                continue
            try:
                resp = await self.slack.client.users_info(user=user)
            except SlackError:
                continue
            member = resp.get("user") or {}
            name = member.get("real_name") or (member.get("profile") or {}).get("real_name") or member.get("name")
            if name:
                names[user] = str(name)
        return names

    async def nudge(self, item: OutboxMessage) -> dict[str, object]:
        incident_id = IncidentRef.of(item).incident_id
        now = self.svc.clock.now()
        async with self.svc.sessions() as s:
            incident = await s.get(Incident, incident_id)
        if incident is None:
            return {"skipped": "gone"}
        every = self.kit.policy.update_every(incident.severity)
        decision = decide_nudge(incident, update_every=every, now=now)
        if not decision.send:
            if decision.later is not None:  # an update or another nudge came since: look again later
                async with transaction(self.svc.sessions) as s:
                    await schedule_nudge(s, await s.get_one(Incident, incident_id), update_every=every, now=now)
            return {"skipped": "resolved" if decision.later is None else "updated"}
        incident = await self._ready(incident_id)
        if incident is None or incident.channel_id is None:
            return {"skipped": "no channel"}
        silent_since = max(t for t in (incident.declared_at, incident.last_status_at) if t is not None)
        await self.slack.post(self.slack.posts(item), incident.channel_id, what="incident_nudge",
                              text=nudge_text(incident, silent_since, now, format_config_duration(every)))
        async with transaction(self.svc.sessions) as s:
            await nudge_sent(s, await s.get_one(Incident, incident_id), update_every=every, now=now)
        self.svc.wake()
        return {"nudged": incident.commander}

    async def postmortem_reminder(self, item: OutboxMessage) -> dict[str, object]:
        incident_id = IncidentRef.of(item).incident_id
        async with self.svc.sessions() as s:
            incident = await s.get(Incident, incident_id)
        if not postmortem_reminder_wanted(incident):
            return {"skipped": "done"}
        incident = await self._ready(incident_id)
        if incident is None or incident.channel_id is None:
            return {"skipped": "no channel"}
        text, blocks = postmortem_reminder_blocks(incident)
        await self.slack.post(self.slack.posts(item), incident.channel_id, text=text,
                              blocks=[b.to_dict() for b in blocks], what="incident_postmortem_reminder")
        return {"reminded": incident.commander}


def register_incident_handlers(svc: Services, dispatcher: Dispatcher, client: SlackClient) -> None:
    """Wire the incident outbox kinds into the dispatcher (called by the composition root)."""
    slack = IncidentSlackPosts(client, svc.metrics, dispatcher.once)
    posts = IncidentPosts(svc, svc.kit, slack)
    handlers = dispatcher.handlers
    handlers[SETUP_OUTBOX_KIND] = IncidentSetup(svc, svc.kit, slack)
    handlers[ENTRY_OUTBOX_KIND] = posts.entry
    handlers[POSTMORTEM_OUTBOX_KIND] = posts.postmortem
    handlers[NUDGE_KIND] = posts.nudge
    handlers[POSTMORTEM_REMINDER_KIND] = posts.postmortem_reminder
