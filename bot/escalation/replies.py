"""Acting on an SMS reply: acknowledge, escalate or resolve the alerts its codes name, and say so.

The answer is the text of the TwiML reply. When anything is unclear — an unknown code, several
open pages and no code — nothing is changed and the answer lists the sender's open codes, because
the person reading it is half awake and holding a phone. An :class:`Answer` says whether the reply
changed anything: only the ones that did not are counted against the number's hourly allowance of
informational answers (:mod:`bot.escalation.sms_hygiene`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.alerts import actions
from bot.alerts.incoming import AlertStatus
from bot.escalation.engine import NothingToEscalate, Paging, escalate_now
from bot.escalation.models import PageRecord
from bot.escalation.pages import OpenCode, open_codes
from bot.escalation.sms_reply import ReplyAction, SmsCommand

MAX_LISTED = 5
OPT_OUT_HINT = "STOP ends SMS pages, START resumes them."


@dataclass(frozen=True)
class Answer:
    text: str
    acted: bool = False  # something was acknowledged, escalated or resolved


def _title(title: str) -> str:
    return title if len(title) <= 40 else title[:37] + "..."


def list_codes(codes: list[OpenCode]) -> str:
    shown = ", ".join(f"{c.code} {_title(c.title)}" for c in codes[:MAX_LISTED])
    more = f" and {len(codes) - MAX_LISTED} more" if len(codes) > MAX_LISTED else ""
    return f"Your open codes: {shown}{more}."


def help_text(codes: list[OpenCode]) -> str:
    """The answer to HELP (or ``?``): the open codes and the reply forms."""
    if not codes:
        return f"You have no open pages. When paged, reply e.g. 41 A to ack, 41 E to escalate, 41 R to resolve. " \
               f"{OPT_OUT_HINT}"
    c = codes[0].code
    return f"{list_codes(codes)} Reply e.g. {c} A to ack, {c} E to escalate, {c} R to resolve. {OPT_OUT_HINT}"


async def answer_reply(session: AsyncSession, *, person: str, command: SmsCommand, paging: Paging,
                       names: Mapping[str, str], now: datetime) -> Answer:
    codes = await open_codes(session, person)
    if command.action == ReplyAction.HELP:
        return Answer(help_text(codes))
    if not codes:
        return Answer("You have no open pages, so nothing was changed.")
    if command.every:
        if command.action != ReplyAction.ACK:
            return Answer("ALL works with A only (ACK ALL). Nothing was changed.")
        targets = [c for c in codes if c.status == AlertStatus.FIRING]
        if not targets:
            return Answer("Nothing to acknowledge: your open pages are all acknowledged already.")
    elif command.codes:
        by_code = {c.code: c for c in codes}
        unknown = [str(c) for c in command.codes if c not in by_code]
        if unknown:
            return Answer(f"No open page {', '.join(unknown)}; nothing was changed. {list_codes(codes)}")
        targets = [by_code[c] for c in command.codes]
    elif len(codes) == 1:
        targets = codes
    else:
        return Answer(f"Which one? {list_codes(codes)} Reply e.g. {codes[0].code} A.")
    answers = [await _apply(session, c, command.action, person, paging, names, now) for c in targets]
    return Answer(" ".join(a.text for a in answers), acted=any(a.acted for a in answers))


async def _apply(session: AsyncSession, code: OpenCode, action: ReplyAction, person: str, paging: Paging,
                 names: Mapping[str, str], now: datetime) -> Answer:
    name = f"{code.code} {_title(code.title)}"
    if action == ReplyAction.ESCALATE:
        try:
            report = await escalate_now(session, code.group_id, paging, by=person, now=now, via="sms")
        except NothingToEscalate as exc:
            return Answer(f"Could not escalate {name}: {exc}.")
        paged = list(dict.fromkeys(names.get(p.person, p.person) if p.person else "the channel"
                                   for p in report.pages))
        return Answer(f"Escalated {name}: step {report.step} is paging {' and '.join(paged) or 'nobody'}.",
                      acted=True)
    if action == ReplyAction.ACK:
        outcome = await actions.acknowledge(session, code.group_id, actor=person, via="sms", now=now,
                                            severities=paging.config.severities)
    else:
        outcome = await actions.resolve(session, code.group_id, actor=person, via="sms", now=now)
    if not outcome.changed:
        g = outcome.group
        by = g.resolved_by if g.status == AlertStatus.RESOLVED else g.acknowledged_by
        return Answer(f"{name} was {outcome.unchanged}" + (f" by {names.get(by, by)}." if by else ".") + outcome.renewal)
    await session.execute(update(PageRecord).where(PageRecord.group_id == code.group_id, PageRecord.person == person,
                                                   PageRecord.acked_at.is_(None)).values(acked_at=now))
    if action == ReplyAction.ACK:
        return Answer(f"Acknowledged {name}. Paging has stopped.", acted=True)
    return Answer(f"Resolved {name}.", acted=True)
