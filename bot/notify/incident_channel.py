"""Setting up a declared incident in Slack (outbox kind ``incident_setup``).

Creates the channel (``-2``, ``-3``… on ``name_taken``), invites the reporter, the commander and
the affected team's on-call, posts and pins the header, links the alerts, posts the playbook
checklist, bookmarks runbooks and dashboards, announces the incident in ``incidents_channel`` and
tells the declarer how it went.

Each step is recorded on the incident when it is done, so a retry after a crash or a Slack outage
resumes where it stopped instead of posting twice; a post cut short within a step (Slack took it,
the bot never heard back) is found by its metadata (:mod:`bot.notify.once`, one part per post). Only the channel itself is essential: a failed
invite, pin or bookmark is reported to the declarer and the rest goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import select
from sqlalchemy.orm.attributes import flag_modified

from bot.alerts.models import Alert
from bot.db import transaction
from bot.incidents.entries import Declared, EntryKind
from bot.incidents.kit import IncidentKit
from bot.incidents.lifecycle import checklist_state, roles_of
from bot.incidents.models import Incident, TimelineEntry
from bot.incidents.naming import channel_name
from bot.incidents.timeline import linked_groups
from bot.notify.incident_slack_posts import IncidentSlackPosts
from bot.notify.once import RowPosts
from bot.oncall.who import on_call
from bot.outbox import IncidentRef, OutboxMessage
from bot.services import Services
from bot.slack.blocks.common import clip, escape
from bot.slack.blocks.incidents import (
    IncidentCard,
    announcement_blocks,
    announcement_text,
    checklist_messages,
    header_blocks,
    header_text,
)
from bot.slack.errors import AlreadyInChannel, SlackError

log = logging.getLogger(__name__)

MAX_NAME_ATTEMPTS = 20
MAX_BOOKMARKS = 6
SETUP_STEPS = ("channel", "invites", "header", "alerts", "checklist", "bookmarks", "announce", "told")


class IncidentSetup:
    def __init__(self, svc: Services, kit: IncidentKit, slack: IncidentSlackPosts) -> None:
        self.svc = svc
        self.kit = kit
        self.slack = slack

    async def _load(self, incident_id: int) -> Incident:
        async with self.svc.sessions() as s:
            return await s.get_one(Incident, incident_id)

    async def _save(self, incident_id: int, step: str, problems: list[str] | None = None,
                    **values: object) -> Incident:
        """Mark ``step`` done with the values it produced, in its own short transaction."""
        async with transaction(self.svc.sessions) as s:
            incident = await s.get_one(Incident, incident_id)
            for key, value in values.items():
                setattr(incident, key, value)
            state = dict(incident.slack_state)
            state["done"] = [*state.get("done", []), step]
            state["problems"] = [*state.get("problems", []), *(problems or [])]
            incident.slack_state = state
            flag_modified(incident, "slack_state")
            return incident

    async def __call__(self, item: OutboxMessage) -> dict[str, object]:
        incident = await self._load(IncidentRef.of(item).incident_id)
        posts = self.slack.posts(item)  # each post is stamped with its step, so a retry finds it
        steps: dict[str, Callable[[Incident], Awaitable[Incident | None]]] = {
            "channel": self._channel, "invites": self._invites, "header": lambda i: self._header(i, posts),
            "alerts": lambda i: self._alerts(i, posts), "checklist": lambda i: self._checklist(i, posts),
            "bookmarks": self._bookmarks, "announce": lambda i: self._announce(i, posts), "told": self._tell,
        }
        for step in SETUP_STEPS:
            if step in incident.slack_state.get("done", []):
                continue
            updated = await steps[step](incident)
            if updated is None:  # the channel could not be made: nothing else can happen
                return {"failed": step}
            incident = updated
        self.svc.wake()
        return {"channel": incident.channel_id}

    # --- steps ---------------------------------------------------------------------------------

    async def _channel(self, incident: Incident) -> Incident | None:
        policy = self.kit.policy
        last_error = ""
        for attempt in range(1, MAX_NAME_ATTEMPTS + 1):
            name = channel_name(policy.channel_prefix, incident.title, incident.declared_at, policy.zone,
                                attempt=attempt)
            try:
                resp = await self.slack.client.conversations_create(name=name, is_private=False)
            except SlackError as exc:
                if exc.transient:
                    raise
                last_error = exc.code
                if exc.code == "name_taken":
                    continue
                break
            channel = resp["channel"]
            return await self._save(incident.id, "channel", channel_id=channel["id"],
                                    channel_name=channel.get("name", name))
        log.error("could not create a channel for incident %s: %s", incident.id, last_error)
        await self.slack.tell(incident.reporter, f"⚠️ Incident #{incident.id} is recorded, but Slack would not "
                              f"create its channel `{incident.channel_name}` ({last_error}). Ask a workspace admin "
                              "whether the app may create channels (scope channels:manage).",
                              channel=incident.origin_channel_id)
        return None

    async def _invites(self, incident: Incident) -> Incident:
        assert incident.channel_id is not None
        people = [incident.reporter, incident.commander]
        if incident.team:
            async with self.svc.sessions() as s:
                now_on_call = await on_call(s, self.svc.schedules, incident.team, self.svc.clock.now())
            if now_on_call.primary is not None:
                people.append(now_on_call.primary.person)
        problems = []
        for person in dict.fromkeys(people):  # one call each: one refusal must not stop the others
            try:
                await self.slack.client.conversations_invite(channel=incident.channel_id, users=person)
            except AlreadyInChannel:
                continue
            except SlackError as exc:
                if exc.transient:
                    raise
                problems.append(f"could not invite <@{person}> ({exc.code})")
        return await self._save(incident.id, "invites", problems)

    async def _card(self, incident: Incident) -> IncidentCard:
        async with self.svc.sessions() as s:
            roles = await roles_of(s, incident.id)
        severity = self.kit.policy.severities.get(incident.severity)
        playbook = self.kit.playbook(incident.playbook)
        return IncidentCard(incident=incident, zone=self.kit.policy.zone, roles=roles,
                            severity_description=severity.description if severity else "",
                            playbook_name=playbook.name if playbook else None)

    async def _header(self, incident: Incident, posts: RowPosts) -> Incident:
        assert incident.channel_id is not None
        blocks = [b.to_dict() for b in header_blocks(await self._card(incident))]
        header = await self.slack.post(posts, incident.channel_id, text=header_text(incident), blocks=blocks,
                                       what="incident_header", part="header")
        problems = []
        try:
            await self.slack.client.pins_add(channel=incident.channel_id, timestamp=header.ts)
        except SlackError as exc:
            if exc.code != "already_pinned":
                problems.append(f"could not pin the header ({exc.code})")
        return await self._save(incident.id, "header", problems, header_ts=header.ts)

    async def _alerts(self, incident: Incident, posts: RowPosts) -> Incident:
        assert incident.channel_id is not None
        async with self.svc.sessions() as s:
            groups = await linked_groups(s, incident.id)
        links: dict[str, str] = {}
        lines = []
        for group in groups:
            link = (await self.slack.permalink(group.slack_channel_id, group.slack_ts)
                    if group.slack_channel_id and group.slack_ts else None)
            if link:
                links[str(group.id)] = link
            title = f"<{link}|{escape(group.title)}>" if link else escape(group.title)
            lines.append(f"• {title} — {group.severity}, {group.status}")
            if group.slack_channel_id and group.slack_ts:
                try:
                    note = f"🚨 Incident #{incident.id} declared for this alert: <#{incident.channel_id}>"
                    await self.slack.post(posts, group.slack_channel_id, thread_ts=group.slack_ts, text=note,
                                          what="incident_link", part=f"link:{group.id}")
                except SlackError as exc:
                    log.info("could not note incident %s in alert %s's thread: %s", incident.id, group.id,
                             exc.code)
        source = await self._declared_from(incident)
        if source:
            lines.append(source)
        if lines:
            heading = "🔗 *Linked alerts*" if groups else "📎 *Declared from*"
            await self.slack.post(posts, incident.channel_id, text=clip("\n".join([heading, *lines]), 3000),
                                  what="incident_alerts", part="alerts")
        state = {**incident.slack_state, "alert_links": links}
        return await self._save(incident.id, "alerts", slack_state=state)

    async def _declared_from(self, incident: Incident) -> str | None:
        async with self.svc.sessions() as s:
            entry = await s.scalar(select(TimelineEntry).where(TimelineEntry.incident_id == incident.id,
                                                               TimelineEntry.kind == EntryKind.DECLARED))
        detail = entry.details() if entry else None
        message = detail.from_message if isinstance(detail, Declared) else None
        if not entry or not message:
            return None
        author = f" from <@{message.author}>" if message.author else ""
        where = f"<{entry.permalink}|a message>" if entry.permalink else "a message"
        return f"📎 Declared from {where}{author}."

    async def _checklist(self, incident: Incident, posts: RowPosts) -> Incident:
        assert incident.channel_id is not None
        playbook = self.kit.playbook(incident.playbook)
        posted: dict[str, str] = {}
        if playbook is not None:
            async with self.svc.sessions() as s:
                ticks = await checklist_state(s, incident.id)
            for group, blocks in checklist_messages(playbook, incident.id, ticks, self.kit.policy.zone).items():
                message = await self.slack.post(posts, incident.channel_id, what="incident_checklist",
                                                text=f"Playbook: {playbook.name} — {group}",
                                                blocks=[b.to_dict() for b in blocks], part=f"checklist:{group}")
                posted[group] = message.ts
        state = {**incident.slack_state, "checklist": posted}
        return await self._save(incident.id, "checklist", slack_state=state)

    async def _bookmarks(self, incident: Incident) -> Incident:
        assert incident.channel_id is not None
        wanted: dict[str, str] = {}
        async with self.svc.sessions() as s:
            group_ids = [g.id for g in await linked_groups(s, incident.id)]
            alerts = list(await s.scalars(select(Alert).where(Alert.group_id.in_(group_ids)).order_by(Alert.id)))
        for alert in alerts:
            for title, url in (("📖 Runbook", alert.runbook_url), ("📊 Dashboard", alert.dashboard_url),
                               ("🔎 Source", alert.source_url)):
                if url and url.startswith(("http://", "https://")) and url not in wanted.values():
                    wanted.setdefault(title, url)
        playbook = self.kit.playbook(incident.playbook)
        for link in playbook.links if playbook else []:
            wanted.setdefault(f"📋 {link.text}", link.url)
        problems = []
        for title, url in list(wanted.items())[:MAX_BOOKMARKS]:
            try:
                await self.slack.client.bookmarks_add(channel_id=incident.channel_id, title=clip(title, 80),
                                      type="link", link=url)
            except SlackError as exc:
                if exc.transient:
                    raise
                problems.append(f"could not bookmark {title} ({exc.code})")
                break  # the same refusal (scope, limits) would repeat for every link
        return await self._save(incident.id, "bookmarks", problems)

    async def _announce(self, incident: Incident, posts: RowPosts) -> Incident:
        channel = self.svc.config.slack.incidents_channel
        blocks = [b.to_dict() for b in announcement_blocks(incident, self.kit.policy.zone)]
        try:
            announced = await self.slack.post(posts, channel, text=announcement_text(incident), blocks=blocks,
                                              what="incident_announcement", part="announce")
        except SlackError as exc:
            if exc.transient:
                raise
            problem = f"could not announce it in #{channel} ({exc.code})"
            return await self._save(incident.id, "announce", [problem])
        return await self._save(incident.id, "announce", announcement_channel_id=announced.channel,
                                announcement_ts=announced.ts)

    async def _tell(self, incident: Incident) -> Incident:
        problems = incident.slack_state.get("problems", [])
        text = f"🚨 Incident #{incident.id} is declared: <#{incident.channel_id}>."
        if problems:
            text += "\n⚠️ Not everything worked:\n" + "\n".join(f"• {p}" for p in problems)
        await self.slack.tell(incident.reporter, text, channel=incident.origin_channel_id or incident.channel_id)
        return await self._save(incident.id, "told")
