"""Settings from the environment (tokens, URLs, the database, email, logging)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from bot.config.smtp import SmtpTarget, SmtpUrlError, check_email_from, parse_smtp_url


class Settings(BaseModel):
    """Built from the environment by :func:`settings_from_env`."""

    # Errors never quote the value: most of these are secrets (SMTP_URL holds a password).
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = "https://slack.com/api/"
    database_url: str = "sqlite+aiosqlite:///./watchstander.db"
    config_path: str = "./watchstander.yaml"
    port: Annotated[int, Field(ge=0, le=65535)] = 3000
    public_url: str | None = None
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_from_number: str | None = None
    twilio_api_url: str = "https://api.twilio.com"
    metrics_token: str | None = None
    api_token: str | None = None  # WATCHSTANDER_API_TOKEN: /api/alerts and /api/test
    smtp_url: str | None = None  # SMTP_URL: see bot.config.smtp; repr shows it without the password
    email_from: str | None = None  # EMAIL_FROM: the From of every email, "alerts@…" or "Name <alerts@…>"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_library_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"
    log_format: Literal["json", "console"] | None = None

    @field_validator("smtp_url")
    @classmethod
    def _check_smtp_url(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_smtp_url(value)
            except SmtpUrlError as exc:
                raise PydanticCustomError("smtp_url", "{problem}", {"problem": str(exc)}) from None
        return value

    @field_validator("email_from")
    @classmethod
    def _check_email_from(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return check_email_from(value)
        except ValueError as exc:
            raise PydanticCustomError("email_from", "{problem}", {"problem": str(exc)}) from None

    def __repr_args__(self) -> Iterator[tuple[str | None, object]]:
        target = self.smtp()
        for name, value in super().__repr_args__():
            yield name, (target.url if name == "smtp_url" and target is not None else value)

    @property
    def base_public_url(self) -> str:
        return (self.public_url or f"http://localhost:{self.port}").rstrip("/")

    @property
    def socket_mode(self) -> bool:
        return bool(self.slack_app_token)

    @property
    def twilio_configured(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token and self.twilio_from_number)

    @property
    def email_configured(self) -> bool:
        return bool(self.smtp_url and self.email_from)

    def smtp(self) -> SmtpTarget | None:
        """``SMTP_URL`` parsed (it was checked when the settings were built), or None when unset."""
        return parse_smtp_url(self.smtp_url) if self.smtp_url else None

    def require_serve(self) -> list[str]:
        """What is missing for `watchstander serve`, as messages an operator can act on."""
        missing = []
        if not self.slack_bot_token:
            missing.append("SLACK_BOT_TOKEN is not set (the bot token, xoxb-…)")
        if not self.socket_mode and not self.slack_signing_secret:
            missing.append("SLACK_SIGNING_SECRET is not set (needed in HTTP mode; or set SLACK_APP_TOKEN)")
        return missing


_ENV_NAMES = {
    "slack_bot_token": "SLACK_BOT_TOKEN", "slack_signing_secret": "SLACK_SIGNING_SECRET",
    "slack_app_token": "SLACK_APP_TOKEN", "slack_api_url": "SLACK_API_URL",
    "database_url": "DATABASE_URL", "config_path": "WATCHSTANDER_CONFIG", "port": "PORT",
    "public_url": "PUBLIC_URL", "twilio_account_sid": "TWILIO_ACCOUNT_SID",
    "twilio_auth_token": "TWILIO_AUTH_TOKEN", "twilio_from_number": "TWILIO_FROM_NUMBER",
    "twilio_api_url": "TWILIO_API_URL", "metrics_token": "METRICS_TOKEN", "api_token": "WATCHSTANDER_API_TOKEN",
    "log_level": "LOG_LEVEL", "log_format": "LOG_FORMAT", "log_library_level": "LOG_LIBRARY_LEVEL",
    "smtp_url": "SMTP_URL", "email_from": "EMAIL_FROM",
}


class SettingsError(Exception):
    pass


def settings_from_env(env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    env = os.environ if env is None else env
    values: dict[str, object] = {k: env[v] for k, v in _ENV_NAMES.items() if env.get(v)}
    for level in ("log_level", "log_library_level"):
        if isinstance(name := values.get(level), str):
            values[level] = name.upper()
    values.update(overrides)
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        msgs = [f"{_ENV_NAMES.get(str(e['loc'][0]), e['loc'][0])}: {e['msg']}" for e in exc.errors()]
        raise SettingsError("; ".join(msgs)) from None
