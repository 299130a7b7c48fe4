"""What an incident looks like in Slack: the pinned header, the playbook checklist, the announcement
in ``incidents_channel``, and the posts for each change. Pure builders over stored rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import assert_never
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    Option,
    PlainTextObject,
    SectionBlock,
)

from bot.durations import format_duration
from bot.incidents.entries import (
    ActionAdded,
    AlertLinked,
    ChecklistTicked,
    Declared,
    EntryKind,
    IncidentResolved,
    Note,
    Pinned,
    PostmortemDone,
    RoleAssigned,
    SeverityChanged,
    StatusUpdate,
)
from bot.incidents.models import ChecklistTick, Incident, IncidentRole, TimelineEntry
from bot.incidents.playbooks import ChecklistItem, Playbook, StepGroup, checklist
from bot.incidents.postmortem_context import Durations
from bot.slack.blocks.common import SLACK_ID, clip, escape, slack_date
from bot.slack.ids import IncidentAction

SEVERITY_MARK = {"SEV1": "🔴", "SEV2": "🟠", "SEV3": "🟡"}
STATUS_MARK = {"investigating": "🔍", "identified": "🎯", "monitoring": "👀", "resolved": "✅"}
MAX_STEPS_PER_MESSAGE = 45


def mark(incident: Incident) -> str:
    return "✅" if incident.is_resolved else SEVERITY_MARK.get(incident.severity, "⚪")


def who(actor: str | None) -> str:
    """A Slack ID as a mention, a source's name as is, nobody as the bot."""
    if not actor:
        return "Watchstander"
    return f"<@{actor}>" if SLACK_ID.match(actor) else escape(actor)


def started(when: datetime, zone: ZoneInfo) -> str:
    return slack_date(when, "{date_short_pretty} {time}", zone)


def channel_ref(incident: Incident) -> str:
    return f"<#{incident.channel_id}>" if incident.channel_id else f"#{incident.channel_name}"


# --- the pinned header -----------------------------------------------------------------------------


@dataclass(frozen=True)
class IncidentCard:
    incident: Incident
    zone: ZoneInfo
    roles: Sequence[IncidentRole] = ()
    severity_description: str = ""
    playbook_name: str | None = None


def header_text(incident: Incident) -> str:
    return f"{incident.severity} incident #{incident.id}: {incident.title} — {incident.status.capitalize()}"


def header_blocks(card: IncidentCard) -> list[Block]:
    i = card.incident
    severity = f"{SEVERITY_MARK.get(i.severity, '⚪')} {i.severity}"
    if card.severity_description:
        severity += f" — {escape(card.severity_description)}"
    fields = [
        f"*Severity*\n{severity}",
        f"*Status*\n{STATUS_MARK.get(i.status, '')} {i.status.capitalize()}",
        f"*Commander*\n<@{i.commander}>",
        f"*Started*\n{started(i.declared_at, card.zone)}",
    ]
    for role in card.roles:
        fields.append(f"*{role.role.capitalize()}*\n<@{role.person}>")
    if i.affected_service or i.team:
        fields.append(f"*Affected*\n{escape(' / '.join(x for x in (i.affected_service, i.team) if x))}")
    if i.resolved_at:
        fields.append(f"*Resolved*\n{started(i.resolved_at, card.zone)} (after "
                      f"{format_duration(i.resolved_at - i.declared_at)})")
    blocks: list[Block] = [
        HeaderBlock(text=PlainTextObject(text=clip(f"{mark(i)} {i.severity} · {i.title}", 150), emoji=True)),
        SectionBlock(fields=[MarkdownTextObject(text=clip(f, 2000)) for f in fields[:10]]),
    ]
    if i.summary:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=clip(f"*Summary*\n{escape(i.summary)}", 3000))))
    context = f"Incident #{i.id} · declared by <@{i.reporter}>"
    if card.playbook_name:
        context += f" · playbook: {escape(card.playbook_name)}"
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=context)]))
    blocks.append(ActionsBlock(block_id=f"incident_actions:{i.id}", elements=header_buttons(i)))
    return blocks


def header_buttons(incident: Incident) -> list[ButtonElement]:
    value = str(incident.id)
    if incident.is_resolved:
        buttons = [ButtonElement(text="📝 Re-render post-mortem", action_id=IncidentAction.POSTMORTEM,
                                 value=value)]
        if incident.postmortem_done_at is None:
            buttons.insert(0, ButtonElement(text="Mark post-mortem done", value=value, style="primary",
                                            action_id=IncidentAction.POSTMORTEM_DONE))
        return buttons
    return [
        ButtonElement(text="Post update", action_id=IncidentAction.POST_UPDATE, value=value, style="primary"),
        ButtonElement(text="Change severity", action_id=IncidentAction.CHANGE_SEVERITY, value=value),
        ButtonElement(text="Assign role", action_id=IncidentAction.ASSIGN_ROLE, value=value),
        ButtonElement(text="Resolve", action_id=IncidentAction.RESOLVE, value=value, style="danger"),
    ]


# --- the playbook checklist ------------------------------------------------------------------------


def checklist_messages(playbook: Playbook, incident_id: int,
                       ticks: Mapping[str, ChecklistTick], zone: ZoneInfo) -> dict[str, list[Block]]:
    """One message per step group (investigate, mitigate, fix), keyed by group; each step has its
    own checkbox so a tick names exactly one step."""
    items = checklist(playbook)
    out: dict[str, list[Block]] = {}
    for group in StepGroup:
        steps = [i for i in items if i.group == group]
        if not steps:
            continue
        title = f"📋 *{escape(playbook.name)}* — {group.heading}"
        if group == StepGroup.INVESTIGATE or not out:
            title += f"\n{escape(playbook.summary)}"
        blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=clip(title, 3000)))]
        for item in steps[:MAX_STEPS_PER_MESSAGE]:
            blocks.append(checklist_step(item, incident_id, ticks.get(item.id), zone))
        if group == StepGroup.FIX and playbook.links:
            links = " · ".join(f"<{link.url}|{escape(link.text)}>" for link in playbook.links)
            blocks.append(ContextBlock(elements=[MarkdownTextObject(text=clip(f"🔗 {links}", 3000))]))
        out[group.value] = blocks
    return out


def checklist_step(item: ChecklistItem, incident_id: int, tick: ChecklistTick | None,
                   zone: ZoneInfo) -> SectionBlock:
    n = item.id.rsplit("-", 1)[-1]
    text = f"{n}. {escape(item.text)}"
    done = tick is not None and tick.done
    if done and tick is not None:
        text = f"{text}\n_✅ done — <@{tick.changed_by}>, {started(tick.changed_at, zone)}_"
    option = Option(text="Done", value=item.id)
    box = CheckboxesElement(action_id=f"{IncidentAction.CHECKLIST}:{item.id}", options=[option],
                            initial_options=[option] if done else None)
    return SectionBlock(block_id=f"checklist:{incident_id}:{item.id}", accessory=box,
                        text=MarkdownTextObject(text=clip(text, 3000)))


# --- the announcement in incidents_channel ---------------------------------------------------------


def announcement_text(incident: Incident) -> str:
    verb = "resolved" if incident.is_resolved else "declared"
    return f"{mark(incident)} {incident.severity} incident {verb}: {incident.title}"


def announcement_blocks(incident: Incident, zone: ZoneInfo) -> list[Block]:
    i = incident
    line = (f"*{escape(announcement_text(i))}*\n"
            f"Channel: {channel_ref(i)} · Commander: <@{i.commander}> · "
            f"Status: {STATUS_MARK.get(i.status, '')} {i.status.capitalize()}")
    context = f"Started {started(i.declared_at, zone)} · incident #{i.id} · updates in this thread"
    return [SectionBlock(text=MarkdownTextObject(text=clip(line, 3000))),
            ContextBlock(elements=[MarkdownTextObject(text=context)])]


# --- posts for each change -------------------------------------------------------------------------


@dataclass(frozen=True)
class EntryPost:
    text: str
    blocks: list[Block] = field(default_factory=list)
    mirror: bool = False  # also post in the announcement thread


def entry_post(entry: TimelineEntry, incident: Incident, *,
               durations: Durations | None = None) -> EntryPost | None:
    """The channel message for a timeline entry; None for entries shown another way."""
    by = who(entry.actor)
    match entry.details():
        case SeverityChanged(previous=previous, to=to):
            up = to < previous  # SEV1 is the most severe
            arrow, verb = ("🔺", "raised") if up else ("🔻", "lowered")
            return EntryPost(f"{arrow} {by} {verb} the severity: {previous} → *{to}*", mirror=True)
        case RoleAssigned(role=role, person=person, previous=previous):
            was = f" (was <@{previous}>)" if previous else ""
            return EntryPost(f"🎖️ <@{person}> is now *{role}*{was}, assigned by {by}.", mirror=role == "commander")
        case StatusUpdate(status=status, public=public):
            state = f" — *{status.capitalize()}*" if status else ""
            published = " · 🌐 published on the status page" if public else ""
            text = f"📣 *Status update*{state} from {by}{published}\n{quote_block(entry.text)}"
            return EntryPost(clip(text, 3000), [SectionBlock(text=MarkdownTextObject(text=clip(text, 3000)))],
                             mirror=True)
        case Note():
            return EntryPost(clip(f"📝 {by} noted: {escape(entry.text)}", 3000))
        case ActionAdded(owner=owner):
            shown = f" — owner <@{owner}>" if owner else ""
            return EntryPost(clip(f"🛠️ Follow-up added by {by}: {escape(entry.text)}{shown}", 3000))
        case IncidentResolved():
            blocks = resolved_blocks(entry, incident, durations or Durations())
            return EntryPost(f"✅ Incident #{incident.id} resolved by {by}", blocks, mirror=True)
        case PostmortemDone():
            return EntryPost(f"📘 {by} marked the post-mortem of incident #{incident.id} done.")
        case Declared() | AlertLinked() | ChecklistTicked() | Pinned():  # shown by the channel set-up, the
            return None                                                  # checklist message, the pin itself
        case never:
            assert_never(never)


def quote_block(text: str) -> str:
    return "\n".join(f"> {line}" for line in escape(text).splitlines() or [""])


def resolved_blocks(entry: TimelineEntry, incident: Incident, durations: Durations) -> list[Block]:
    after = format_duration(entry.at - incident.declared_at)
    text = f"✅ *Incident #{incident.id} resolved* by {who(entry.actor)}, {after} after it was declared."
    if incident.summary:
        text += f"\n{quote_block(incident.summary)}"
    fields = [
        f"*Time to detect*\n{durations.time_to_detect}",
        f"*Time to acknowledge*\n{durations.time_to_acknowledge}",
        f"*Time to mitigate*\n{durations.time_to_mitigate}",
        f"*Time to resolve*\n{durations.time_to_resolve}",
    ]
    return [
        SectionBlock(text=MarkdownTextObject(text=clip(text, 3000))),
        SectionBlock(fields=[MarkdownTextObject(text=f) for f in fields]),
        ContextBlock(elements=[MarkdownTextObject(
            text="The post-mortem draft follows; finish it, then press *Mark post-mortem done*.")]),
        ActionsBlock(block_id=f"incident_resolved:{incident.id}", elements=header_buttons(incident)),
    ]


def mirror_text(entry: TimelineEntry, incident: Incident) -> str:
    """The announcement thread's short version of a change."""
    post = entry_post(entry, incident)
    if entry.kind == EntryKind.RESOLVED:
        summary = f"\n{quote_block(incident.summary)}" if incident.summary else ""
        return f"✅ Resolved by {who(entry.actor)}.{summary}"
    return post.text if post else ""


def nudge_text(incident: Incident, silent_for: datetime, now: datetime, update_every: str) -> str:
    silence = format_duration(now - silent_for)
    return (f"⏰ <@{incident.commander}>, there has been no status update for {silence}. "
            f"{incident.severity} incidents get one every {update_every}: `/incident status <what is happening>` "
            "or the *Post update* button on the pinned header.")


def postmortem_reminder_blocks(incident: Incident) -> tuple[str, list[Block]]:
    text = (f"📝 <@{incident.commander}>, incident #{incident.id} was resolved a day ago and its post-mortem "
            "is not marked done yet. Finish the draft in this channel, then mark it done.")
    buttons = [b for b in header_buttons(incident) if b.action_id == IncidentAction.POSTMORTEM_DONE]
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=text))]
    if buttons:
        blocks.append(ActionsBlock(block_id=f"incident_reminder:{incident.id}", elements=list(buttons)))
    return text, blocks
