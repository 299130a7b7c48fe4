"""The one door to the Slack Web API: every call the bot makes goes through :class:`SlackClient`.

It is slack_sdk's ``AsyncWebClient`` with two things added, so callers keep its typed methods:

- every failed call raises one of the typed errors of :mod:`bot.slack.errors` (and is counted
  once, here, in ``watchstander_slack_api_errors_total``); slack_sdk's retry handlers still retry 5xx,
  dropped connections and (unless told not to) 429 before that;
- the moves the bot repeats: post into a channel it may have to join first, open a modal or tell
  the user why it did not open, answer only the person who clicked or typed a command.

Listeners use the bot's instance (``SlackDeps.slack``), not the ``client`` Bolt passes them: Bolt
builds a plain ``AsyncWebClient`` per request, which would skip all of the above.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot import crashpoints
from bot.slack.errors import NotInChannel, SlackError, SlackUnreachable, slack_error

if TYPE_CHECKING:
    from prometheus_client import Counter

log = logging.getLogger(__name__)

Tell = Callable[[str], Awaitable[object]]  # says something to the one person who asked
Respond = Callable[..., Awaitable[object]]  # Bolt's respond(): the interaction's response_url


# Posting again blindly when the connection dropped could post twice: Slack may have accepted the
# message before the answer was lost. The outbox retries these calls itself, after looking for the
# message it may already have posted (bot.notify.once).
NOT_RESENT_ON_DISCONNECT = ("/chat.postMessage",)


class _ReconnectUnlessPosting(AsyncConnectionErrorRetryHandler):
    async def _can_retry_async(self, *, state: RetryState, request: HttpRequest,
                               response: HttpResponse | None = None, error: Exception | None = None) -> bool:
        if request.url.endswith(NOT_RESENT_ON_DISCONNECT):
            return False
        return await super()._can_retry_async(state=state, request=request, response=response, error=error)


def make_client(token: str, base_url: str, *, timeout: int = 10, wait_on_rate_limit: bool = True,
                retries: bool = True, errors: Counter | None = None) -> SlackClient:
    """A client that retries 5xx and dropped connections (not for posts: see
    :data:`NOT_RESENT_ON_DISCONNECT`), and 429 after its Retry-After.

    ``wait_on_rate_limit=False`` is for the alert dispatcher, which must see a 429 at once: it
    pauses that channel and folds new alerts into a storm message instead of sleeping.
    ``retries=False`` is for the readiness probe, which wants Slack's state now. ``errors``: the
    counter (labelled method, error) that every failed call increments.
    """
    if not base_url.endswith("/"):
        base_url += "/"
    handlers: list[AsyncRetryHandler] = []
    if retries:
        handlers = [AsyncServerErrorRetryHandler(max_retry_count=2), _ReconnectUnlessPosting(max_retry_count=2)]
        if wait_on_rate_limit:
            handlers.insert(0, AsyncRateLimitErrorRetryHandler(max_retry_count=2))
    return SlackClient(token=token, base_url=base_url, timeout=timeout, retry_handlers=handlers, errors=errors)


class SlackClient(AsyncWebClient):
    def __init__(self, *, errors: Counter | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._errors = errors

    async def api_call(self, api_method: str, **kwargs: Any) -> AsyncSlackResponse:
        try:
            resp = await super().api_call(api_method, **kwargs)
        except SlackApiError as exc:
            raise self._counted(exc if isinstance(exc, SlackError) else slack_error(api_method, exc)) from None
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:  # after the connection retries
            raise self._counted(SlackUnreachable(api_method, type(exc).__name__)) from None
        if api_method == "chat.postMessage":
            crashpoints.reached(crashpoints.Point.AFTER_SLACK_POST)
        return resp

    async def _request(self, *, http_verb: str, api_url: str, req_args: dict[str, Any]) -> dict[str, Any]:
        """slack_sdk checks an answer with ``data.get("ok")``: JSON that is no object ("x", 5; never
        Slack, a proxy in its place) would be an AttributeError inside it. Such an answer reaches its
        check as an empty one, which it refuses, and :func:`slack_error` names it."""
        res = await super()._request(http_verb=http_verb, api_url=api_url, req_args=req_args)
        if not isinstance(res.get("data"), dict | bytes):
            res = {**res, "data": {}}
        return res

    async def files_upload_v2(self, **kwargs: Any) -> AsyncSlackResponse:
        """The upload to the URL Slack hands out is not a Web API call; its failure is one too."""
        try:
            return await super().files_upload_v2(**kwargs)
        except SlackRequestError as exc:
            log.debug("files.upload failed: %s", exc)
            raise self._counted(SlackError("files.upload", "upload_failed")) from None

    def _counted(self, err: SlackError) -> SlackError:
        if self._errors is not None:
            self._errors.labels(err.method, err.code).inc()
        return err

    # --- the repeated moves --------------------------------------------------------------------

    async def post(self, channel: str, **kwargs: Any) -> AsyncSlackResponse:
        """chat.postMessage; joins a public channel the bot is not in yet and tries again."""
        try:
            return await self.chat_postMessage(channel=channel, **kwargs)
        except NotInChannel:
            pass
        await self.conversations_join(channel=channel)  # public channels only; else invite the bot
        return await self.chat_postMessage(channel=channel, **kwargs)

    async def open_modal(self, trigger_id: str | None, view: View, *, tell: Tell | None,
                         what: str = "the form") -> bool:
        """views.open. When Slack will not open it — most often ``expired_trigger_id``: the click
        or command reached us after Slack's three seconds — the user is told so through ``tell``
        and False is returned; with ``tell=None`` the caller explains (and may do something else)."""
        code = "no_trigger_id"  # Slack sent none: there is nothing to open it with
        if trigger_id:
            try:
                await self.views_open(trigger_id=trigger_id, view=view)
                return True
            except SlackError as exc:
                code = exc.code
        log.warning("could not open %s (%s): %s", what, view.callback_id, code)
        if tell is not None:
            await tell(f"⚠️ Slack would not open {what} ({code}); please try again.")
        return False

    async def permalink(self, channel: str, ts: str) -> str | None:
        """The message's link, or None when Slack cannot say (a link is never worth failing for)."""
        try:
            resp = await self.chat_getPermalink(channel=channel, message_ts=ts)
        except SlackError:
            return None
        link = resp.get("permalink")
        return str(link) if link else None


async def answer(respond: Respond, text: str, **kwargs: Any) -> None:
    """Answer a click or command so only the person who made it sees it, leaving the message be."""
    await respond(text=text, response_type="ephemeral", replace_original=False, **kwargs)


def teller(respond: Respond) -> Tell:
    """:func:`answer` through ``respond``, as the ``tell`` that :meth:`SlackClient.open_modal` takes."""

    async def tell(text: str) -> None:
        await answer(respond, text)

    return tell
