"""Alert emails: a page by email, a route's copy, and the follow-up once the alert is resolved.

Every email about an alert has a plain-text and an HTML part (``templates/email/alert.*``,
``resolved.*``), the alert's facts (severity, title, metric/threshold/value, labels, runbook and
dashboard links, the Slack message), and — while the alert is open — **Acknowledge** and
**Resolve** links. Those carry a signed token naming the alert, the action and whoever the email
went to (``bot.alerts.email_links``), valid for a day; they open a confirmation page, and only its
POST acts (``bot.web.email_links``).

All emails about one alert to one address form one conversation (``bot.alerts.emails``): each
has its own Message-ID, built from stored names (``page-<id>``, ``copy-<thread id>``,
``resolved-<thread id>-<event id>``) plus a tag of this installation, and every one after the
first answers the first with ``In-Reply-To`` and ``References``.

SMTP cannot be asked "did you already take this one?", so a send interrupted between the server
accepting and the bot recording is sent again after the restart — with the same Message-ID, which
mail clients and archives use to show one message. A crash before the send (after the page was
claimed) sends it once.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from email.message import EmailMessage
from zoneinfo import ZoneInfo

from jinja2 import Environment
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.alerts.current import CurrentAlert, load_current
from bot.alerts.email_links import LINK_VALID, LinkAction, LinkClaim, LinkSigner, load_key
from bot.alerts.emails import EmailPart, EmailThread
from bot.alerts.incoming import AlertStatus
from bot.alerts.ingest import SOURCE_NAMES
from bot.clock import Clock
from bot.config import OWN_INTEGRATION, Config, Settings
from bot.db import transaction
from bot.durations import format_duration
from bot.escalation.drill import TEST_LABEL
from bot.escalation.models import PageRecord, PageStatus, Via
from bot.notify.dispatch import Deferred, Dispatcher
from bot.notify.email_render import Identity, RenderedEmail, compose, render
from bot.notify.page_sender import PageDelivery, PageRefused, Sent, ShownIn
from bot.notify.smtp import EmailRefused, SmtpSender
from bot.outbox import AlertEmail, OutboxKind, OutboxMessage
from bot.severity import Severity

log = logging.getLogger(__name__)

COLOURS = {Severity.CRITICAL: "#b42318", Severity.HIGH: "#c4320a", Severity.MEDIUM: "#b54708",
           Severity.LOW: "#175cd3", Severity.INFO: "#475467"}
MAX_LABELS = 20


def slack_link(channel_id: str | None, ts: str | None) -> str | None:
    """A link that opens the Slack message in whichever workspace the reader is signed in to."""
    if not channel_id or not ts:
        return None
    return f"https://slack.com/archives/{channel_id}/p{ts.replace('.', '')}"


@dataclass(frozen=True)
class AlertView:
    """What the alert templates show, in words; nothing here needs a template to compute."""

    severity: str
    colour: str
    title: str
    service: str | None
    description: str
    metric: str | None
    threshold: str | None
    value: str | None
    labels: tuple[tuple[str, str], ...]
    runbook_url: str | None
    dashboard_url: str | None
    source_url: str | None
    slack_url: str | None
    status: str
    team: str | None
    source: str
    reason: str
    test: bool
    more: int
    ack_url: str | None = None
    resolve_url: str | None = None
    valid_for: str = f"{int(LINK_VALID.total_seconds() // 3600)} hours"


def _who(actor: str | None, via: str | None, names: Mapping[str, str]) -> str:
    if not actor:
        return "someone"
    name = names.get(actor, actor)
    return f"{name} ({'phone call' if via == 'call' else via})" if via in ("sms", "email", "call") else name


def status_words(alert: CurrentAlert, zone: ZoneInfo, names: Mapping[str, str], now: datetime) -> str:
    g = alert.group
    if g.status == AlertStatus.RESOLVED and g.resolved_at:
        return (f"Resolved by {_who(g.resolved_by, g.resolved_via, names)} after "
                f"{format_duration(g.resolved_at - g.created_at)}.")
    if g.status == AlertStatus.ACKNOWLEDGED and g.acknowledged_at:
        return (f"Acknowledged by {_who(g.acknowledged_by, g.acknowledged_via, names)} after "
                f"{format_duration(g.acknowledged_at - g.created_at)}.")
    since = g.created_at.astimezone(zone).strftime("%a %d %b %H:%M %Z")
    age = now - g.created_at
    return (f"Firing since {since} ({format_duration(age) + ' ago' if age >= timedelta(minutes=1) else 'just now'}),"
            " not acknowledged yet.")


class AlertEmails:
    """Builds and sends the alert emails; the Notifier behind ``page_email`` and the ``alert_email`` handler."""

    def __init__(self, *, settings: Settings, config: Config, clock: Clock, env: Environment,
                 sessions: async_sessionmaker[AsyncSession], smtp: SmtpSender | None) -> None:
        self._settings = settings
        self._config = config
        self._clock = clock
        self._env = env
        self._sessions = sessions
        self._smtp = smtp
        self._names = {p.slack_id: p.name for p in config.people}
        self._zone = config.zone()
        self._signer: LinkSigner | None = None
        self._identity: Identity | None = None

    async def start(self) -> None:
        """Load (or, on the very first start, make) the link-signing key; at start, not on first use."""
        async with transaction(self._sessions) as s:
            key = await load_key(s, self._clock.now())
        self._signer = LinkSigner(key)
        self._identity = Identity.of(self._settings.email_from or "watchstander@watchstander.invalid", key)

    @property
    def signer(self) -> LinkSigner:
        assert self._signer is not None, "AlertEmails.start() runs at start-up"
        return self._signer

    @property
    def identity(self) -> Identity:
        assert self._identity is not None, "AlertEmails.start() runs at start-up"
        return self._identity

    def register(self, dispatcher: Dispatcher) -> None:
        dispatcher.handlers[OutboxKind.ALERT_EMAIL] = self.send_thread_email

    # -- words ------------------------------------------------------------------------------
    def link(self, action: LinkAction, group_id: int, actor: str, now: datetime) -> str:
        token = self.signer.sign(LinkClaim(group_id=group_id, action=action, actor=actor, expires_at=now + LINK_VALID))
        return f"{self._settings.base_public_url}/email/{action.value}/{token}"

    def view(self, alert: CurrentAlert, *, reason: str, actor: str | None, shown_in: ShownIn | None) -> AlertView:
        g, lead, now = alert.group, alert.lead, self._clock.now()
        integration = next((i for i in self._config.integrations if i.name == g.integration), None)
        source = "Watchstander" if g.integration == OWN_INTEGRATION else (
            SOURCE_NAMES.get(integration.type, integration.name) if integration else g.integration)
        labels = tuple(sorted((str(k), str(v)) for k, v in (lead.labels if lead else {}).items()))[:MAX_LABELS]
        channel, ts = (shown_in.channel_id, shown_in.ts) if shown_in else (g.slack_channel_id, g.slack_ts)
        view = AlertView(
            severity=g.severity.value, colour=COLOURS.get(g.severity, "#475467"), title=g.title,
            service=lead.service if lead else None, description=lead.description if lead else "",
            metric=lead.metric if lead else None, threshold=lead.threshold if lead else None,
            value=lead.value if lead else None, labels=labels,
            runbook_url=lead.runbook_url if lead else None, dashboard_url=lead.dashboard_url if lead else None,
            source_url=lead.source_url if lead else None, slack_url=slack_link(channel, ts),
            status=status_words(alert, self._zone, self._names, now), team=g.team, source=source, reason=reason,
            test=bool(lead and lead.labels.get(TEST_LABEL) == "true"), more=max(len(alert.alerts) - 1, 0))
        if actor is None or g.status == AlertStatus.RESOLVED:
            return view
        return replace(view, ack_url=self.link(LinkAction.ACK, g.id, actor, now),
                       resolve_url=self.link(LinkAction.RESOLVE, g.id, actor, now))

    def subject(self, alert: CurrentAlert) -> str:
        g, lead = alert.group, alert.lead
        service = f" ({lead.service})" if lead and lead.service else ""
        return f"[{g.severity.value.upper()}] {g.title}{service}"

    def message(self, rendered: RenderedEmail, *, to: str, name: str, reply_to_root: str | None) -> EmailMessage[str, str]:
        return compose(rendered, identity=self.identity, to=[to], name=name, now=self._clock.now(),
                       reply_to=reply_to_root if reply_to_root != name else None)

    # -- pages (the Notifier for Via.EMAIL) -------------------------------------------------
    def _page_reason(self, delivery: PageDelivery) -> str:
        page, team = delivery.page, delivery.group.team
        whom = self._names.get(page.person or "", page.address or "you")
        if page.step is None:
            by = self._names.get(page.requested_by or "", page.requested_by or "someone")
            return f"{by} asked Watchstander to page {whom} about this alert."
        return f"Step {page.step} of {team or 'the'} team's escalation pages {whom} by email."

    async def send(self, delivery: PageDelivery) -> Sent:
        page = delivery.page
        if self._smtp is None:
            raise PageRefused("not_configured")
        if not page.address:
            raise PageRefused("no_email")
        name = f"page-{page.id}"
        view = self.view(delivery.alert, reason=self._page_reason(delivery),
                         actor=page.person or page.address, shown_in=delivery.shown_in)
        rendered = render(self._env, "alert", self.subject(delivery.alert), alert=view)
        msg = self.message(rendered, to=page.address, name=name, reply_to_root=delivery.email_root)
        try:
            await self._smtp.send(msg)
        except EmailRefused as exc:
            raise PageRefused(exc.code) from None
        return Sent(ref=self.identity.message_id(name), status="accepted")

    # -- copies and follow-ups (the alert_email handler) ------------------------------------
    async def send_thread_email(self, item: OutboxMessage) -> dict[str, object]:
        payload = AlertEmail.of(item)
        async with self._sessions() as s:
            thread = await s.get_one(EmailThread, payload.thread_id)
            alert = await load_current(s, thread.group_id)
            if payload.part == EmailPart.RESOLVED and not await self._thread_began(s, thread):
                return {"skipped": "nothing was sent in this thread"}
        if self._smtp is None:
            return {"skipped": "email is not set up"}
        if payload.part == EmailPart.RESOLVED:
            name = f"resolved-{thread.id}-{payload.event_id}"
            view = self.view(alert, reason=self._thread_reason(thread), actor=None, shown_in=None)
            rendered = render(self._env, "resolved", "Re: " + self.subject(alert), alert=view)
        else:
            name = thread.root
            view = self.view(alert, reason=self._thread_reason(thread), actor=thread.address, shown_in=None)
            rendered = render(self._env, "alert", self.subject(alert), alert=view)
        result = await self._smtp.send(self.message(rendered, to=thread.address, name=name, reply_to_root=thread.root))
        return {"message_id": self.identity.message_id(name), "refused": dict(result.refused)}

    def _thread_reason(self, thread: EmailThread) -> str:
        if thread.person:
            return f"You ({self._names.get(thread.person, thread.person)}) were paged about this alert by email."
        if thread.root.startswith("page-"):
            return f"The escalation paged {thread.address} about this alert by email."
        return f"The config sends a copy of alerts like this one to {thread.address}; this email pages nobody."

    async def _thread_began(self, s: AsyncSession, thread: EmailThread) -> bool:
        """Whether the thread's first email went out (a follow-up needs something to follow);
        :class:`Deferred` while it may still go."""
        if thread.root.startswith("page-"):
            status = await s.scalar(select(PageRecord.status).where(PageRecord.id == int(thread.root[5:])))
            if status == PageStatus.PENDING:
                raise Deferred("the page by email it follows")
            if status == PageStatus.SENT:
                return True
            sent_pages = await s.scalar(select(PageRecord.id).where(
                PageRecord.group_id == thread.group_id, PageRecord.via == Via.EMAIL,
                PageRecord.address == thread.address, PageRecord.status == PageStatus.SENT).limit(1))
            return sent_pages is not None
        copy = (await s.execute(select(OutboxMessage.sent_at, OutboxMessage.failed_at).where(
            OutboxMessage.key == f"email:{thread.id}:alert"))).one_or_none()
        if copy is None or copy.failed_at is not None:
            return False
        if copy.sent_at is None:
            raise Deferred("the email copy it follows")
        return True
