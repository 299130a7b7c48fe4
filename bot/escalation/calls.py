"""Pages by phone call, the domain's side: what a call is about, what a key press does, and what
Twilio said about the call.

A key press acts exactly like the Slack buttons and an SMS reply (``alerts/actions.py``,
``escalate_now``), with ``via="call"``, for the person the call went to: the call's URL names its
page, and Twilio signs that URL, so the page is who pressed. A call that reached nobody — no
answer, busy, failed, canceled, or a voicemail (machine detection) — is recorded in the alert's
history and thread once, and the policy goes on: the next step keeps its time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.alerts import actions
from bot.alerts.current import CurrentAlert, load_current
from bot.alerts.events import PageFailed
from bot.alerts.incoming import AlertStatus
from bot.alerts.models import AlertGroup
from bot.escalation.call_text import GOODBYE, KeyPress, already, call_intro
from bot.escalation.engine import NothingToEscalate, Paging, escalate_now
from bot.escalation.models import PageRecord, PageStatus, Via
from bot.outbox import OutboxKind, PageSend, enqueue

UNREACHED = frozenset({"no-answer", "busy", "failed", "canceled"})  # Twilio's final statuses of a call nobody took
RINGING = frozenset({"queued", "initiated", "ringing"})  # placed, nobody has picked up yet
VOICEMAIL = "voicemail"
_MACHINE = ("machine_", "fax")  # AnsweredBy: machine_start, machine_end_beep, …, fax; not human or unknown


@dataclass(frozen=True)
class CallAbout:
    """The page a call is for, its alert as it is now, and the sentence that introduces it."""

    page: PageRecord
    alert: CurrentAlert
    intro: str

    @property
    def group(self) -> AlertGroup:
        return self.alert.group


async def call_about(session: AsyncSession, page_id: int | None) -> CallAbout | None:
    """The call page ``page_id`` (from the URL the bot gave Twilio), or None if there is no such call."""
    page = await session.get(PageRecord, page_id) if page_id is not None else None
    if page is None or page.via != Via.CALL or page.person is None:
        return None
    alert = await load_current(session, page.group_id)
    lead = alert.lead
    intro = call_intro(severity=alert.group.severity, title=alert.group.title, service=lead.service if lead else None,
                       description=lead.description if lead else "")
    return CallAbout(page, alert, intro)


def settled(about: CallAbout, names: Mapping[str, str]) -> str | None:
    """What to say instead of the menu when someone acknowledged or resolved the alert meanwhile."""
    g = about.group
    if g.status == AlertStatus.RESOLVED:
        return already("resolved", names.get(g.resolved_by or "", g.resolved_by))
    if g.status == AlertStatus.ACKNOWLEDGED:
        return already("acknowledged", names.get(g.acknowledged_by or "", g.acknowledged_by))
    return None


async def press(session: AsyncSession, about: CallAbout, key: KeyPress, *, paging: Paging, names: Mapping[str, str],
                now: datetime) -> str:
    """Act on a key pressed during the call; returns what the call says back."""
    person = about.page.person or ""
    group_id = about.group.id
    if key == KeyPress.ESCALATE:
        try:
            report = await escalate_now(session, group_id, paging, by=person, now=now, via="call")
        except NothingToEscalate as exc:
            return f"Could not escalate: {exc}. {GOODBYE}"
        paged = list(dict.fromkeys(names.get(p.person, p.person) if p.person else "the channel" for p in report.pages))
        return f"Escalated: step {report.step} is paging {' and '.join(paged) or 'nobody'}. {GOODBYE}"
    if key == KeyPress.ACK:
        outcome = await actions.acknowledge(session, group_id, actor=person, via="call", now=now,
                                            severities=paging.config.severities)
    else:
        outcome = await actions.resolve(session, group_id, actor=person, via="call", now=now)
    if not outcome.changed:
        g = outcome.group
        by = g.resolved_by if g.status == AlertStatus.RESOLVED else g.acknowledged_by
        said = already(str(outcome.unchanged).removeprefix('already '), names.get(by or '', by)) + outcome.renewal
        return f"{said} {GOODBYE}"
    await session.execute(update(PageRecord).where(PageRecord.group_id == group_id, PageRecord.person == person,
                                                   PageRecord.acked_at.is_(None)).values(acked_at=now))
    return f"{'Acknowledged' if key == KeyPress.ACK else 'Resolved'}. {GOODBYE}"


def outcome_of(status: str, answered_by: str | None) -> str:
    """Twilio's call status, or ``voicemail`` when machine detection says a machine answered."""
    if answered_by and answered_by.startswith(_MACHINE) and status in ("in-progress", "completed"):
        return VOICEMAIL
    return status


async def record_call_status(session: AsyncSession, page: PageRecord, *, sid: str | None, status: str,
                             answered_by: str | None, error_code: str | None, now: datetime) -> bool:
    """Remember what Twilio said about the page's call; True if it is the call's first failure, which
    is recorded in the alert's history and thread (callbacks may repeat, and several say the same)."""
    if sid:
        page.twilio_sid = sid  # known here first when Twilio calls back before the sender recorded it
    outcome = outcome_of(status, answered_by)
    if outcome == "canceled" and page.status == PageStatus.SENT and await _settled(session, page):
        page.delivery_status = outcome  # we stopped it (cancel_ringing): the acknowledgement says why
        return False
    if outcome not in UNREACHED and outcome != VOICEMAIL:
        if page.status != PageStatus.FAILED:  # a voicemail's later "completed" keeps saying voicemail
            page.delivery_status = outcome
        return False
    if page.status == PageStatus.FAILED:
        return False
    error = error_code or outcome
    page.status, page.error, page.delivery_status = PageStatus.FAILED, error, outcome
    group = await session.get_one(AlertGroup, page.group_id)
    await actions.record(session, group, PageFailed(error=error, page_id=page.id, status=outcome), now,
                         actor=page.person, via=page.via)
    return True


async def _settled(session: AsyncSession, page: PageRecord) -> bool:
    group = await session.get_one(AlertGroup, page.group_id)
    return group.status != AlertStatus.FIRING


async def cancel_ringing(session: AsyncSession, group_id: int, now: datetime) -> int:
    """Queue the cancelling of the alert's calls that are still ringing, in the caller's transaction:
    acknowledged or resolved, the alert needs nobody's phone to ring on. A call already answered
    goes on (its words say who acknowledged it, see :func:`settled`). Returns how many were queued."""
    ringing = list(await session.scalars(select(PageRecord.id).where(
        PageRecord.group_id == group_id, PageRecord.via == Via.CALL, PageRecord.status == PageStatus.SENT,
        PageRecord.twilio_sid.is_not(None),
        or_(PageRecord.delivery_status.is_(None), PageRecord.delivery_status.in_(RINGING)))))
    for page_id in ringing:
        await enqueue(session, key=f"call-cancel:{page_id}", kind=OutboxKind.CALL_CANCEL, group_id=group_id,
                      payload=PageSend(page_id=page_id), now=now)
    return len(ringing)
