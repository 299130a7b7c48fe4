"""What can happen to an alert group, and what each happening records.

Every :class:`~bot.alerts.models.AlertEvent` has a kind (:class:`EventKind`, the value its ``kind``
column stores) and a detail of that kind's shape: one model per kind below, written by the
producer (``record(session, group, Paged(step=1, ...), now)``, so no producer spells a kind) and
validated again when read (:func:`parse_detail`). Consumers ``match`` on the detail's class with
``assert_never`` in the last case, so a new kind that a thread reply, the incident timeline or the
summary does not handle is a type error, not a reply that silently says the kind's name.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Annotated, ClassVar, TypeVar, get_args

from pydantic import BaseModel, ConfigDict, PlainSerializer

from bot.severity import Severity


class EventKind(StrEnum):
    RECEIVED = "received"                  # an alert fired (its source, or /oncall page)
    REPEATED = "repeated"                  # the source sent a firing alert again
    ALERT_RESOLVED = "alert_resolved"      # the source resolved one alert of the group
    SILENCED = "silenced"                  # a silence quiets the group
    ACKNOWLEDGED = "acknowledged"
    UNACKNOWLEDGED = "unacknowledged"
    RESOLVED = "resolved"                  # the group is resolved (by a person or its source)
    SNOOZED = "snoozed"
    SILENCED_SIMILAR = "silenced_similar"
    REOPENED = "reopened"                  # a snooze ended on a still-firing alert
    ACK_TIMED_OUT = "ack_timed_out"        # acknowledged, not resolved within ack_timeout: firing again
    ESCALATED = "escalated"                # a later step, or someone asked for more help
    PAGED = "paged"
    PAGE_FAILED = "page_failed"
    PAGE_SKIPPED = "page_skipped"          # a step's target had nobody to page
    NOT_ESCALATED = "not_escalated"        # no team owns the alert


# Stored as ``datetime.isoformat()`` (``+00:00``), as it always was.
IsoDatetime = Annotated[datetime, PlainSerializer(lambda at: at.isoformat(), return_type=str)]


class EventDetail(BaseModel):
    """The detail of one kind of event. Fields the producer did not set are not stored."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    KIND: ClassVar[EventKind]

    def stored(self) -> dict[str, object]:
        """The JSON the ``detail`` column keeps."""
        return self.model_dump(mode="json", exclude_unset=True)


class Received(EventDetail):
    KIND = EventKind.RECEIVED
    severity: Severity
    title: str


class Repeated(EventDetail):
    KIND = EventKind.REPEATED
    count: int


class AlertResolved(EventDetail):
    KIND = EventKind.ALERT_RESOLVED


class Silenced(EventDetail):
    KIND = EventKind.SILENCED
    silence_id: int


class Acknowledged(EventDetail):
    KIND = EventKind.ACKNOWLEDGED


class Unacknowledged(EventDetail):
    KIND = EventKind.UNACKNOWLEDGED


class Resolved(EventDetail):
    KIND = EventKind.RESOLVED


class Snoozed(EventDetail):
    KIND = EventKind.SNOOZED
    until: IsoDatetime
    minutes: int


class SilencedSimilar(EventDetail):
    KIND = EventKind.SILENCED_SIMILAR
    silence_id: int
    until: IsoDatetime
    matchers: dict[str, str]


class Reopened(EventDetail):
    KIND = EventKind.REOPENED


class AckTimedOut(EventDetail):
    """``by``/``via`` acknowledged it at ``acknowledged_at`` and did not resolve it within ``seconds``
    (the severity's ``ack_timeout``); ``restarted``: its escalation policy starts again from step 1."""

    KIND = EventKind.ACK_TIMED_OUT
    by: str | None = None
    via: str | None = None
    acknowledged_at: IsoDatetime
    seconds: int
    restarted: bool = False


class Escalated(EventDetail):
    """A policy step after the first (``step``/``round``), a hand-over to ``team`` or a request for
    ``person``; ``by`` is who asked (None: the policy's timer)."""

    KIND = EventKind.ESCALATED
    step: int | None = None
    round: int | None = None
    by: str | None = None
    team: str | None = None
    person: str | None = None


class Paged(EventDetail):
    """``step``/``round`` are 1-based; both None for a page someone asked for by name (``by``)."""

    KIND = EventKind.PAGED
    step: int | None = None
    round: int | None = None
    page_id: int | None = None
    by: str | None = None
    goes_at: datetime | None = None  # a person's later channel (person:<…> rules): sent then, unless acted on
    quiet: bool = False  # held by the person's quiet hours until goes_at


class PageFailed(EventDetail):
    """``error`` is the provider's code; ``status`` Twilio's delivery status, or ``refused``."""

    KIND = EventKind.PAGE_FAILED
    error: str | None = None
    page_id: int | None = None
    status: str | None = None


class PageSkipped(EventDetail):
    """``step``/``round`` are 1-based; both None for a page someone asked for by name."""

    KIND = EventKind.PAGE_SKIPPED
    step: int | None = None
    round: int | None = None
    target: str
    reason: str


class NotEscalated(EventDetail):
    KIND = EventKind.NOT_ESCALATED
    reason: str


AnyEventDetail = (Received | Repeated | AlertResolved | Silenced | Acknowledged | Unacknowledged | Resolved
                  | Snoozed | SilencedSimilar | Reopened | AckTimedOut | Escalated | Paged | PageFailed | PageSkipped
                  | NotEscalated)

DETAIL_TYPES: dict[EventKind, type[AnyEventDetail]] = {cls.KIND: cls for cls in get_args(AnyEventDetail)}
if set(DETAIL_TYPES) != set(EventKind) or len(DETAIL_TYPES) != len(get_args(AnyEventDetail)):
    raise RuntimeError("every EventKind needs exactly one detail model in AnyEventDetail")

D = TypeVar("D", bound=EventDetail)


def parse_detail(kind: EventKind, detail: Mapping[str, object]) -> AnyEventDetail:
    """The stored detail as its kind's model; raises ``pydantic.ValidationError`` if it is not one."""
    return DETAIL_TYPES[kind].model_validate(detail)


def detail_as(model: type[D], kind: EventKind, detail: Mapping[str, object]) -> D:
    """The stored detail of an event the caller selected by kind, e.g. ``detail_as(Paged, ...)``."""
    if kind != model.KIND:
        raise ValueError(f"a {kind} event has no {model.__name__} detail")
    return model.model_validate(detail)
