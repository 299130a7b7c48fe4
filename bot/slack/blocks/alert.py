"""The alert message: what the team sees in its channel, edited in place as the alert changes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import assert_never
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    InteractiveElement,
    LinkButtonElement,
    MarkdownTextObject,
    Option,
    OverflowMenuElement,
    PlainTextObject,
    SectionBlock,
)

from bot.alerts.events import (
    Acknowledged,
    AckTimedOut,
    AlertResolved,
    Escalated,
    NotEscalated,
    Paged,
    PageFailed,
    PageSkipped,
    Received,
    Reopened,
    Repeated,
    Resolved,
    Silenced,
    SilencedSimilar,
    Snoozed,
    Unacknowledged,
)
from bot.alerts.incoming import AlertStatus
from bot.alerts.models import Alert, AlertEvent, AlertGroup
from bot.durations import format_config_duration, format_duration
from bot.escalation.call_text import call_outcome
from bot.escalation.models import Via
from bot.severity import Severity
from bot.slack.blocks.common import actor_text, clip, escape, slack_date
from bot.slack.ids import METADATA_EVENT, AlertAction, Metadata, OverflowChoice

SEVERITY_MARK: dict[str, str] = {Severity.CRITICAL: "🔴", Severity.HIGH: "🟠", Severity.MEDIUM: "🟡", Severity.LOW: "🔵",
                                  Severity.INFO: "⚪"}
MAX_LISTED = 10


@dataclass(frozen=True)
class AlertMessage:
    """Everything the builder needs; built by the dispatcher from the database."""

    group: AlertGroup
    alerts: Sequence[Alert]
    zone: ZoneInfo
    names: Mapping[str, str] = field(default_factory=dict)
    playbook_name: str | None = None
    silenced_until: datetime | None = None


def status_line(msg: AlertMessage) -> str:
    g = msg.group
    if g.status == AlertStatus.RESOLVED and g.resolved_at:
        who = actor_text(g.resolved_by, g.resolved_via, msg.names)
        return f"✅ *Resolved* by {who} after {format_duration(g.resolved_at - g.created_at)}"
    if g.status == AlertStatus.ACKNOWLEDGED and g.acknowledged_at:
        who = actor_text(g.acknowledged_by, g.acknowledged_via, msg.names)
        line = f"👀 *Acknowledged* by {who} after {format_duration(g.acknowledged_at - g.created_at)}"
        if g.ack_timeout_at:
            line += f" · back to firing at {slack_date(g.ack_timeout_at, '{time}', msg.zone)} unless resolved"
        return line
    if msg.silenced_until:
        return f"🔕 *Silenced* until {slack_date(msg.silenced_until, '{date_short_pretty} {time}', msg.zone)}"
    if g.snoozed_until:
        return f"💤 *Snoozed* until {slack_date(g.snoozed_until, '{date_short_pretty} {time}', msg.zone)}"
    return "🚨 *Firing* — not acknowledged yet"


def fallback_text(msg: AlertMessage) -> str:
    """Plain text for notifications and screen readers."""
    g = msg.group
    service = _first(msg.alerts, "service")
    where = f" ({service})" if service else ""
    state = g.status.capitalize()
    return f"{SEVERITY_MARK.get(g.severity, '')} {g.severity.upper()} {g.title}{where}: {state}"


def metadata(group_id: int) -> Metadata:
    return {"event_type": METADATA_EVENT, "event_payload": {"group_id": group_id}}


def _first(alerts: Sequence[Alert], attr: str) -> str | None:
    """The first non-empty value of a text column (``service``, ``runbook_url``…) among the alerts."""
    return next((str(value) for a in alerts if (value := getattr(a, attr))), None)


def alert_blocks(msg: AlertMessage) -> list[Block]:
    g = msg.group
    alerts = list(msg.alerts)
    lead = alerts[0] if alerts else None
    title = f"{SEVERITY_MARK.get(g.severity, '')} {g.title}"
    if len(alerts) > 1:
        firing = sum(1 for a in alerts if a.status != AlertStatus.RESOLVED)
        title += f" ({firing} of {len(alerts)} firing)"
    blocks: list[Block] = [
        HeaderBlock(text=PlainTextObject(text=clip(title, 150), emoji=True)),
        SectionBlock(text=MarkdownTextObject(text=status_line(msg))),
        SectionBlock(fields=_fields(msg)),
    ]
    if lead is not None and lead.description:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=clip(escape(lead.description), 2900))))
    if len(alerts) > 1:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=_member_list(alerts, g.title))))
    if lead is not None and lead.labels:
        labels = " ".join(f"`{escape(k)}={escape(str(v))}`" for k, v in sorted(lead.labels.items()))
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=clip(labels, 2000))]))
    links = _link_buttons(msg)
    if links:
        blocks.append(ActionsBlock(block_id=f"alert_links:{g.id}", elements=links))
    if g.status != AlertStatus.RESOLVED:
        blocks.append(ActionsBlock(block_id=f"alert_actions:{g.id}", elements=_action_elements(g)))
    return blocks


def _fields(msg: AlertMessage) -> list[MarkdownTextObject]:
    g = msg.group
    alerts = msg.alerts
    started = min((a.starts_at for a in alerts), default=g.created_at)
    fields = [
        f"*Severity*\n{SEVERITY_MARK.get(g.severity, '')} {g.severity}",
        f"*Service*\n{escape(_first(alerts, 'service') or '—')}",
        f"*Started*\n{slack_date(started, '{ago}', msg.zone)} ({slack_date(started, '{date_short_pretty} {time}', msg.zone)})",
        f"*Team*\n{escape(g.team or '—')}",
    ]
    for label, attr in (("Metric", "metric"), ("Threshold", "threshold"), ("Current value", "value")):
        value = _first(alerts, attr)
        if value:
            fields.append(f"*{label}*\n{clip(escape(str(value)), 200)}")
    count = sum(a.count for a in alerts)
    if count > len(alerts):
        last = max(a.last_seen_at for a in alerts)
        fields.append(f"*Seen*\n{count} times, last {slack_date(last, '{time}', msg.zone)}")
    return [MarkdownTextObject(text=clip(f, 2000)) for f in fields[:10]]


def _member_list(alerts: Sequence[Alert], group_title: str) -> str:
    lines = []
    for a in alerts[:MAX_LISTED]:
        mark = "✅" if a.status == AlertStatus.RESOLVED else SEVERITY_MARK.get(a.severity, "•")
        distinct = {k: v for k, v in a.labels.items() if k not in ("alertname", "severity")}
        ident = escape(", ".join(f"{k}={v}" for k, v in sorted(distinct.items())[:3]))
        if a.title != group_title:  # a group not grouped by name: say which alert this is
            ident = f"*{escape(a.title)}*" + (f" ({ident})" if ident else "")
        summary = a.description.split("\n", 1)[0] if a.description else ""
        line = f"{mark} {ident or escape(a.title)}"
        if summary:
            line += f" — {escape(clip(summary, 120))}"
        lines.append(line)
    if len(alerts) > MAX_LISTED:
        lines.append(f"+{len(alerts) - MAX_LISTED} more")
    return clip("\n".join(lines), 2900)


def _link_buttons(msg: AlertMessage) -> list[InteractiveElement]:
    seen: set[str] = set()
    buttons: list[InteractiveElement] = []

    def add(text: str, url: str | None) -> None:
        if url and url.startswith(("http://", "https://")) and url not in seen and len(buttons) < 5:
            seen.add(url)
            buttons.append(LinkButtonElement(text=clip(text, 75), url=url[:3000],
                                             action_id=f"{AlertAction.LINK}:{len(buttons)}"))

    add("📖 Runbook", _first(msg.alerts, "runbook_url"))
    add("🔎 Source", _first(msg.alerts, "source_url"))
    add("📊 Dashboard", _first(msg.alerts, "dashboard_url"))
    if msg.playbook_name:  # opens the playbook in a modal, right where the alert is
        buttons.append(ButtonElement(text=clip(f"📋 Playbook: {msg.playbook_name}", 75),
                                     action_id=AlertAction.PLAYBOOK, value=str(msg.group.id)))
    for alert in msg.alerts[:1]:
        for link in alert.links:
            add(str(link.get("text") or "Link"), link.get("href"))
    return buttons


def _action_elements(g: AlertGroup) -> list[InteractiveElement]:
    gid = str(g.id)
    if g.status == AlertStatus.ACKNOWLEDGED:
        first = ButtonElement(text="Unacknowledge", action_id=AlertAction.UNACKNOWLEDGE, value=gid)
    else:
        first = ButtonElement(text="Acknowledge", action_id=AlertAction.ACKNOWLEDGE, value=gid, style="primary")
    options = [
        Option(text="💤 Snooze 30m", value=f"{OverflowChoice.SNOOZE_30M}:{gid}"),
        Option(text="💤 Snooze 1h", value=f"{OverflowChoice.SNOOZE_1H}:{gid}"),
        Option(text="💤 Snooze 4h", value=f"{OverflowChoice.SNOOZE_4H}:{gid}"),
        Option(text="🔕 Silence similar 1h", value=f"{OverflowChoice.SILENCE_1H}:{gid}"),
    ]
    return [
        first,
        ButtonElement(text="Escalate", action_id=AlertAction.ESCALATE, value=gid),
        ButtonElement(text="Resolve", action_id=AlertAction.RESOLVE, value=gid),
        ButtonElement(text="Declare incident", action_id=AlertAction.DECLARE_INCIDENT, value=gid, style="danger"),
        OverflowMenuElement(options=options, action_id=AlertAction.MORE),
    ]


def thread_text(event: AlertEvent, group: AlertGroup, names: Mapping[str, str], zone: ZoneInfo) -> str:
    """The short reply posted in the alert's thread for each change."""
    who = actor_text(event.actor, event.via, names)
    after = format_duration(event.at - group.created_at)
    match event.details():
        case Acknowledged():
            return f"👀 Acknowledged by {who} after {after}."
        case Unacknowledged():
            return f"↩️ {who} took the acknowledgement back; the alert is firing again."
        case Resolved():
            return f"✅ Resolved by {who} after {after}."
        case Snoozed(until=until, minutes=minutes):
            return f"💤 Snoozed by {who} for {minutes}m, until {slack_date(until, '{time}', zone)}."
        case SilencedSimilar(until=until, matchers=matchers):
            shown = ", ".join(f"{k}={v}" for k, v in matchers.items())
            return (f"🔕 {who} silenced similar alerts ({escape(shown)}) until "
                    f"{slack_date(until, '{date_short_pretty} {time}', zone)}; they are recorded, not notified.")
        case Reopened():
            return "🚨 The snooze ended and the alert is still firing."
        case AckTimedOut() as timed_out:
            return ack_timed_out_text(timed_out, names)
        case Paged() | PageFailed() | PageSkipped() | Escalated() | NotEscalated() as detail:
            return paging_text(event, detail, names)
        case Received() | Repeated() | AlertResolved() | Silenced():  # not replied in the thread
            return escape(event.kind)
        case never:
            assert_never(never)


def ack_timed_out_text(d: AckTimedOut, names: Mapping[str, str]) -> str:
    then = ", paging from step 1" if d.restarted else ""
    return (f"⏰ Acknowledged {format_config_duration(timedelta(seconds=d.seconds))} ago by "
            f"{actor_text(d.by, d.via, names)} and not resolved: firing again{then}.")


def _where(step: int | None, round_: int | None, by: str | None) -> str:
    if step is None:
        return f"asked for by <@{by}>" if by else "asked for by name"
    return f"step {step}" + (f", round {round_}" if (round_ or 1) > 1 else "")


def _paged_text(event: AlertEvent, detail: Paged, name: str) -> str:
    where = _where(detail.step, detail.round, detail.by)
    if detail.goes_at is not None:  # a person's later channel, by their own rules
        when = slack_date(detail.goes_at, "{time}", ZoneInfo("UTC"))
        how = {"sms": "by SMS", "email": "by email", "call": "by phone"}.get(str(event.via), "on Slack")
        why = " (after their quiet hours)" if detail.quiet else ""
        return f"⏳ Will page {escape(name)} {how} at {when}{why} unless acknowledged by then ({where})"
    match event.via:
        case Via.SMS:
            return f"📱 Paging {escape(name)} by SMS ({where})"
        case Via.CHANNEL:
            return f"📣 Calling the channel with @here ({where})"
        case Via.EMAIL:
            return f"✉️ Paging {escape(name)} by email ({where})"
        case Via.GROUP:
            return f"📣 Paging the user group @{escape(event.actor or '')} ({where})"
        case Via.CALL:
            return f"📞 Calling {escape(name)} ({where})"
    return f"📟 Paging <@{event.actor}> ({where})"


def paging_text(event: AlertEvent, detail: Paged | PageFailed | PageSkipped | Escalated | NotEscalated,
                names: Mapping[str, str]) -> str:
    """Thread replies for escalation: who was paged how, what failed or was skipped, who escalated."""
    name = names.get(event.actor or "", event.actor or "someone")
    match detail:
        case Paged():
            return _paged_text(event, detail, name)
        case PageFailed(error=error, status=status):
            return _failed_text(event, name, error, status)
        case PageSkipped(step=step, target=target, reason=reason):
            lead = f"Step {step}: could not" if step is not None else "Could not"
            return f"⚠️ {lead} page {target}: {escape(reason)}."
        case NotEscalated():
            return "ℹ️ No team owns this alert, so nobody is paged. Add a route for it in the config to page a team."
        case Escalated():
            return _escalated_text(event, detail, names)
        case never:
            assert_never(never)


def _failed_text(event: AlertEvent, name: str, error: str | None, status: str | None) -> str:
    match event.via:
        case Via.SMS:
            return f"⚠️ SMS to {escape(name)} failed: {status or 'refused'} ({error}). The escalation goes on."
        case Via.CHANNEL:
            return f"⚠️ The @here post failed ({error}). The escalation goes on."
        case Via.EMAIL:
            return f"⚠️ Email to {escape(name)} failed: {status or 'refused'} ({error}). The escalation goes on."
        case Via.GROUP:
            return f"⚠️ Paging the user group @{escape(event.actor or '')} failed ({error}). The escalation goes on."
        case Via.CALL:
            return f"{call_outcome(escape(name), status, error)} The escalation goes on."
    return f"⚠️ Slack DM to {escape(name)} failed ({error}). The escalation goes on."


def _escalated_text(event: AlertEvent, d: Escalated, names: Mapping[str, str]) -> str:
    who = actor_text(event.actor, event.via, names)
    if d.team:
        return f"⏫ {who} handed this to team *{escape(d.team)}*; its escalation policy starts now."
    if d.person:
        return f"⏫ {who} asked for <@{d.person}>."
    return f"⏫ {who} escalated: step {d.step} runs now."
