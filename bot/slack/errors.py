"""Slack's errors as a few typed exceptions, so callers write ``except MessageNotFound`` instead of
comparing error strings (grafana/oncall's ``apps/slack/errors.py`` is the model).

:class:`~bot.slack.client.SlackClient` raises these for every failed Web API call; nothing else
in the bot catches slack_sdk's ``SlackApiError``. Each keeps Slack's own error name in ``code``
(``channel_not_found``…): it is what the logs, the ``watchstander_slack_api_errors_total`` metric,
the outbox rows and the failure notes in alert threads show.

A :class:`SlackError` is also a ``SlackApiError``, so Bolt's own calls through the same client
(``auth.test`` when a request arrives) keep Bolt's handling of a refused token.
"""

from __future__ import annotations

from collections.abc import Mapping

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.delivery import DeliveryError


class SlackError(DeliveryError, SlackApiError):
    """A Slack Web API call failed; ``method`` is Slack's name for it (``chat.postMessage``)."""

    def __init__(self, method: str, code: str, *, retry_after: float | None = None,
                 response: AsyncSlackResponse | None = None) -> None:
        DeliveryError.__init__(self, code, f"{method}: {code}", retry_after=retry_after)
        self.method = method
        self.response = response  # what SlackApiError carries; None when no answer came


class SlackUnavailable(SlackError):
    """Slack answered 5xx or ``internal_error``/``fatal_error``/``service_unavailable``… after the
    client's own retries: try again later."""

    transient = True


class SlackUnreachable(SlackUnavailable):
    """No answer at all (connection refused or dropped, timeout) after the client's retries;
    ``cause`` names the network error (``ClientConnectorError``, ``TimeoutError``)."""

    def __init__(self, method: str, cause: str) -> None:
        super().__init__(method, "connection_error")
        self.cause = cause


class RateLimited(SlackError):
    """429: ``retry_after`` is Slack's ``Retry-After`` in seconds."""

    transient = True


class ChannelNotFound(SlackError):
    pass


class NotInChannel(SlackError):
    """The bot is not a member (``not_in_channel``); a public channel can be joined."""


class AlreadyInChannel(SlackError):
    """``already_in_channel``/``cant_invite_self`` on an invite: the person is there already."""


class MissingScope(SlackError):
    """The app was not granted the scope this method needs (``missing_scope``): reinstall it."""


class InvalidAuth(SlackError):
    """The token is wrong, revoked or its workspace gone (``invalid_auth``, ``token_revoked``…)."""


class ExpiredTrigger(SlackError):
    """``views.open`` came too late (``expired_trigger_id``: Slack allows 3 s from the click) or
    with a trigger already used (``exchanged_trigger_id``)."""


class MessageNotFound(SlackError):
    """The message to edit or read is gone (deleted by someone)."""


_BY_CODE: Mapping[str, type[SlackError]] = {
    "ratelimited": RateLimited,
    "channel_not_found": ChannelNotFound,
    "not_in_channel": NotInChannel,
    "already_in_channel": AlreadyInChannel, "cant_invite_self": AlreadyInChannel,
    "missing_scope": MissingScope,
    **dict.fromkeys(("invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive",
                     "team_disabled"), InvalidAuth),
    "expired_trigger_id": ExpiredTrigger, "exchanged_trigger_id": ExpiredTrigger,
    "message_not_found": MessageNotFound,
    **dict.fromkeys(("internal_error", "fatal_error", "service_unavailable", "request_timeout"), SlackUnavailable),
}


def slack_error(method: str, exc: SlackApiError) -> SlackError:
    """The typed error for slack_sdk's ``SlackApiError`` from ``method`` (``chat.postMessage``)."""
    response = exc.response
    if not isinstance(response, AsyncSlackResponse):
        return SlackUnavailable(method, "http_error")
    status = response.status_code
    if not response.data:  # an empty answer, or JSON that is no object (SlackClient._request): never Slack
        return SlackUnavailable(method, "not_a_slack_answer", response=response)
    code = str(response.get("error") or f"http_{status}")
    if status == 429 or code == "ratelimited":
        header = (response.headers or {}).get("Retry-After") or (response.headers or {}).get("retry-after")
        return RateLimited(method, "ratelimited", retry_after=float(header) if header else 1.0, response=response)
    if status >= 500:
        return SlackUnavailable(method, "service_unavailable", response=response)
    return _BY_CODE.get(code, SlackError)(method, code, response=response)
