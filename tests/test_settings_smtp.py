"""SMTP_URL and EMAIL_FROM as an operator meets them: what each form means, the messages for a
bad one, and a password that shows up nowhere but where it is sent."""

from __future__ import annotations

import base64

import pytest
from pydantic import ValidationError

from bot.config import Settings, SettingsError, SmtpTarget, SmtpTls, settings_from_env
from bot.logs import Redactor, env_secrets, settings_secrets

PASSWORD = "hunter2-smtp-pw"


@pytest.mark.parametrize(("url", "expected"), [
    ("smtp://relay.internal", SmtpTarget("smtp", "relay.internal", 25)),
    ("smtp://relay.internal:2525", SmtpTarget("smtp", "relay.internal", 2525)),
    ("smtp+starttls://bot:pw@mail.example.com", SmtpTarget("smtp+starttls", "mail.example.com", 587, "bot", "pw")),
    ("smtps://bot:pw@mail.example.com", SmtpTarget("smtps", "mail.example.com", 465, "bot", "pw")),
    ("smtps://bot:pw@mail.example.com:2465", SmtpTarget("smtps", "mail.example.com", 2465, "bot", "pw")),
    # percent-decoded: an address as the user name, a password with @ / and a space
    ("smtps://alerts%40example.com:p%40ss%2Fw%20rd@Mail.Example.COM",
     SmtpTarget("smtps", "mail.example.com", 465, "alerts@example.com", "p@ss/w rd")),
    ("SMTP+STARTTLS://bot:pw@[2001:db8::25]", SmtpTarget("smtp+starttls", "2001:db8::25", 587, "bot", "pw")),
])
def test_each_smtp_url_form_parses_with_its_default_port(url: str, expected: SmtpTarget) -> None:
    assert settings_from_env({"SMTP_URL": url}).smtp() == expected


def test_the_scheme_says_how_the_connection_is_protected() -> None:
    tls = {url: settings_from_env({"SMTP_URL": url}).smtp() for url in ("smtp://h", "smtp+starttls://h", "smtps://h")}
    assert {url: t.tls if t else None for url, t in tls.items()} == {
        "smtp://h": SmtpTls.NONE, "smtp+starttls://h": SmtpTls.STARTTLS, "smtps://h": SmtpTls.IMPLICIT}


def test_unset_smtp_url_means_no_target() -> None:
    assert settings_from_env({}).smtp() is None


@pytest.mark.parametrize(("url", "message"), [
    ("http://mail.example.com", "SMTP_URL: scheme must be smtp, smtp+starttls or smtps, got 'http'"),
    ("submission://mail.example.com", "SMTP_URL: scheme must be smtp, smtp+starttls or smtps, got 'submission'"),
    ("smtps://", "SMTP_URL: the host is missing (smtp://host:port)"),
    (f"smtps://bot:{PASSWORD}@", "SMTP_URL: the host is missing (smtp://host:port)"),
    (f"smtps://bot:{PASSWORD}@:465", "SMTP_URL: the host is missing (smtp://host:port)"),
    ("mail.example.com:587", "SMTP_URL: must look like smtp://host, smtp+starttls://user:password@host or "
                             "smtps://user:password@host"),
    ("smtp://mail.example.com:0", "SMTP_URL: the port must be a number from 1 to 65535"),
    ("smtp://mail.example.com:70000", "SMTP_URL: the port must be a number from 1 to 65535"),
    ("smtps://bot:pa%ss@mail.example.com:x", "SMTP_URL: the port must be a number from 1 to 65535; a / ? or # in "
                                             "the user name or password must be percent-encoded (%2F %3F %23)"),
    ("smtps://bot:pa#ss@mail.example.com", "SMTP_URL: takes no path, ?options or #fragment (the scheme says how "
                                           "to connect); a / ? or # in the user name or password must be "
                                           "percent-encoded (%2F %3F %23)"),
    ("smtps://bot@mail.example.com", "SMTP_URL: a user name needs a password (user:password@host)"),
    (f"smtps://:{PASSWORD}@mail.example.com", "SMTP_URL: a password needs a user name (user:password@host)"),
    ("smtps://mail.example.com?starttls=1", "SMTP_URL: takes no path, ?options or #fragment (the scheme says how "
                                            "to connect); a / ? or # in the user name or password must be "
                                            "percent-encoded (%2F %3F %23)"),
    ("smtp://mail.example.com\n", "SMTP_URL: contains a control character (a newline?)"),
])
def test_a_bad_smtp_url_says_what_is_wrong(url: str, message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        settings_from_env({"SMTP_URL": url})
    assert str(caught.value) == message


@pytest.mark.parametrize("url", [
    f"http://bot:{PASSWORD}@mail.example.com",        # bad scheme
    f"smtps://bot:{PASSWORD}@",                       # no host
    f"smtps://bot:{PASSWORD}@mail.example.com:46x5",  # bad port
    f"smtps://bot:{PASSWORD}/x@mail.example.com",      # unencoded / in the password
    f"smtps://bot:{PASSWORD}@mail.example.com/path",  # a path
])
def test_an_error_never_shows_the_password(url: str) -> None:
    with pytest.raises(SettingsError) as caught:
        settings_from_env({"SMTP_URL": url})
    with pytest.raises(ValidationError) as direct:  # built in code (tests, the demo), not from the environment
        Settings(smtp_url=url)
    assert caught.value.args[0].startswith("SMTP_URL: ")
    assert PASSWORD not in str(caught.value)
    assert PASSWORD not in str(direct.value)


def test_repr_shows_where_mail_goes_but_not_the_password() -> None:
    settings = settings_from_env({"SMTP_URL": f"smtps://bot:{PASSWORD}@mail.example.com"})
    target = settings.smtp()
    assert target is not None and target.password == PASSWORD  # it is there, for the login
    assert "smtp_url='smtps://bot:***@mail.example.com:465'" in repr(settings)
    assert repr(target) == "SmtpTarget(scheme='smtps', host='mail.example.com', port=465, username='bot', password=***)"
    for shown in (repr(settings), str(settings), repr(target), str(target), target.url):
        assert PASSWORD not in shown


def test_the_log_scrubber_knows_the_smtp_password_and_its_auth_forms() -> None:
    """As set in the environment (before the settings are built) and in the settings: the password, and
    its base64 forms in AUTH LOGIN and AUTH PLAIN, as an SMTP debug log would show them."""
    url = f"smtp+starttls://bot:{PASSWORD}@mail.example.com"
    login = base64.b64encode(PASSWORD.encode()).decode()
    plain = base64.b64encode(f"\0bot\0{PASSWORD}".encode()).decode()
    line = f"connecting with {PASSWORD}; >> b'{login}'; >> b'AUTH PLAIN {plain}'"
    from_settings = Redactor(settings_secrets(settings_from_env({"SMTP_URL": url}))).scrub(line)
    from_env = Redactor(env_secrets({"SMTP_URL": url})).scrub(line)
    assert from_settings == from_env == "connecting with [secret]; >> b'[secret]'; >> b'AUTH PLAIN [secret]'"


@pytest.mark.parametrize(("value", "stored"), [
    ("alerts@example.com", "alerts@example.com"),
    ("Watchstander <alerts@example.com>", "Watchstander <alerts@example.com>"),
    ('"Watchstander, on call" <alerts@example.com>', '"Watchstander, on call" <alerts@example.com>'),
    ("  alerts@example.com ", "alerts@example.com"),
])
def test_email_from_takes_an_address_with_or_without_a_name(value: str, stored: str) -> None:
    assert settings_from_env({"EMAIL_FROM": value}).email_from == stored


@pytest.mark.parametrize(("value", "message"), [
    ("alerts", "EMAIL_FROM: 'alerts' is not an email address: An email address must have an @-sign."),
    ("Watchstander <alerts@localhost>", "EMAIL_FROM: 'alerts@localhost' is not an email address: The part after "
                                        "the @-sign is not valid. It should have a period."),
    ("a@example.com, b@example.com", "EMAIL_FROM: must be one address, like alerts@example.com or "
                                     "Watchstander <alerts@example.com>"),
    ("a@example.com\r\nBcc: everyone@example.com", "EMAIL_FROM: contains a control character (a newline?)"),
])
def test_a_bad_email_from_says_what_is_wrong(value: str, message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        settings_from_env({"EMAIL_FROM": value})
    assert str(caught.value) == message


@pytest.mark.parametrize(("env", "configured"), [
    ({}, False),
    ({"SMTP_URL": "smtp://relay"}, False),
    ({"EMAIL_FROM": "alerts@example.com"}, False),
    ({"SMTP_URL": "smtp://relay", "EMAIL_FROM": "alerts@example.com"}, True),
])
def test_email_is_configured_with_both_variables(env: dict[str, str], configured: bool) -> None:
    assert settings_from_env(env).email_configured is configured
