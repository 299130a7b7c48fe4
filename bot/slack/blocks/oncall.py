"""Block Kit for on-call: `/oncall` answers, override announcements and handoff posts.

Pure functions from domain values to a :class:`Rendered` (fallback text plus blocks). The wording
of the status lines comes from :mod:`bot.oncall.report_text`, so Slack and the command line say
the same thing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from slack_sdk.models.blocks import Block, ContextBlock, DividerBlock, MarkdownTextObject, SectionBlock

from bot.config import Team
from bot.oncall.handoffs import Handoff
from bot.oncall.models import OverrideRow
from bot.oncall.open_items import OpenItem
from bot.oncall.overrides import OverrideChange
from bot.oncall.report_text import Style, calendar_url, span_text, status_lines, team_title, when
from bot.oncall.shifts import Origin, Role, Shift
from bot.oncall.who import TeamStatus
from bot.outbox import ChannelPost, DirectMessage
from bot.slack.blocks.alert import SEVERITY_MARK
from bot.slack.blocks.common import clip, escape

SECTION_LIMIT = 2900  # Slack refuses section text over 3000 characters
MAX_BLOCKS = 45  # of Slack's 50 per message, leaving room for a header and a footer
SLACK_STYLE = Style(who=lambda p: f"<@{p}>", bold=lambda t: f"*{t}*")


@dataclass(frozen=True)
class Rendered:
    text: str
    blocks: list[Block] = field(default_factory=list)

    def post(self, *, channel: str, what: str) -> ChannelPost:
        """For an outbox ``channel_post`` row (see ``bot.notify.posts``)."""
        return ChannelPost(channel=channel, what=what, text=self.text, blocks=[b.to_dict() for b in self.blocks])

    def dm(self, *, user: str, what: str) -> DirectMessage:
        """For an outbox ``dm`` row (see ``bot.notify.posts``)."""
        return DirectMessage(user=user, what=what, text=self.text, blocks=[b.to_dict() for b in self.blocks])


def section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=clip(text, SECTION_LIMIT)))


def context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=clip(text, SECTION_LIMIT))])


def sections(lines: Iterable[str], *, max_blocks: int = MAX_BLOCKS) -> list[Block]:
    """Lines packed into as few sections as Slack's size limits allow; the overflow is counted, not lost."""
    blocks: list[Block] = []
    chunk: list[str] = []
    pending = list(lines)
    for i, line in enumerate(pending):
        if chunk and len("\n".join([*chunk, line])) > SECTION_LIMIT:
            if len(blocks) == max_blocks - 1:
                chunk.append(f"… and {len(pending) - i} more")
                break
            blocks.append(section("\n".join(chunk)))
            chunk = []
        chunk.append(line)
    if chunk:
        blocks.append(section("\n".join(chunk)))
    return blocks


# --- `/oncall` and `/oncall TEAM` ---------------------------------------------------------------


def status_message(statuses: Sequence[TeamStatus], *, zone: tzinfo, now: datetime, base_url: str) -> Rendered:
    blocks: list[Block] = [section(f"*On call now* · times in {now.astimezone(zone):%Z}")]
    summary = []
    for status in statuses:
        lines = status_lines(status, SLACK_STYLE, zone, now)
        blocks.append(section("\n".join([team_title(status.team, SLACK_STYLE), *lines])))
        if url := calendar_url(base_url, status.team):
            blocks.append(context(f"📅 <{url}|Subscribe to the {status.team.name} on-call calendar>"))
        who = f"<@{status.primary.person}>" if status.primary else "nobody"
        summary.append(f"{status.team.name}: {who}")
    if not statuses:
        blocks.append(section("No teams are configured yet; add them under `teams:` in the config."))
    if len(blocks) > MAX_BLOCKS:
        shown = sum(1 for b in blocks[:MAX_BLOCKS] if isinstance(b, SectionBlock)) - 1
        blocks = [*blocks[:MAX_BLOCKS], section(f"… and {len(statuses) - shown} more teams: ask for one with "
                                                "`/oncall TEAM`")]
    return Rendered(text="On call — " + ("; ".join(summary) or "no teams"), blocks=blocks)


# --- `/oncall schedule` ------------------------------------------------------------------------


def _shift_line(shift: Shift, zone: tzinfo, now: datetime) -> str:
    origin = " _(override)_" if shift.source is Origin.OVERRIDE else ""
    return f"• {span_text(shift.start, shift.end, zone, now=now)}  <@{shift.person}>{origin}"


def schedule_message(team: Team, shifts: Sequence[Shift], *, weeks: int, zone: tzinfo, now: datetime) -> Rendered:
    primaries = [s for s in shifts if s.role is Role.PRIMARY]
    backups = [s for s in shifts if s.role is Role.BACKUP]
    lines = ["*Primary*", *(_shift_line(s, zone, now) for s in primaries)] if primaries else [
        "*Primary*", "Nobody is scheduled."]
    if backups:
        lines += ["*Backup*", *(_shift_line(s, zone, now) for s in backups)]
    head = section(f"*{team.name}* on-call schedule, next {weeks} week{'s' if weeks != 1 else ''}")
    return Rendered(text=f"On-call schedule for {team.name}, next {weeks} weeks: {len(primaries)} primary shifts",
                    blocks=[head, *sections(lines)])


# --- `/oncall overrides`, `/oncall help` -------------------------------------------------------


def overrides_message(rows: Sequence[OverrideRow], *, zone: tzinfo, now: datetime, teams: str) -> Rendered:
    if not rows:
        return Rendered(text=f"No current or upcoming overrides for {teams}.")
    lines = []
    for r in rows:
        live = " · *in progress*" if r.starts_at <= now else ""
        why = f" — “{escape(r.reason)}”" if r.reason else ""
        lines.append(f"• *#{r.id}* {r.team}: <@{r.person}> {span_text(r.starts_at, r.ends_at, zone, now=now)}"
                     f" (by <@{r.created_by}>){why}{live}")
    return Rendered(text=f"{len(rows)} override(s) for {teams}",
                    blocks=[section(f"*Overrides for {teams}*"), *sections(lines),
                            context("Cancel one with `/oncall cancel ID`.")])


HELP = """*`/oncall`* — who is on call for every team, until when, and who is next
*`/oncall TEAM`* — the same for one team
*`/oncall schedule [TEAM] [N weeks]`* — the shifts of the next N weeks (default 2, at most 12)
*`/oncall override [TEAM] @person 4h|until fri 18:00|from mon 09:00 until wed 09:00 [reason]`* — put someone on call
*`/oncall take [TEAM] 2h|until 18:00 [reason]`* — take the pager yourself
*`/oncall overrides [TEAM]`* — current and upcoming overrides, with their IDs
*`/oncall cancel ID`* — withdraw an override (or end it now if it has begun)
*`/oncall swap [TEAM] @person DAY`* — ask someone to trade your shift that day for their nearest one
*`/oncall me [test [slack|sms|call|email]]`* — how the bot reaches you (your rules, quiet hours), and a test page on each channel
*`/oncall page TEAM message`* — page a team's on-call through its escalation policy
*`/oncall silence MATCHERS DURATION`* — keep matching alerts quiet for a while
*`/oncall report [7d|30d]`* — the on-call summary
*`/oncall checks [NAME]`* — every uptime check (or one): state, latency p50/p95 over 24 h, uptime over 7 and 30 days against its target
Times are read in your Slack time zone; the team is needed only when you are in several rotations."""


def help_message() -> Rendered:
    return Rendered(text="/oncall commands", blocks=[section(HELP)])


# --- override announcements --------------------------------------------------------------------


def _reason(row: OverrideRow) -> str:
    return f" — “{escape(row.reason)}”" if row.reason else ""


def _instead(people: Iterable[str]) -> str:
    unique = list(dict.fromkeys(people))
    return f", instead of {' and '.join(f'<@{p}>' for p in unique)}" if unique else ""


def override_announcement(change: OverrideChange, *, actor: str, zone: tzinfo, now: datetime) -> Rendered:
    """For the team channel: every change to who holds the pager is said where the team sees it."""
    r, team = change.row, change.team.name
    span = span_text(r.starts_at, r.ends_at, zone, now=now)
    if r.cancelled_by:
        verb = "ended override" if change.ended_early else "cancelled override"
        back = f"; {' and '.join(f'<@{s.person}>' for s in _unique_people(change.displaced))} back on call" \
            if change.displaced else ""
        text = f"📅 <@{actor}> {verb} #{r.id} for {team} (<@{r.person}>, {span}){back}"
    elif r.person == actor:
        text = f"📅 <@{actor}> took the {team} pager: {span}{_instead(s.person for s in change.displaced)}{_reason(r)}"
    else:
        text = (f"📅 <@{actor}> put <@{r.person}> on call for {team}: {span}"
                f"{_instead(s.person for s in change.displaced)}{_reason(r)}")
    return Rendered(text=text, blocks=[section(text), context(f"Override #{r.id} · `/oncall overrides {team}`")])


def _unique_people(shifts: Iterable[Shift]) -> list[Shift]:
    seen: dict[str, Shift] = {}
    for s in shifts:
        seen.setdefault(s.person, s)
    return list(seen.values())


def override_dms(change: OverrideChange, *, actor: str, zone_of: Callable[[str], tzinfo],
                 now: datetime) -> dict[str, Rendered]:
    """DMs to the people whose pager changes, other than whoever made the change, each in their zone."""
    r, team = change.row, change.team.name
    out: dict[str, Rendered] = {}

    def span(person: str) -> str:
        return span_text(r.starts_at, r.ends_at, zone_of(person), now=now)

    if r.cancelled_by:
        if r.person != actor:
            out[r.person] = Rendered(f"<@{actor}> cancelled override #{r.id}: you are no longer on call for "
                                     f"{team} over {span(r.person)}.")
        for s in _unique_people(change.displaced):
            if s.person != actor:
                out[s.person] = Rendered(f"<@{actor}> cancelled override #{r.id} (<@{r.person}>), so you are "
                                         f"primary for {team} again from {when(s.start, zone_of(s.person), now=now)}.")
    else:
        if r.person != actor:
            out[r.person] = Rendered(f"<@{actor}> put you on call for {team}: {span(r.person)} "
                                     f"(override #{r.id}){_reason(r)}")
        for s in _unique_people(change.displaced):
            if s.person not in (actor, r.person):
                out[s.person] = Rendered(f"<@{r.person}> covers your {team} shift over {span(s.person)} "
                                         f"(override #{r.id}, set by <@{actor}>){_reason(r)}")
    return {p: Rendered(m.text, [section(m.text)]) for p, m in out.items()}


# --- handoffs ----------------------------------------------------------------------------------


def handoff_post(handoff: Handoff, *, names: Mapping[str, str], zone: tzinfo, now: datetime) -> Rendered:
    """"Handoff: Bob is now on call for platform until Mon 7 Dec 09:00 CET, backup Carol"."""
    team, primary, backup = handoff.team.name, handoff.status.primary, handoff.status.backup

    def name(shift: Shift) -> str:
        return names.get(shift.person, shift.person)

    if primary is None:
        text = f"Handoff: nobody is on call for {team} now"
    elif handoff.new_primary or backup is None:
        text = f"Handoff: {name(primary)} is now on call for {team} until {when(primary.end, zone, now=now)}"
    else:
        text = (f"Handoff: {name(backup)} is now backup for {team} until {when(backup.end, zone, now=now)}, "
                f"{name(primary)} stays primary")
    if backup is not None and (handoff.new_primary or primary is None):
        text += f", backup {name(backup)}"
    notes = []
    if handoff.before.primary is not None and handoff.new_primary:
        notes.append(f"Previously: {escape(name(handoff.before.primary))}")
    if handoff.status.next is not None:
        notes.append(f"Next: {escape(name(handoff.status.next))} from {when(handoff.status.next.start, zone, now=now)}")
    alerts = sum(1 for i in handoff.items if i.kind == "alert")
    notes.append(f"{alerts} open alert{'s' if alerts != 1 else ''} handed over")
    return Rendered(text=text, blocks=[section(f"🔁 {escape(text)}"), context(" · ".join(notes))])


def open_item_line(item: OpenItem, *, zone: tzinfo, now: datetime) -> str:
    mark = SEVERITY_MARK.get(item.severity or "", "•")
    state = f"acknowledged by <@{item.owner}>" if item.owner and item.status == "acknowledged" else item.status
    where = f" in <#{item.channel_id}>" if item.channel_id else ""
    return f"{mark} *{escape(item.ref)}* {escape(clip(item.title, 150))} — {state} since {when(item.since, zone, now=now)}{where}"


def _plural(kind: str, n: int) -> str:
    return f"{n} open {kind}{'s' if n != 1 else ''}"


def open_items_lines(items: Sequence[OpenItem], *, zone: tzinfo, now: datetime) -> list[str]:
    """Items grouped by kind under a bold heading per kind, in the order providers gave them."""
    lines: list[str] = []
    for kind in dict.fromkeys(i.kind for i in items):
        mine = [i for i in items if i.kind == kind]
        lines += [f"*{_plural(kind, len(mine)).capitalize()}*", *(open_item_line(i, zone=zone, now=now) for i in mine)]
    return lines


def handoff_dm(handoff: Handoff, *, zone: tzinfo, now: datetime) -> Rendered | None:
    """To the incoming primary: what they now hold, and everything open they inherit."""
    primary, backup = handoff.status.primary, handoff.status.backup
    if primary is None or not handoff.new_primary:
        return None
    with_backup = f" (backup: <@{backup.person}>)" if backup is not None else ""
    head = f"You're now on call for {handoff.team.name} until {when(primary.end, zone, now=now)}{with_backup}."
    if handoff.items:
        counts = ", ".join(_plural(k, sum(1 for i in handoff.items if i.kind == k))
                           for k in dict.fromkeys(i.kind for i in handoff.items))
        text = f"{head} You inherit {counts}."
        body = sections(open_items_lines(handoff.items, zone=zone, now=now))
    else:
        text = f"{head} Nothing is open: a quiet start."
        body = []
    return Rendered(text=text, blocks=[section(f"🟢 {text}"), *body, DividerBlock(),
                                       context("`/oncall` shows the schedule · `/oncall take` covers a gap")])
