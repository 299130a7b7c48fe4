"""Email over real SMTP: the bot's sender (aiosmtplib) against the stand-in (aiosmtpd) on 127.0.0.1,
plain, STARTTLS and SMTPS with a throwaway CA, and what each kind of server answer becomes."""

from __future__ import annotations

import logging
import socket
import ssl
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from email.message import EmailMessage

import pytest
import trustme

from bot.config import SmtpTls, parse_smtp_url
from bot.delivery import DeliveryError
from bot.notify.smtp import EmailRefused, EmailUnavailable, SmtpResult, SmtpSender
from bot.sandbox.smtp import SmtpStandIn

USER, PASSWORD = "watchstander", "s3cret/pa ss@word"
FROM = "Watchstander <alerts@example.com>"
ALICE, BOB, CAROL = "alice@example.com", "bob@example.com", "carol@example.com"


@dataclass(frozen=True)
class Tls:
    server: ssl.SSLContext  # the stand-in's certificate, for 127.0.0.1
    client: ssl.SSLContext  # trusts only the throwaway CA


@pytest.fixture(scope="module")
def tls() -> Tls:
    ca = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server)
    client = ssl.create_default_context()
    ca.configure_trust(client)
    return Tls(server, client)


def page_email(subject: str = "[P1] Checkout is down", *, to: str = ALICE, cc: str | None = BOB,
               bcc: str | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = FROM, to, subject
    if cc:
        msg["Cc"] = cc
    if bcc:
        msg["Bcc"] = bcc
    msg["Message-ID"] = "<page-17@watchstander.example.com>"
    msg.set_content("Checkout is down.\nAcknowledge: https://watch.example.com/a/17\n")
    msg.add_alternative("<p>Checkout is <b>down</b>.</p><a href='https://watch.example.com/a/17'>Acknowledge</a>\n",
                        subtype="html")
    return msg


def sender(url: str, tls: Tls | None = None) -> SmtpSender:
    return SmtpSender(parse_smtp_url(url), tls_context=tls.client if tls else None)


def closed_port() -> int:
    """A loopback port nothing listens on (bound, never listened, closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def smtp() -> AsyncIterator[SmtpStandIn]:
    """A plain server with an account: fault injection needs no TLS."""
    async with SmtpStandIn(username=USER, password=PASSWORD) as stand_in:
        yield stand_in


@pytest.mark.parametrize("mode", list(SmtpTls))
async def test_a_multipart_email_arrives_over_each_kind_of_connection(mode: SmtpTls, tls: Tls) -> None:
    context = None if mode is SmtpTls.NONE else tls.server
    async with SmtpStandIn(tls=mode, server_context=context, username=USER, password=PASSWORD) as smtp:
        assert smtp.url.startswith({SmtpTls.NONE: "smtp://", SmtpTls.STARTTLS: "smtp+starttls://",
                                    SmtpTls.IMPLICIT: "smtps://"}[mode])
        result = await sender(smtp.url, tls).send(page_email())
        mail = await smtp.wait_for_email(to=BOB, subject_contains="Checkout")
    assert result == SmtpResult(accepted=(ALICE, BOB), refused={})
    assert (mail.mail_from, mail.rcpt_tos) == ("alerts@example.com", (ALICE, BOB))
    assert (mail.header("From"), mail.header("To"), mail.header("Cc")) == (FROM, ALICE, BOB)
    assert mail.subject == "[P1] Checkout is down"
    assert mail.message_id == "<page-17@watchstander.example.com>"
    assert mail.text == "Checkout is down.\nAcknowledge: https://watch.example.com/a/17\n"
    assert mail.html == "<p>Checkout is <b>down</b>.</p><a href='https://watch.example.com/a/17'>Acknowledge</a>\n"
    assert (mail.login, mail.tls) == (USER, mode is not SmtpTls.NONE)
    assert smtp.logins == [USER] and smtp.failed_logins == []
    assert len(smtp.messages) == 1


@pytest.mark.parametrize("mode", [SmtpTls.NONE, SmtpTls.STARTTLS, SmtpTls.IMPLICIT])
async def test_a_wrong_password_is_refused_for_good(mode: SmtpTls, tls: Tls) -> None:
    context = None if mode is SmtpTls.NONE else tls.server
    async with SmtpStandIn(tls=mode, server_context=context, username=USER, password=PASSWORD) as smtp:
        wrong = smtp.url.replace("pa%20ss", "pass")
        assert wrong != smtp.url
        with pytest.raises(EmailRefused) as caught:
            await sender(wrong, tls).send(page_email())
    assert caught.value.code == "smtp_535"
    assert caught.value.final and not caught.value.transient  # recorded at once, not retried as if busy
    assert smtp.messages == [] and smtp.logins == []
    assert set(smtp.failed_logins) == {USER}


async def test_a_busy_server_is_retried_and_a_refusal_is_final(smtp: SmtpStandIn) -> None:
    smtp.fail_next(451)
    smtp.fail_next(550)
    with pytest.raises(EmailUnavailable) as busy:
        await sender(smtp.url).send(page_email("first"))
    with pytest.raises(EmailRefused) as refused:
        await sender(smtp.url).send(page_email("second"))
    result = await sender(smtp.url).send(page_email("third"))
    assert (busy.value.code, busy.value.transient, isinstance(busy.value, DeliveryError)) == ("smtp_451", True, True)
    assert refused.value.code == "smtp_550"
    assert result.accepted == (ALICE, BOB)
    assert [m.subject for m in smtp.messages] == ["third"]


async def test_a_fault_lasts_for_as_many_messages_as_asked(smtp: SmtpStandIn) -> None:
    smtp.fail_next(421, times=2)
    codes = []
    for _ in range(2):
        with pytest.raises(EmailUnavailable) as caught:
            await sender(smtp.url).send(page_email())
        codes.append(caught.value.code)
    await sender(smtp.url).send(page_email())
    assert codes == ["smtp_421", "smtp_421"]
    assert len(smtp.messages) == 1


async def test_greylisting_at_rcpt_is_transient(smtp: SmtpStandIn) -> None:
    smtp.fail_next(450, at="RCPT")
    with pytest.raises(EmailUnavailable) as caught:
        await sender(smtp.url).send(page_email())
    assert caught.value.code == "smtp_450"
    assert smtp.messages == []


async def test_a_closed_port_is_a_connection_error_to_retry() -> None:
    with pytest.raises(EmailUnavailable) as caught:
        await sender(f"smtp://127.0.0.1:{closed_port()}").send(page_email())
    assert caught.value.code == "connection_error:ConnectionRefusedError"
    assert caught.value.transient is True


async def test_one_refused_recipient_does_not_stop_the_others(smtp: SmtpStandIn) -> None:
    smtp.refuse_recipient(BOB.upper(), 550)
    result = await sender(smtp.url).send(page_email())
    assert result == SmtpResult(accepted=(ALICE,), refused={BOB: "smtp_550"})
    assert [m.rcpt_tos for m in smtp.sent_to(ALICE)] == [(ALICE,)]
    assert smtp.sent_to(BOB) == []


async def test_every_recipient_refused_is_a_refusal_unless_one_may_come_back(smtp: SmtpStandIn) -> None:
    smtp.refuse_recipient(ALICE, 550)
    smtp.refuse_recipient(BOB, 553)
    with pytest.raises(EmailRefused) as refused:
        await sender(smtp.url).send(page_email())
    smtp.refuse_recipient(BOB, 452)  # a full mailbox: worth trying again
    with pytest.raises(EmailUnavailable) as busy:
        await sender(smtp.url).send(page_email())
    assert (refused.value.code, refused.value.refused) == ("smtp_550", {ALICE: "smtp_550", BOB: "smtp_553"})
    assert busy.value.code == "smtp_452"
    assert smtp.messages == []


async def test_explicit_recipients_replace_the_headers_and_bcc_is_not_shown(smtp: SmtpStandIn) -> None:
    only_carol = await sender(smtp.url).send(page_email("to carol"), recipients=[CAROL])
    with_bcc = await sender(smtp.url).send(page_email("with bcc", cc=None, bcc=CAROL))
    assert (only_carol.accepted, with_bcc.accepted) == ((CAROL,), (ALICE, CAROL))
    carol = smtp.sent_to(CAROL)
    assert [(m.subject, m.rcpt_tos) for m in carol] == [("to carol", (CAROL,)), ("with bcc", (ALICE, CAROL))]
    assert carol[0].header("To") == ALICE  # the headers are the message's, the envelope is ours
    assert carol[1].header("Bcc") is None and CAROL.encode() not in carol[1].raw


async def test_starttls_is_required_not_attempted(tls: Tls) -> None:
    """smtp+starttls:// never falls back to clear text: a server without STARTTLS is refused."""
    async with SmtpStandIn(username=USER, password=PASSWORD) as plain:
        with pytest.raises(EmailRefused) as caught:
            await sender(plain.url.replace("smtp://", "smtp+starttls://"), tls).send(page_email())
    assert caught.value.code == "smtp_starttls_unsupported"
    assert plain.messages == [] and plain.logins == []


async def test_credentials_for_a_server_without_accounts_are_a_configuration_error() -> None:
    async with SmtpStandIn() as smtp:
        with pytest.raises(EmailRefused) as caught:
            await sender(smtp.url.replace("smtp://", f"smtp://{USER}:pw@")).send(page_email())
    assert caught.value.code == "smtp_auth_unsupported"
    assert smtp.messages == []


@pytest.mark.parametrize("mode", [SmtpTls.STARTTLS, SmtpTls.IMPLICIT])
async def test_a_certificate_the_bot_does_not_trust_stops_the_send(mode: SmtpTls, tls: Tls) -> None:
    async with SmtpStandIn(tls=mode, server_context=tls.server, username=USER, password=PASSWORD) as smtp:
        with pytest.raises(EmailUnavailable) as caught:
            await sender(smtp.url).send(page_email())  # the system's CAs: the throwaway CA is not among them
    assert caught.value.code == "tls_error:SSLCertVerificationError"
    assert smtp.messages == [] and smtp.logins == []  # the password was never sent


@pytest.fixture
def every_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    for name in (None, "bot", "aiosmtplib", "mail.log", "mail.debug"):  # bot.logs may have raised library levels
        caplog.set_level(logging.DEBUG, logger=name)
    yield caplog


async def test_no_password_body_or_address_in_the_logs(every_log: pytest.LogCaptureFixture) -> None:
    async with SmtpStandIn(username=USER, password=PASSWORD) as smtp:
        smtp.refuse_recipient(BOB)
        await sender(smtp.url).send(page_email())
        smtp.fail_next(451)
        with pytest.raises(EmailUnavailable):
            await sender(smtp.url).send(page_email())
    records = every_log.records
    assert any(r.name == "mail.log" and r.levelno == logging.DEBUG for r in records)  # the server's DEBUG was on
    ours = [r for r in records if r.name.startswith(("bot.", "aiosmtplib"))]
    assert [r.getMessage() for r in ours if r.levelno >= logging.INFO] == [
        "email sent, but 1 of 2 recipient(s) refused: smtp_550", "email not sent yet, will retry: smtp_451"]
    assert not [r for r in ours if any(s in r.getMessage() for s in (ALICE, BOB, "Checkout is", PASSWORD))]
    assert PASSWORD not in every_log.text  # not even in the server's own DEBUG lines
