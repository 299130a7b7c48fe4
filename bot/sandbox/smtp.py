"""A local SMTP server standing in for the mail relay, with aiosmtpd, in the running event loop.

The bot's real sender (:mod:`bot.notify.smtp`, aiosmtplib) talks to it over a real socket on
127.0.0.1, so connection handling, STARTTLS, implicit TLS and AUTH are what the tests exercise::

    async with SmtpStandIn(tls=SmtpTls.STARTTLS, server_context=ctx, username="bot", password="pw") as smtp:
        settings = Settings(smtp_url=smtp.url, ...)         # smtp+starttls://bot:pw@127.0.0.1:PORT
        ...
        mail = await smtp.wait_for_email(to="alice@example.com", subject_contains="[P1]")
        assert "Acknowledge" in mail.html

Every message the server accepted is a :class:`SandboxEmail`. :meth:`SmtpStandIn.fail_next` and
:meth:`SmtpStandIn.refuse_recipient` answer as a busy or refusing server would. Like a real relay,
the STARTTLS mode refuses everything but EHLO, STARTTLS and QUIT in clear, and offers AUTH only
once the connection is encrypted; a server given a username refuses MAIL until AUTH succeeded.
"""

from __future__ import annotations

import asyncio
import email.policy
import logging
import secrets
import socket
import ssl
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesParser
from types import TracebackType
from typing import Literal, Self, TypeVar, cast
from urllib.parse import quote

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from bot.config import SmtpTls
from bot.sandbox.http_server import ChangeSignal

T = TypeVar("T")

HOSTNAME = "smtp.sandbox.test"
MECHANISMS = ("LOGIN", "PLAIN")  # aiosmtpd's built-in ones
_SCHEMES = {SmtpTls.NONE: "smtp", SmtpTls.STARTTLS: "smtp+starttls", SmtpTls.IMPLICIT: "smtps"}
_REPLIES = {
    421: "4.3.2 Service not available, closing transmission channel",
    450: "4.2.0 Mailbox unavailable, try again later",
    451: "4.3.0 Requested action aborted: local error in processing",
    452: "4.3.1 Insufficient system storage",
    550: "5.7.1 Message rejected",
    551: "5.1.6 User not local",
    552: "5.3.4 Message size exceeds fixed limit",
    553: "5.1.3 Mailbox name not allowed",
    554: "5.7.1 Transaction failed",
}


def _not_our_deprecation(record: logging.LogRecord) -> bool:
    """aiosmtpd warns on every successful AUTH about its own use of ``Session.login_data``: nothing to act on."""
    return "login_data is deprecated" not in str(record.msg)


@dataclass(frozen=True)
class SandboxEmail:
    """One message the stand-in accepted: the envelope as sent, and the message parsed as a reader would."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage
    raw: bytes
    login: str | None = None  # the user who authenticated on this connection
    tls: bool = False         # whether the message travelled encrypted (STARTTLS or SMTPS)

    @property
    def subject(self) -> str:
        return str(self.message.get("Subject", ""))

    @property
    def message_id(self) -> str | None:
        return self.header("Message-ID")

    def header(self, name: str) -> str | None:
        value = self.message.get(name)
        return None if value is None else str(value)

    def _part(self, subtype: str) -> str | None:
        part = self.message.get_body(preferencelist=(subtype,))
        if part is None or part.get_content_subtype() != subtype:
            return None
        return cast(str, part.get_content()).replace("\r\n", "\n")  # as a reader sees it, not as it was sent

    @property
    def text(self) -> str | None:
        """The text/plain body (the plain part of a multipart/alternative), or None; lines end in ``\\n``."""
        return self._part("plain")

    @property
    def html(self) -> str | None:
        """The text/html body, or None."""
        return self._part("html")


@dataclass
class _Fault:
    code: int
    message: str
    times: int
    at: Literal["RCPT", "DATA"]


@dataclass
class _Recorder:
    """aiosmtpd's handler: its ``handle_*`` hooks answer the SMTP commands."""

    stand_in: SmtpStandIn
    faults: weakref.WeakKeyDictionary[Session, _Fault] = field(default_factory=weakref.WeakKeyDictionary)

    async def handle_EHLO(self, server: SMTP, session: Session, envelope: Envelope, hostname: str,
                          responses: list[str]) -> list[str]:
        session.host_name = hostname
        if self.stand_in.username is None:  # a server without accounts offers no AUTH
            return [r for r in responses if not r.startswith("250-AUTH")]
        return responses

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          mail_options: list[str]) -> str:
        if self.stand_in.username is not None and not session.authenticated:
            return "530 5.7.0 Authentication required"
        fault = self.stand_in.take_fault()
        if fault is None:
            self.faults.pop(session, None)
        else:
            self.faults[session] = fault
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK"

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        fault = self.faults.get(session)
        if fault is not None and fault.at == "RCPT":
            return f"{fault.code} {fault.message}"
        refusal = self.stand_in.refused_recipients.get(address.lower())
        if refusal is not None:
            return f"{refusal[0]} {refusal[1]}"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        fault = self.faults.pop(session, None)
        if fault is not None and fault.at == "DATA":
            return f"{fault.code} {fault.message}"
        raw = envelope.original_content or b""
        message = BytesParser(policy=email.policy.default).parsebytes(raw)
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        tls = self.stand_in.tls is SmtpTls.IMPLICIT or session.ssl is not None
        await self.stand_in.record(SandboxEmail(mail_from=envelope.mail_from or "", rcpt_tos=tuple(envelope.rcpt_tos),
                                                message=message, raw=raw, login=login, tls=tls))
        return f"250 2.0.0 OK: queued as {secrets.token_hex(6).upper()}"


class SmtpStandIn:
    def __init__(
        self,
        *,
        tls: SmtpTls = SmtpTls.NONE,
        server_context: ssl.SSLContext | None = None,
        username: str | None = None,
        password: str | None = None,
        mechanisms: Iterable[str] = MECHANISMS,
        on_message: Callable[[SandboxEmail], None] | None = None,
    ) -> None:
        """``tls``: plain, STARTTLS (required before anything else) or implicit TLS (SMTPS), both with
        ``server_context`` (e.g. trustme's ``ca.issue_cert("127.0.0.1").configure_cert(ctx)``);
        ``username``/``password``: the one account AUTH accepts (``mechanisms``: PLAIN, LOGIN)."""
        if tls is not SmtpTls.NONE and server_context is None:
            raise ValueError(f"tls={tls.value} needs a server_context with the server's certificate")
        if (username is None) != (password is None):
            raise ValueError("give both username and password, or neither")
        unknown = set(mechanisms) - set(MECHANISMS)
        if unknown:
            raise ValueError(f"aiosmtpd has no AUTH {sorted(unknown)}; use {list(MECHANISMS)}")
        self.tls = tls
        self.username = username
        self.password = password
        self.on_message = on_message
        self._context = server_context
        self._exclude = sorted(set(MECHANISMS) - set(mechanisms))
        self._recorder = _Recorder(self)
        self._faults: list[_Fault] = []
        self._signal = ChangeSignal()
        self._server: asyncio.Server | None = None
        self._host = "127.0.0.1"
        self._port: int | None = None
        self.refused_recipients: dict[str, tuple[int, str]] = {}
        self.messages: list[SandboxEmail] = []
        self.logins: list[str] = []         # each successful AUTH, by user name
        self.failed_logins: list[str] = []  # each refused AUTH, by the user name tried

    # --- serving ------------------------------------------------------------------------------

    def _protocol(self) -> SMTP:
        return SMTP(
            self._recorder, hostname=HOSTNAME, loop=asyncio.get_running_loop(),
            tls_context=self._context if self.tls is SmtpTls.STARTTLS else None,
            require_starttls=self.tls is SmtpTls.STARTTLS,
            # AUTH only over TLS: after STARTTLS, and (as aiosmtpd cannot tell) from the start on SMTPS.
            # On a plain server with an account, AUTH is offered in clear, as smtp://user:pass@ asks.
            auth_require_tls=self.tls is SmtpTls.STARTTLS,
            authenticator=self._authenticate, auth_exclude_mechanism=self._exclude)

    def _authenticate(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                      auth_data: object) -> AuthResult:
        if not isinstance(auth_data, LoginPassword) or self.username is None or self.password is None:
            return AuthResult(success=False, handled=False)
        user = auth_data.login.decode(errors="replace")
        if (secrets.compare_digest(auth_data.login, self.username.encode())
                and secrets.compare_digest(auth_data.password, self.password.encode())):
            self.logins.append(user)
            return AuthResult(success=True, auth_data=auth_data)
        self.failed_logins.append(user)
        return AuthResult(success=False, handled=False)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> Self:
        if self._server is not None:
            raise RuntimeError(f"SmtpStandIn is already running on port {self._port}")
        logging.getLogger("mail.log").addFilter(_not_our_deprecation)  # (adding it again is a no-op)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        self._server = await asyncio.get_running_loop().create_server(
            self._protocol, sock=sock, ssl=self._context if self.tls is SmtpTls.IMPLICIT else None)
        self._host, self._port = host, sock.getsockname()[1]
        return self

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            await server.wait_closed()

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("SmtpStandIn is not started; call start() or use 'async with'")
        return self._port

    @property
    def url(self) -> str:
        """The ``SMTP_URL`` that reaches this server, credentials included."""
        user = f"{quote(self.username, safe='')}:{quote(self.password or '', safe='')}@" if self.username else ""
        return f"{_SCHEMES[self.tls]}://{user}{self._host}:{self.port}"

    # --- faults -------------------------------------------------------------------------------

    def fail_next(self, code: int, message: str | None = None, *, times: int = 1,
                  at: Literal["RCPT", "DATA"] = "DATA") -> None:
        """Answer the next ``times`` messages (each MAIL FROM starts one) with ``code`` at DATA, or at
        every RCPT TO; faults queue, so ``fail_next(451); fail_next(550)`` answers 451, then 550."""
        if not 400 <= code < 600:
            raise ValueError("fail_next takes a 4xx or 5xx reply code")
        if times < 1:
            raise ValueError("times must be at least 1")
        self._faults.append(_Fault(code, message or _REPLIES.get(code, "Error"), times, at))

    def take_fault(self) -> _Fault | None:
        if not self._faults:
            return None
        fault = self._faults[0]
        fault.times -= 1
        if fault.times <= 0:
            self._faults.pop(0)
        return fault

    def refuse_recipient(self, address: str, code: int = 550, message: str | None = None) -> None:
        """Answer RCPT TO for this address (any case) with ``code``, until :meth:`accept_recipient`."""
        if not 400 <= code < 600:
            raise ValueError("refuse_recipient takes a 4xx or 5xx reply code")
        default = "5.1.1 Recipient address rejected: User unknown" if code >= 500 else _REPLIES.get(code, "Error")
        self.refused_recipients[address.lower()] = (code, message or default)

    def accept_recipient(self, address: str) -> None:
        self.refused_recipients.pop(address.lower(), None)

    # --- inspection ---------------------------------------------------------------------------

    async def record(self, mail: SandboxEmail) -> None:
        self.messages.append(mail)
        if self.on_message is not None:
            self.on_message(mail)
        await self._signal.changed()

    def sent_to(self, address: str) -> list[SandboxEmail]:
        """What that address received (as an envelope recipient, so Bcc too), oldest first."""
        return [m for m in self.messages if address.lower() in (r.lower() for r in m.rcpt_tos)]

    async def wait_for(self, predicate: Callable[[], T | None], timeout: float = 5.0) -> T:  # noqa: ASYNC109
        """Wait until ``predicate()`` is truthy, re-checked whenever a message arrives; returns its value."""
        return await self._signal.wait_for(
            predicate, timeout, lambda: f"{len(self.messages)} email(s) so far: {[m.subject for m in self.messages]}")

    async def wait_for_email(self, to: str | None = None, *, subject_contains: str = "",
                             timeout: float = 5.0) -> SandboxEmail:  # noqa: ASYNC109
        """The first message to ``to`` (any recipient when None) whose subject contains ``subject_contains``."""
        def found() -> SandboxEmail | None:
            candidates = self.messages if to is None else self.sent_to(to)
            return next((m for m in candidates if subject_contains in m.subject), None)

        return await self.wait_for(found, timeout)
