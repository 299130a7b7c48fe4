"""The SMTP stand-in behaves like a careful relay, so a sender that works against it works against one:
no MAIL before STARTTLS where it is required, no AUTH offered in clear there, no MAIL before AUTH."""

from __future__ import annotations

import ssl

import aiosmtplib
import pytest
import trustme

from bot.config import SmtpTls
from bot.sandbox.smtp import SmtpStandIn


@pytest.fixture(scope="module")
def server_context() -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    trustme.CA().issue_cert("127.0.0.1").configure_cert(context)
    return context


async def test_starttls_mode_refuses_mail_in_clear_and_hides_auth(server_context: ssl.SSLContext) -> None:
    async with SmtpStandIn(tls=SmtpTls.STARTTLS, server_context=server_context, username="u", password="p") as smtp:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=smtp.port, start_tls=False)
        async with client:
            await client.ehlo()
            offered = (client.supports_extension("starttls"), client.supports_extension("auth"))
            with pytest.raises(aiosmtplib.SMTPSenderRefused) as caught:
                await client.sendmail("a@example.com", ["b@example.com"], "Subject: x\r\n\r\nbody\r\n")
    assert offered == (True, False)
    assert (caught.value.code, caught.value.message) == (530, "Must issue a STARTTLS command first")
    assert smtp.messages == []


async def test_a_server_with_an_account_refuses_mail_before_auth() -> None:
    async with SmtpStandIn(username="u", password="p") as smtp:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=smtp.port, start_tls=False)
        async with client:
            with pytest.raises(aiosmtplib.SMTPSenderRefused) as caught:
                await client.sendmail("a@example.com", ["b@example.com"], "Subject: x\r\n\r\nbody\r\n")
    assert caught.value.code == 530
    assert smtp.messages == []


async def test_a_server_without_accounts_offers_no_auth_and_takes_mail() -> None:
    async with SmtpStandIn() as smtp:
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=smtp.port, start_tls=False) as client:
            await client.ehlo()
            offers_auth = client.supports_extension("auth")
            await client.sendmail("a@example.com", ["b@example.com"], "Subject: hello\r\n\r\nbody\r\n")
        mail = await smtp.wait_for_email(to="B@example.com", subject_contains="hel")
    assert offers_auth is False
    assert (mail.subject, mail.text, mail.html, mail.login, mail.tls) == ("hello", "body\n", None, None, False)
    assert smtp.url == f"smtp://127.0.0.1:{smtp.port}"


async def test_waiting_for_an_email_that_never_comes_says_what_came() -> None:
    async with SmtpStandIn() as smtp:
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=smtp.port, start_tls=False) as client:
            await client.sendmail("a@example.com", ["b@example.com"], "Subject: digest\r\n\r\nbody\r\n")
        with pytest.raises(TimeoutError) as caught:
            await smtp.wait_for_email(to="b@example.com", subject_contains="page", timeout=0.05)
    assert str(caught.value) == "condition not met within 0.05s; 1 email(s) so far: ['digest']"


def test_the_stand_in_says_what_is_missing(server_context: ssl.SSLContext) -> None:
    with pytest.raises(ValueError, match="tls=starttls needs a server_context"):
        SmtpStandIn(tls=SmtpTls.STARTTLS)
    with pytest.raises(ValueError, match="give both username and password"):
        SmtpStandIn(username="u")
    with pytest.raises(ValueError, match="a 4xx or 5xx reply code"):
        SmtpStandIn().fail_next(250)
    with pytest.raises(RuntimeError, match="not started"):
        _ = SmtpStandIn().url


async def test_the_url_carries_the_account_percent_encoded(server_context: ssl.SSLContext) -> None:
    async with SmtpStandIn(tls=SmtpTls.IMPLICIT, server_context=server_context, username="a@b", password="p/w") as smtp:
        assert smtp.url == f"smtps://a%40b:p%2Fw@127.0.0.1:{smtp.port}"
