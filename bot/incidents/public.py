"""What the status page may say about incidents: only status updates published on purpose.

An update is public only when its author published it (``/incident status --public …`` or the update
form's box; :class:`~bot.incidents.entries.StatusUpdate` ``public``). An incident with no public
update is not on the page at all; one with some shows its title, when it started (and was
resolved) and those updates — never its notes, its other updates, its severity, its people or its
channel. The public state is the newest public update's status word, so an internal status change
does not leak either.

What people typed is Slack text: mentions, channel links and ``&lt;`` escapes are turned back into
plain words by :func:`plain_text` (the page escapes the result as HTML itself).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import ValidationError
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.incidents.entries import EntryKind, StatusUpdate
from bot.incidents.models import Incident, TimelineEntry

RESOLVED_SHOWN = timedelta(days=14)
MAX_UPDATES = 50  # per incident, newest kept

_SLACK_TOKEN = re.compile(r"<([@#!])([^<>|]*)(?:\|([^<>]*))?>|<((?:https?|mailto):[^<>|\s]+)(?:\|([^<>]*))?>")


def plain_text(text: str, names: Mapping[str, str] | None = None) -> str:
    """Slack's markup as plain words: ``<@U1|alice>`` → ``@alice`` (the config's name when the
    label is missing), ``<#C1|ops>`` → ``#ops``, ``<https://x|docs>`` → ``docs (https://x)``,
    ``<!here>`` → ``@here``, and ``&lt; &gt; &amp;`` unescaped. Anything else, such as a literal
    ``<script>``, is left as typed."""
    known = names or {}

    def one(m: re.Match[str]) -> str:
        sigil, ref, label, url, url_label = m.groups()
        if url is not None:
            return f"{url_label} ({url})" if url_label and url_label != url else url
        if sigil == "@":
            return "@" + (label or known.get(ref) or "a teammate")
        if sigil == "#":
            return "#" + (label or "a channel")
        if ref.startswith("date^"):
            return label or ""
        if ref.startswith("subteam^"):
            return label or "@a team"
        return "@" + ref if ref in ("here", "channel", "everyone") else (label or "")

    replaced = _SLACK_TOKEN.sub(one, text)
    return replaced.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


@dataclass(frozen=True, slots=True)
class PublicUpdate:
    at: datetime
    status: str | None  # investigating | identified | monitoring, when the update said
    text: str


@dataclass(frozen=True)
class PublicIncident:
    id: int
    title: str
    started_at: datetime
    resolved_at: datetime | None
    updates: list[PublicUpdate]  # newest first

    @property
    def status(self) -> str:
        """``resolved``, else the newest public update's status word, else ``investigating``."""
        if self.resolved_at is not None:
            return "resolved"
        return next((u.status for u in self.updates if u.status), "investigating")


@dataclass(frozen=True)
class PublicIncidents:
    open: list[PublicIncident]  # newest first
    resolved_recent: list[PublicIncident]  # resolved within RESOLVED_SHOWN, most recently resolved first


async def public_incidents(session: AsyncSession, *, now: datetime, names: Mapping[str, str] | None = None,
                           resolved_within: timedelta = RESOLVED_SHOWN) -> PublicIncidents:
    """Open incidents and those resolved within ``resolved_within`` that have a public update (two queries)."""
    incidents = list(await session.scalars(
        select(Incident).where(or_(Incident.resolved_at.is_(None), Incident.resolved_at >= now - resolved_within))
        .order_by(Incident.declared_at.desc(), Incident.id.desc())))
    if not incidents:
        return PublicIncidents([], [])
    entries = await session.scalars(
        select(TimelineEntry).where(TimelineEntry.incident_id.in_([i.id for i in incidents]),
                                    TimelineEntry.kind == EntryKind.STATUS)
        .order_by(TimelineEntry.at.desc(), TimelineEntry.id.desc()))
    updates: dict[int, list[PublicUpdate]] = {}
    for entry in entries:
        try:
            detail = entry.details()
        except ValidationError:  # not what post_status stores: certainly not published
            continue
        if isinstance(detail, StatusUpdate) and detail.public is True:
            updates.setdefault(entry.incident_id, []).append(
                PublicUpdate(at=entry.at, status=detail.status, text=plain_text(entry.text, names)))
    shown = [PublicIncident(id=i.id, title=plain_text(i.title, names), started_at=i.declared_at,
                            resolved_at=i.resolved_at, updates=updates[i.id][:MAX_UPDATES])
             for i in incidents if updates.get(i.id)]
    resolved = sorted((i for i in shown if i.resolved_at is not None),
                      key=lambda i: (i.resolved_at or i.started_at, i.id), reverse=True)
    return PublicIncidents(open=[i for i in shown if i.resolved_at is None], resolved_recent=resolved)


def latest_update(incidents: Sequence[PublicIncident]) -> datetime | None:
    """When the newest public update among ``incidents`` was posted."""
    return max((i.updates[0].at for i in incidents if i.updates), default=None)
