"""Email over SMTP with aiosmtplib: one connection per message, protected as ``SMTP_URL`` says.

What a send can end in:

- the server took the message for at least one recipient: an :class:`SmtpResult`, listing the
  recipients it refused (with their codes) if some were; the others have the message;
- the server is busy or unreachable — a 4xx reply (``421``, ``451``, a greylisting ``450`` for
  every recipient), no connection, a timeout, a dropped connection, a failed TLS handshake:
  :class:`EmailUnavailable`, a transient :class:`~bot.delivery.DeliveryError` the outbox retries
  for longer (``smtp_451``, ``connection_error:ConnectionRefusedError``,
  ``tls_error:SSLCertVerificationError``);
- the server said no for good — a 5xx reply (``550`` for every recipient, ``552``, ``554``), wrong
  credentials (``smtp_535``), or a server without the STARTTLS or AUTH that ``SMTP_URL`` asks for:
  :class:`EmailRefused`. When every recipient is refused, one 4xx among them makes the whole send
  transient (a retry may reach that one); all 5xx makes it permanent.

Nothing here logs a password, a message body or an address: codes and counts only. aiosmtplib
itself logs nothing (``bot.logs`` holds its logger at ``LOG_LIBRARY_LEVEL`` anyway), and the log
scrubber knows the password and its base64 forms as AUTH sends them.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage

import aiosmtplib
from aiosmtplib.email import extract_recipients, extract_sender

from bot.config import SmtpTarget, SmtpTls
from bot.delivery import DeliveryError

log = logging.getLogger(__name__)

TIMEOUT = 10.0  # seconds: connecting, and waiting for each reply


@dataclass(frozen=True)
class SmtpResult:
    """The server took the message for ``accepted``; ``refused`` maps each address it would not
    take to its reply code (``smtp_550``)."""

    accepted: tuple[str, ...]
    refused: dict[str, str] = field(default_factory=dict)


class EmailUnavailable(DeliveryError):
    """The SMTP server could not be reached or asked us to come back later (4xx): the outbox tries
    again; ``code`` says what happened (``smtp_421``, ``connection_error:TimeoutError``)."""

    transient = True

    def __init__(self, code: str) -> None:
        super().__init__(code, f"smtp: {code}")


class EmailRefused(DeliveryError):
    """The SMTP server refused the message for good; ``code`` is its reply (``smtp_550``, ``smtp_535``)
    or what it lacks (``smtp_starttls_unsupported``). ``refused`` holds each recipient's code when
    the refusal was per recipient. Final: the outbox records it at once instead of trying again."""

    final = True

    def __init__(self, code: str, *, refused: dict[str, str] | None = None) -> None:
        super().__init__(code, f"smtp refused: {code}")
        self.refused = dict(refused or {})


def _reply_code(code: int) -> str:
    return f"smtp_{code}" if code >= 0 else "smtp_invalid_response"


def _root_cause(exc: BaseException) -> BaseException:
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return exc


def classify(exc: Exception) -> EmailUnavailable | EmailRefused:
    """What an aiosmtplib or socket error means for the message: try again later, or never."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        refused = {r.recipient: _reply_code(r.code) for r in exc.recipients}
        busy = next((r.code for r in exc.recipients if 400 <= r.code < 500), None)
        if busy is not None:
            return EmailUnavailable(_reply_code(busy))
        return EmailRefused(_reply_code(exc.recipients[0].code) if exc.recipients else "smtp_refused", refused=refused)
    if isinstance(exc, aiosmtplib.SMTPResponseException):  # also a refused greeting (SMTPConnectResponseError)
        return EmailRefused(_reply_code(exc.code)) if 500 <= exc.code < 600 else EmailUnavailable(_reply_code(exc.code))
    cause = _root_cause(exc)
    if isinstance(cause, ssl.SSLError):  # also a certificate the tls_context does not trust
        return EmailUnavailable(f"tls_error:{type(cause).__name__}")
    if isinstance(exc, aiosmtplib.SMTPNotSupported):  # e.g. an SMTPUTF8 address the server cannot take
        return EmailRefused("smtp_not_supported")
    return EmailUnavailable(f"connection_error:{type(cause).__name__}")


class SmtpSender:
    """Sends each message over its own connection to ``target``.

    ``tls_context`` verifies the server for STARTTLS and SMTPS (default: the system's trusted CAs,
    hostname checked); tests pass one trusting their own CA.
    """

    def __init__(self, target: SmtpTarget, *, tls_context: ssl.SSLContext | None = None, timeout: float = TIMEOUT,
                 local_hostname: str | None = None) -> None:
        self._target = target
        self._tls_context = tls_context or ssl.create_default_context()
        self._timeout = timeout
        self._local_hostname = local_hostname  # EHLO name; None: this host's FQDN

    @property
    def target(self) -> SmtpTarget:
        return self._target

    async def send(self, message: EmailMessage[str, str], *, recipients: Sequence[str] | None = None) -> SmtpResult:
        """Send ``message`` from its ``From`` to ``recipients`` (default: its To, Cc and Bcc; Bcc is not
        transmitted). Raises :class:`EmailUnavailable` or :class:`EmailRefused`; ValueError for a
        message without From or recipients (a bug in the caller, not the server's doing)."""
        to = list(recipients) if recipients is not None else extract_recipients(message)
        if not to:
            raise ValueError("the message has no recipients (To, Cc, Bcc) and none were given")
        if extract_sender(message) is None:
            raise ValueError("the message has no From (or Sender) header")
        try:
            errors = await self._transmit(message, to)
        except (EmailRefused, aiosmtplib.SMTPException, OSError) as exc:  # OSError: also ssl.SSLError, timeouts
            problem = exc if isinstance(exc, EmailRefused) else classify(exc)
            if isinstance(problem, EmailUnavailable):
                log.warning("email not sent yet, will retry: %s", problem.code)  # no addresses, no body
            else:
                log.warning("email refused by the SMTP server: %s", problem.code)
            raise problem from None
        refused = {address: _reply_code(reply.code) for address, reply in errors.items()}
        if refused:
            log.warning("email sent, but %d of %d recipient(s) refused: %s", len(refused), len(to),
                        ", ".join(sorted(set(refused.values()))))
        log.debug("email sent to %d recipient(s)", len(to) - len(refused))
        return SmtpResult(accepted=tuple(a for a in to if a not in refused), refused=refused)

    async def _transmit(self, message: EmailMessage[str, str], to: list[str]) -> dict[str, aiosmtplib.SMTPResponse]:
        target = self._target
        smtp = aiosmtplib.SMTP(
            hostname=target.host, port=target.port, use_tls=target.tls is SmtpTls.IMPLICIT,
            start_tls=False,  # STARTTLS is done below, required rather than opportunistic
            tls_context=self._tls_context if target.tls is not SmtpTls.NONE else None,
            timeout=self._timeout, local_hostname=self._local_hostname)
        async with smtp:
            if target.tls is SmtpTls.STARTTLS:
                await smtp.ehlo()
                if not smtp.supports_extension("starttls"):
                    raise EmailRefused("smtp_starttls_unsupported")
                await smtp.starttls()
            if target.username is not None:
                await smtp.ehlo()  # (again, after STARTTLS: what the server offers may have changed)
                if not smtp.supports_extension("auth"):
                    raise EmailRefused("smtp_auth_unsupported")
                await smtp.login(target.username, target.password or "")
            errors, _ = await smtp.send_message(message, recipients=to)
        return errors
