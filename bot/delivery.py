"""What a sender raises when a provider (Slack, Twilio) did not take a message.

The outbox (:mod:`bot.notify.outbox_sender`) retries a :class:`DeliveryError` with backoff: a
transient one (the provider is down or rate limiting) for longer, waiting at least
``retry_after`` when the provider said how long; a final one (a refusal the provider said is
permanent) not at all; any other one a few times, then the row is failed. Slack's errors (:mod:`bot.slack.errors`) and Twilio's (:mod:`bot.notify.page_sms`) are
subclasses, so neither provider's code needs to know the other's.
"""

from __future__ import annotations


class DeliveryError(Exception):
    """``code`` is short and safe to show and to label a metric with (the provider's error name);
    it never holds a phone number or a token."""

    transient: bool = False  # worth retrying for longer: the provider is down or busy, not refusing
    final: bool = False  # the provider refused for good (an SMTP 5xx): recorded at once, not tried again

    def __init__(self, code: str, message: str | None = None, *, retry_after: float | None = None) -> None:
        Exception.__init__(self, message or code)  # not super(): Slack's subclass also derives from SlackApiError
        self.code = code
        self.retry_after = retry_after
