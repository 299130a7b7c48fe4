"""The one place the Slack Web API client is built, and Slack errors become typed exceptions."""

from __future__ import annotations

from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient


def make_client(token: str, base_url: str, *, timeout: int = 10, wait_on_rate_limit: bool = True) -> AsyncWebClient:
    """A Web API client that retries 5xx and dropped connections, and 429 after its Retry-After.

    ``wait_on_rate_limit=False`` is for the alert dispatcher, which must see a 429 at once: it
    pauses that channel and folds new alerts into a storm message instead of sleeping.
    """
    if not base_url.endswith("/"):
        base_url += "/"
    handlers: list[AsyncRetryHandler] = [
        AsyncServerErrorRetryHandler(max_retry_count=2),
        AsyncConnectionErrorRetryHandler(max_retry_count=2),
    ]
    if wait_on_rate_limit:
        handlers.insert(0, AsyncRateLimitErrorRetryHandler(max_retry_count=2))
    return AsyncWebClient(token=token, base_url=base_url, timeout=timeout, retry_handlers=handlers)


class SlackError(Exception):
    """A Slack Web API call failed; ``code`` is Slack's error name (``channel_not_found``…)."""

    def __init__(self, method: str, code: str, retry_after: float | None = None) -> None:
        super().__init__(f"{method}: {code}")
        self.method = method
        self.code = code
        self.retry_after = retry_after

    @property
    def transient(self) -> bool:
        return self.code in TRANSIENT


class RateLimited(SlackError):
    pass


TRANSIENT = frozenset({
    "ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout",
    "http_error", "connection_error",
})


def slack_error(method: str, exc: SlackApiError) -> SlackError:
    response = exc.response
    status = getattr(response, "status_code", 200)
    code = str(response.get("error") or f"http_{status}") if response is not None else "http_error"
    if status == 429 or code == "ratelimited":
        header = (response.headers or {}).get("Retry-After") or (response.headers or {}).get("retry-after")
        return RateLimited(method, "ratelimited", float(header) if header else 1.0)
    if status >= 500:
        code = "service_unavailable"
    return SlackError(method, code)


class SlackCaller:
    """Web API calls with Slack's errors turned into :class:`SlackError` and counted once, here."""

    def __init__(self, client: AsyncWebClient, errors: Any = None) -> None:
        self.client = client
        self._errors = errors  # prometheus Counter labelled (method, error), or None

    async def call(self, method: str, **kwargs: Any) -> Any:
        try:
            return await getattr(self.client, method)(**kwargs)
        except SlackApiError as exc:
            err = slack_error(method.replace("_", "."), exc)
            if self._errors is not None:
                self._errors.labels(err.method, err.code).inc()
            raise err from None

    async def post(self, channel: str, **kwargs: Any) -> Any:
        """chat.postMessage; joins a public channel the bot is not in yet and tries again."""
        try:
            return await self.call("chat_postMessage", channel=channel, **kwargs)
        except SlackError as exc:
            if exc.code != "not_in_channel":
                raise
        await self.call("conversations_join", channel=channel)  # public channels only; else invite the bot
        return await self.call("chat_postMessage", channel=channel, **kwargs)
