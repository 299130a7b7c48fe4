"""Summaries by email: the weekly summary (``summary.email``) and the daily digest (``daily_summary.email``).

Each is one outbox row (``digest_email``) written in the transaction that records the summary as
due, like its Slack post, so it is sent once; the row holds the rendered subject, text and HTML,
and the weekly chart as numbers, drawn when the email is sent and shown inline (``cid:chart``).
"""

from __future__ import annotations

import asyncio

from bot.clock import Clock
from bot.metrics import Metrics
from bot.notify.dispatch import Dispatcher
from bot.notify.email_render import Identity, InlineImage, RenderedEmail, compose
from bot.notify.smtp import SmtpSender
from bot.outbox import Chart, DigestEmail, OutboxKind, OutboxMessage
from bot.reports.chart import render_chart

CHART_CID = "chart"


def digest_payload(rendered: RenderedEmail, to: list[str], chart: Chart | None = None) -> DigestEmail:
    return DigestEmail(to=to, subject=rendered.subject, text=rendered.text, html=rendered.html, chart=chart)


class DigestEmails:
    def __init__(self, *, identity: Identity | None, smtp: SmtpSender | None, clock: Clock, metrics: Metrics) -> None:
        self._identity = identity
        self._smtp = smtp
        self._clock = clock
        self._metrics = metrics

    def start(self, identity: Identity) -> None:
        self._identity = identity

    def register(self, dispatcher: Dispatcher) -> None:
        dispatcher.handlers[OutboxKind.DIGEST_EMAIL] = self.send

    async def send(self, item: OutboxMessage) -> dict[str, object]:
        payload = DigestEmail.of(item)
        if self._smtp is None or self._identity is None:
            return {"skipped": "email is not set up"}
        images = []
        if payload.chart is not None:
            spec = payload.chart
            png = await asyncio.to_thread(render_chart, spec.days, title=spec.title, zone_label=spec.zone,
                                          first_from=spec.first_from, last_until=spec.last_until)
            images.append(InlineImage(cid=CHART_CID, png=png, filename=spec.filename))
        rendered = RenderedEmail(subject=payload.subject, text=payload.text, html=payload.html)
        msg = compose(rendered, identity=self._identity, to=payload.to, name=f"digest-{item.id}",
                      now=self._clock.now(), images=images)
        result = await self._smtp.send(msg)
        self._metrics.notifications.labels("email", "digest").inc()
        return {"message_id": self._identity.message_id(f"digest-{item.id}"), "refused": dict(result.refused)}
