"""Silences and maintenance windows from ``/oncall silence``: parse, create, list, end early.

A silence keeps matching alerts quiet — stored and recorded, never posted or paged — from its
start to its end. A maintenance window is the same thing with a start in the future. Matchers use
the route syntax (``service=api``, ``alertname=~^Disk``); an alert's labels here are its source
labels plus ``service``, ``severity`` and ``alertname``, exactly as routing sees them.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.alerts.actions import record, touch
from bot.alerts.events import Silenced
from bot.alerts.incoming import AlertStatus
from bot.alerts.matchers import labels_match
from bot.alerts.models import Alert, AlertGroup, Silence
from bot.durations import format_duration
from bot.escalation.models import Escalation
from bot.oncall.timeparse import SpanError, parse_span

MAX_SILENCE = timedelta(days=30)
_LABEL = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LEADING_DURATION = re.compile(r"^(\d[\w.]*)\s+(from\s+.+)$")
EXAMPLES = "e.g. /oncall silence service=api 2h, or alertname=~^Disk from sat 22:00 for 4h"


class SilenceError(ValueError):
    """What was wrong with the typed silence; ``str()`` is shown to the person who typed it."""


@dataclass(frozen=True)
class SilenceRequest:
    matchers: dict[str, str]
    starts_at: datetime
    ends_at: datetime


def parse_silence(text: str, *, now: datetime, zone: str | ZoneInfo) -> SilenceRequest:
    """``service=api alertname=~^Disk 2h`` or ``service=api from sat 22:00 for 4h`` (also ``2h from sat 22:00``)."""
    try:
        tokens = shlex.split(text)
    except ValueError as exc:
        raise SilenceError(f"cannot read that: {exc}") from None
    matchers: dict[str, str] = {}
    rest: list[str] = []
    for token in tokens:
        key, eq, value = token.partition("=")
        if not eq:
            rest.append(token)
            continue
        if not _LABEL.match(key) or not value or value == "~":
            raise SilenceError(f"{token!r} is not a matcher; write label=value or label=~regex")
        if value.startswith("~"):
            try:
                re.compile(value[1:])
            except re.error as exc:
                raise SilenceError(f"{key}: bad regular expression {value[1:]!r}: {exc}") from None
        matchers[key] = value
    if not matchers:
        raise SilenceError(f"say which alerts to silence with label=value matchers; {EXAMPLES}")
    span = " ".join(rest)
    if not span:
        raise SilenceError(f"say for how long; {EXAMPLES}")
    if m := _LEADING_DURATION.match(span):
        span = f"{m.group(2)} for {m.group(1)}"
    try:
        start, end = parse_span(span, now=now, zone=zone, max_span=timedelta(days=3650))
    except SpanError as exc:
        raise SilenceError(str(exc)) from None
    if end - start > MAX_SILENCE:
        raise SilenceError(f"{format_duration(end - start)} is longer than the {MAX_SILENCE.days} days a silence "
                           "may last; a silence that long hides real problems")
    return SilenceRequest(matchers, start, end)


def alert_labels(alert: Alert) -> dict[str, str]:
    """The labels routes and silences match on, for a stored alert."""
    labels = {k: str(v) for k, v in alert.labels.items()}
    if alert.service:
        labels.setdefault("service", alert.service)
    labels.setdefault("severity", alert.severity)
    labels.setdefault("alertname", alert.title)
    return labels


def is_active(silence: Silence, now: datetime) -> bool:
    return silence.starts_at <= now < silence.ends_at and silence.ended_early_at is None


async def silences_in_force(session: AsyncSession, now: datetime) -> list[Silence]:
    return list(await session.scalars(select(Silence).where(
        Silence.starts_at <= now, Silence.ends_at > now, Silence.ended_early_at.is_(None))))


async def matching_silence(session: AsyncSession, group_id: int, silences: list[Silence]) -> Silence | None:
    """The first of ``silences`` (those in force) matching one of the group's open alerts — a
    maintenance window that began after the alert did, say."""
    if not silences:
        return None
    members = list(await session.scalars(select(Alert).where(Alert.group_id == group_id,
                                                             Alert.status != AlertStatus.RESOLVED)))
    return next((x for x in silences if any(labels_match(x.matchers, alert_labels(a)) for a in members)), None)


async def quiet(session: AsyncSession, group: AlertGroup, silence: Silence, now: datetime) -> None:
    """Put an open alert under a silence: its message says so, and its history records it."""
    group.silence_id = silence.id
    touch(group, now)
    await record(session, group, Silenced(silence_id=silence.id), now, actor=silence.created_by)


async def add_silence(session: AsyncSession, request: SilenceRequest, *, actor: str, now: datetime) -> tuple[Silence, int]:
    """Store the silence; if it is in force now, it also quiets matching open alerts. Returns (silence, quieted)."""
    silence = Silence(matchers=request.matchers, starts_at=request.starts_at, ends_at=request.ends_at,
                      created_by=actor, created_at=now, reason="/oncall silence")
    session.add(silence)
    await session.flush()
    quieted = 0
    if is_active(silence, now):
        rows = await session.execute(
            select(AlertGroup, Alert).join(Alert, Alert.group_id == AlertGroup.id)
            .where(AlertGroup.status != AlertStatus.RESOLVED, AlertGroup.silence_id.is_(None),
                   Alert.status != AlertStatus.RESOLVED))
        matched = {group.id: group for group, alert in rows if labels_match(silence.matchers, alert_labels(alert))}
        for group in matched.values():
            await quiet(session, group, silence, now)
        quieted = len(matched)
    return silence, quieted


async def current_silences(session: AsyncSession, now: datetime) -> list[Silence]:
    """Silences in force and maintenance windows still to come, soonest end first."""
    rows = await session.scalars(
        select(Silence).where(Silence.ends_at > now, Silence.ended_early_at.is_(None)).order_by(Silence.ends_at))
    return list(rows)


async def end_silence(session: AsyncSession, silence_id: int, *, actor: str, now: datetime) -> Silence:
    """End a silence (or cancel a window) now. Alerts it quieted show as firing again and, if
    they escalate, carry on with the step the silence held back."""
    silence = await session.get(Silence, silence_id)
    if silence is None or silence.ended_early_at is not None or silence.ends_at <= now:
        raise SilenceError(f"there is no current silence #{silence_id}; /oncall silence list shows them")
    silence.ended_early_at, silence.ended_by = now, actor
    groups = list(await session.scalars(select(AlertGroup).where(AlertGroup.silence_id == silence_id,
                                                                 AlertGroup.status != AlertStatus.RESOLVED)))
    for group in groups:
        touch(group, now)
    if groups:  # the escalation step that waited for the silence's end runs now instead
        await session.execute(update(Escalation)
                              .where(Escalation.group_id.in_([g.id for g in groups]), Escalation.next_at > now)
                              .values(next_at=now))
    return silence
