"""What ``/incident timeline``, ``/incident list`` and ``/incident help`` show (ephemeral)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.durations import format_duration
from bot.incidents.models import Incident
from bot.incidents.postmortem import format_when
from bot.incidents.timeline import TimelineRow
from bot.slack.blocks.common import clip
from bot.slack.blocks.incidents import STATUS_MARK, channel_ref, mark, started, who

SECTION_CHARS = 2900
MAX_SECTIONS = 45

HELP = """*`/incident` — declare and run incidents*
• `/incident declare [title]` — open the declare form (anywhere)
• `/incident list` — open incidents (anywhere)
In an incident channel:
• `/incident sev 1|2|3` — change the severity
• `/incident status [investigating|identified|monitoring] [--public] <text>` — post a status update (also in the announcement thread); `--public` also publishes it on the status page, with the incident's title
• `/incident role commander|comms|scribe @person` — hand out a role
• `/incident note <text>` — add a note to the timeline
• `/incident action <text> [@owner]` — add a follow-up for the post-mortem
• `/incident timeline` — the timeline so far
• `/incident resolve [summary]` — resolve, post the durations and the post-mortem draft
• `/incident postmortem` — render the post-mortem draft again
Pin a message, or react to it with :pushpin:, to put it on the timeline.
Only updates published with `--public` (or the update form's *Publish to status page* box) reach the status page; notes, the timeline and other updates stay internal."""


def _pack(lines: Sequence[str]) -> list[str]:
    """Lines into as few section texts as fit Slack's 3,000 characters each."""
    sections: list[str] = []
    current = ""
    for line in lines:
        line = clip(line, SECTION_CHARS)
        if current and len(current) + 1 + len(line) > SECTION_CHARS:
            sections.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        sections.append(current)
    return sections


def timeline_blocks(incident: Incident, rows: Sequence[TimelineRow], zone: ZoneInfo) -> list[Block]:
    """Every row with its full date, time and zone; the oldest are left out if Slack's block limit bites."""
    lines = []
    for row in rows:
        link = f" (<{row.permalink}|message>)" if row.permalink else ""
        lines.append(f"`{format_when(row.at, zone)}` · {who(row.actor)} · {row.text}{link}")
    sections = _pack(lines)
    blocks: list[Block] = [HeaderBlock(text=PlainTextObject(
        text=clip(f"Timeline of incident #{incident.id}: {incident.title}", 150), emoji=True))]
    if len(sections) > MAX_SECTIONS:
        dropped = len(sections) - MAX_SECTIONS
        sections = sections[dropped:]
        blocks.append(ContextBlock(elements=[MarkdownTextObject(
            text="The earliest entries are left out here; `/incident postmortem` has the whole timeline.")]))
    blocks += [SectionBlock(text=MarkdownTextObject(text=s)) for s in sections or ["_Nothing recorded yet._"]]
    return blocks


def list_blocks(open_incidents: Sequence[Incident], recent: Sequence[Incident], zone: ZoneInfo,
                now: datetime) -> list[Block]:
    if not open_incidents and not recent:
        return [SectionBlock(text=MarkdownTextObject(text="No open incidents. 🎉"))]
    lines = ["*Open incidents*" if open_incidents else "*No open incidents.* 🎉"]
    for i in open_incidents:
        lines.append(f"{mark(i)} *#{i.id} {i.severity}* {i.title} — {STATUS_MARK.get(i.status, '')} "
                     f"{i.status.capitalize()} · {channel_ref(i)} · commander <@{i.commander}> · "
                     f"for {format_duration(now - i.declared_at)} (since {started(i.declared_at, zone)})")
    if recent:
        lines.append("*Resolved in the last 7 days*")
    for i in recent:
        assert i.resolved_at is not None
        pm = "post-mortem done" if i.postmortem_done_at else "post-mortem open"
        lines.append(f"✅ #{i.id} {i.severity} {i.title} · {channel_ref(i)} · lasted "
                     f"{format_duration(i.resolved_at - i.declared_at)} · {pm}")
    return [SectionBlock(text=MarkdownTextObject(text=s)) for s in _pack(lines)[:MAX_SECTIONS]]


def help_blocks(lead: str | None = None) -> list[Block]:
    """The usage; ``lead`` first when the help answers a mistake."""
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=lead))] if lead else []
    return [*blocks, SectionBlock(text=MarkdownTextObject(text=HELP))]
