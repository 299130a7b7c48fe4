"""The demo's email scene: the payments team pages its on-call by Slack and by email; the email's
Acknowledge link opens a confirmation page, and its button acknowledges the alert in Slack."""

from __future__ import annotations

import re
import textwrap
from typing import TYPE_CHECKING

from bot.demo.payloads import AM_TOKEN, am_alert, am_payload, demo_team
from bot.sandbox.smtp import SandboxEmail

if TYPE_CHECKING:
    from bot.demo import Stage

EMAIL_FROM = "Watchstander <pager@watchstander.example.com>"
PAYMENTS = demo_team("payments", """
    {after: 0m, notify: [slack:primary, email:primary]}
    {after: 5m, notify: [sms:primary]}
""")
SHOWN_LINES = 5  # of an email's plain-text part, in the transcript, before its links
LINK = re.compile(r"^(Acknowledge|Resolve):\s+(\S+)$")


def email_seen(st: Stage, mail: SandboxEmail) -> None:
    """One email through the SMTP stand-in: who got it, its subject, the start of its text and its links."""
    names = {p.email: p.name for p in st.bot.services.config.people if p.email}
    to = ", ".join(names.get(r, r) for r in mail.rcpt_tos)
    st.transcript.write(f"\n● Email to {to}: {mail.subject}")
    lines = (mail.text or "").splitlines()
    for line in lines[:SHOWN_LINES]:
        for wrapped in textwrap.wrap(line, 100) or [""]:
            st.transcript.write(f"    {wrapped}")
    links = [f"{found[1]}: {_cut(found[2])}" for line in lines if (found := LINK.match(line))]
    if len(lines) > SHOWN_LINES:
        st.transcript.write("    …")
    for link in links:
        st.transcript.write(f"    {link}")


async def scene_email(st: Stage) -> None:
    st.transcript.note("Card payments start failing; the payments team pages its on-call in Slack and by email")
    now = st.clock.now()

    failing = am_alert("CardPaymentsFailing", "fp-cards", service="payments", instance="payments-api-1",
                       summary="card payment failures 12% > 2%", starts=now)
    await st.webhook("/alerts/alertmanager", am_payload("CardPaymentsFailing", [failing]), AM_TOKEN)
    mail = st.smtp.messages[-1]
    link = re.search(r"^Acknowledge: (\S+)$", mail.text or "", re.M)
    assert link is not None, mail.text
    st.later(minutes=2)
    who = st.name(st.cast.primary)
    st.transcript.note(f"{who} opens the email's Acknowledge link on the phone: a page asks to confirm "
                       "(opening it changes nothing, so a mail scanner cannot acknowledge)")
    async with st.http.get(link.group(1)) as resp:
        st.transcript.write(f"    GET {_cut(link.group(1))} → {resp.status}: " + _heading(await resp.text()))
    st.transcript.note(f"{who} presses Acknowledge on that page")
    async with st.http.post(link.group(1)) as resp:
        st.transcript.write(f"    POST {_cut(link.group(1))} → {resp.status}: " + _heading(await resp.text()))
    await st.settle()
    st.later(minutes=6)
    await st.settle()  # acknowledged: the 5-minute SMS step does not page
    st.transcript.note("Payments recover; Alertmanager resolves the alert, and the email thread gets a follow-up")
    await st.webhook("/alerts/alertmanager",
                     am_payload("CardPaymentsFailing", [{**failing, "status": "resolved",
                                                         "endsAt": st.clock.now().isoformat()}], status="resolved"),
                     AM_TOKEN)


def _cut(link: str) -> str:
    return link[:link.rindex("/") + 9] + "…"  # the token is a credential: shown cut short


def _heading(page: str) -> str:
    found = re.search(r'<section class="card banner [a-z]+">.*?<span>([^<]+)</span>', page, re.S)
    return found.group(1) if found else "?"
