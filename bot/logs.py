"""Logging set-up: JSON or console lines, with secrets and phone numbers scrubbed from every record.

One :data:`REDACTOR` (a :class:`logging.Filter`) sits on the root logger's handler for every
command, so it sees what every logger writes, libraries included (aiohttp, slack_sdk, twilio,
SQLAlchemy, asyncpg, APScheduler): the message with its ``args`` filled in, exception text and
tracebacks, and stack info. It is fed the values to hide as soon as they are known: the
environment's secrets at start (:func:`setup_logging`), then the loaded config's tokens, secrets,
``${NAME}`` values and people's phone numbers (:func:`protect`).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import sys
import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING
from urllib.parse import quote, quote_plus

if TYPE_CHECKING:
    from bot.config import Config, Settings

SECRET_MARK = "[secret]"
PHONE_MARK = "[phone]"
MIN_SECRET = 6  # shorter values ("true", "30") would blank out ordinary words and numbers

# Any E.164 number and its spaced forms (SMS numbers always start with +), also URL-encoded as in
# Twilio's form bodies (To=%2B1555…).
PHONE = re.compile(r"(?:\+|%2B)[1-9](?:[\d ()-]|%20){5,18}\d")
TOKEN = re.compile(r"\b(xox[abposr]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+)")
_SEP = r"[\s().\-/]{0,3}"  # what people put between digits: spaces, dots, dashes, brackets
# Environment variables whose values are secrets, whatever the config references.
SECRET_ENV = re.compile(r"(TOKEN|SECRET|PASSWORD|PASSWD|API_KEY|PRIVATE_KEY|CREDENTIALS?)$", re.IGNORECASE)
# "mail.log" and "mail.debug" are aiosmtpd's (the SMTP stand-in): every envelope address at INFO, AUTH
# exchanges at DEBUG. aiosmtplib logs nothing today (5.x); it is listed for when it does.
LIBRARIES = ("aiohttp", "aiosmtplib", "aiosqlite", "alembic", "apscheduler", "asyncio", "asyncpg", "mail.debug",
             "mail.log", "slack_bolt", "slack_sdk", "sqlalchemy", "twilio", "urllib3", "websockets")


def secret_forms(value: str) -> set[str]:
    """The value as it may appear in a log: raw, and URL-encoded (query strings, form bodies)."""
    return {value, quote(value, safe=""), quote_plus(value)}


def phone_pattern(number: str) -> str | None:
    """A regex for one configured number in any common formatting: E.164 (+15550000001), spaced or
    dashed (+1 555-000-0001), national ((555) 000-0001, 0555 000 0001), 00-prefixed, URL-encoded."""
    digits = re.sub(r"\D", "", number)
    if len(digits) < 7:
        return None
    forms = []
    for cc_len in (1, 2, 3):  # E.164 does not say where the country code ends: allow each split
        cc, national = digits[:cc_len], digits[cc_len:]
        if len(national) < 6:
            continue
        prefix = rf"(?:(?:(?:\+|%2B|00){_SEP})?{_SEP.join(cc)}{_SEP})?"
        forms.append(prefix + rf"\(?(?:0{_SEP})?" + _SEP.join(national))
    return r"(?<!\d)(?:" + "|".join(forms) + r")(?!\d)"


class Redactor(logging.Filter):
    """Removes known secret values, Slack tokens and phone numbers from each record it passes."""

    def __init__(self, secrets: Iterable[str | None] = (), phones: Iterable[str | None] = ()) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        self._phones: set[str] = set()
        self._secret_re: re.Pattern[str] | None = None
        self._phone_re: re.Pattern[str] | None = None
        self.add(secrets, phones)

    @property
    def secrets(self) -> frozenset[str]:
        return frozenset(self._secrets)

    def add(self, secrets: Iterable[str | None] = (), phones: Iterable[str | None] = ()) -> None:
        """Hide these values too, from the next record on."""
        with self._lock:
            for secret in secrets:
                if secret and len(secret.strip()) >= MIN_SECRET:
                    self._secrets |= {f for f in secret_forms(secret.strip()) if len(f) >= MIN_SECRET}
            self._phones |= {p for p in phones if p}
            ordered = sorted(self._secrets, key=len, reverse=True)  # a secret containing another goes first
            self._secret_re = re.compile("|".join(map(re.escape, ordered))) if ordered else None
            patterns = [p for p in map(phone_pattern, sorted(self._phones)) if p]
            self._phone_re = re.compile("|".join(patterns)) if patterns else None

    def scrub(self, text: str) -> str:
        if self._secret_re is not None:
            text = self._secret_re.sub(SECRET_MARK, text)
        text = TOKEN.sub("[token]", text)
        if self._phone_re is not None:
            text = self._phone_re.sub(PHONE_MARK, text)
        return PHONE.sub(PHONE_MARK, text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string in a library: keep what there is, scrubbed
            message = f"{record.msg} {record.args!r}"
        record.msg, record.args = self.scrub(message), None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = self.scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = self.scrub(record.stack_info)
        return True


REDACTOR = Redactor()


def database_password(url: str) -> str | None:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        password = make_url(url).password
    except (ArgumentError, ValueError):
        return None
    return None if password is None else str(password)


def settings_secrets(settings: Settings) -> list[str | None]:
    """Every secret the environment's settings hold, including the database password."""
    values: list[str | None] = [settings.slack_bot_token, settings.slack_signing_secret, settings.slack_app_token,
                                settings.twilio_auth_token, settings.metrics_token, settings.api_token,
                                database_password(settings.database_url)]
    if settings.twilio_account_sid and settings.twilio_auth_token:  # the Basic credentials, as sent
        values.append(base64.b64encode(f"{settings.twilio_account_sid}:{settings.twilio_auth_token}".encode())
                      .decode())
    return values + (smtp_secrets(settings.smtp_url) if settings.smtp_url else [])


def smtp_secrets(url: str) -> list[str]:
    """The password in an ``SMTP_URL`` as it crosses the wire: raw, and base64 in AUTH LOGIN and AUTH PLAIN."""
    from bot.config.smtp import SmtpUrlError, parse_smtp_url

    try:
        target = parse_smtp_url(url)
    except SmtpUrlError:
        return []
    if not target.username or not target.password:
        return []
    user, password = target.username, target.password
    return [password, base64.b64encode(password.encode()).decode(),
            base64.b64encode(f"\0{user}\0{password}".encode()).decode()]


def config_secrets(config: Config) -> list[str | None]:
    values: list[str | None] = []
    for integ in config.integrations:
        values += [integ.token, integ.secret]
    values += [team.calendar_token for team in config.teams]
    values += [beat.token for beat in config.heartbeats]
    values += [config.status_page.token if config.status_page else None]
    # A dead man's switch URL is its own credential (healthchecks.io, Cronitor): whoever has it can ping.
    values += [config.self_heartbeat.url if config.self_heartbeat else None]
    return values


def env_secrets(env: Mapping[str, str], referenced: Iterable[str] = ()) -> list[str]:
    """Values of secret-named variables, and of every variable the config references as ``${NAME}``."""
    names = {n for n in env if SECRET_ENV.search(n)} | set(referenced)
    values = [env[n] for n in names if n in env]
    password = database_password(env["DATABASE_URL"]) if env.get("DATABASE_URL") else None
    values += smtp_secrets(env["SMTP_URL"]) if env.get("SMTP_URL") else []
    return [*values, password] if password else values


def protect(*, settings: Settings | None = None, config: Config | None = None, referenced: Iterable[str] = (),
            env: Mapping[str, str] | None = None, secrets: Iterable[str | None] = ()) -> None:
    """Feed :data:`REDACTOR` everything secret in these (safe to call again with more)."""
    values = list(secrets)
    phones: list[str | None] = []
    if settings is not None:
        values += settings_secrets(settings)
        phones.append(settings.twilio_from_number)
    if config is not None:
        values += config_secrets(config)
        phones += [p.phone for p in config.people]
    if env is not None:
        values += env_secrets(env, referenced)
    REDACTOR.add(values, phones)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_text:
            entry["error"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


def _log_uncaught(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    """An exception nothing caught goes through the scrubbing handler, not straight to stderr."""
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, exc, tb)
        return
    logging.getLogger("watchstander").critical("uncaught exception", exc_info=(kind, exc, tb))


def setup_logging(level: str = "INFO", fmt: str | None = None, *, library_level: str = "WARNING",
                  env: Mapping[str, str] | None = None) -> Redactor:
    """One scrubbing handler on the root logger. Libraries log at ``library_level`` or above (their
    DEBUG output carries request bodies: set it to DEBUG only while debugging, it is scrubbed too)."""
    fmt = fmt or ("console" if sys.stderr.isatty() else "json")
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(REDACTOR)
    handler.setFormatter(JsonFormatter() if fmt == "json" else
                         logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    floor = max(logging.getLevelNamesMapping()[level], logging.getLevelNamesMapping()[library_level])
    for library in LIBRARIES:  # never below LOG_LEVEL: a library's record skips the root's level check
        logging.getLogger(library).setLevel(floor)
    logging.captureWarnings(True)  # warnings.warn text goes through the handler too
    sys.excepthook = _log_uncaught
    protect(env=os.environ if env is None else env)
    return REDACTOR
