"""Field types the config sections share: durations, time zones, clock times, Slack user ids."""

from __future__ import annotations

import re
from datetime import time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from bot.durations import DurationError, parse_duration

# --- field types -------------------------------------------------------------------------------


def _duration(value: object) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError("expected a duration such as 30s, 5m, 2h or 1d")
    if isinstance(value, int):
        raise ValueError(f"{value} has no unit; write e.g. {value}m or {value}s")
    try:
        return parse_duration(value)
    except DurationError as exc:
        raise ValueError(str(exc)) from None


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Europe/Berlin") from None
    return value


def clock_time(value: object) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 reads an unquoted 09:00 as the sexagesimal number 540.
        return time(value // 60 % 24, value % 60)
    m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", str(value))
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise ValueError(f"expected a time of day such as \"09:00\", got {value!r}")
    return time(int(m.group(1)), int(m.group(2)))


def email_address(value: str) -> str:
    """An address as mail servers take it: checked by email-validator (syntax only, no DNS lookup:
    the bot may run where DNS answers differently), returned normalised (the domain lower-cased)."""
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"{value!r} is not an email address: {exc}") from None


Duration = Annotated[timedelta, BeforeValidator(_duration)]
EmailAddress = Annotated[str, AfterValidator(email_address)]
TimeZoneName = Annotated[str, AfterValidator(_zone)]
ClockTime = Annotated[time, BeforeValidator(clock_time)]
SlackUserId = Annotated[str, Field(pattern=r"^[UW][A-Z0-9]{2,}$")]
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
TARGET = re.compile(r"^(slack|sms|email|person|call):(primary|backup|channel|[UW][A-Z0-9]{2,})$")
# A Slack user group's mention handle, as Slack allows it: lower-case letters, digits, - and _, at most 21.
HANDLE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,20}$")
GROUP_TARGET = re.compile(r"^slack:@(?P<handle>.*)$")  # slack:@<usergroup-handle>


def _handle(value: object) -> object:
    """``@platform-oncall`` or ``platform-oncall``; Slack's own rules for what a handle may be."""
    if not isinstance(value, str):
        return value
    handle = value.strip().removeprefix("@")
    if not HANDLE.match(handle):
        raise ValueError(f"{value!r} is not a Slack user group handle: use lower-case letters, digits, - and _, "
                         "at most 21 characters, e.g. platform-oncall")
    return handle


SlackHandle = Annotated[str, BeforeValidator(_handle)]
EMAIL_TARGET = re.compile(r"^email:(?P<address>[^:\s]*@[^:\s]*)$")  # email:<address>, a team list


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
