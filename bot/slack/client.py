"""The one place the Slack Web API client is built, and Slack errors become typed exceptions."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient


def make_client(token: str, base_url: str, *, timeout: int = 10) -> AsyncWebClient:
    """A Web API client that retries 429 (honouring Retry-After), 5xx and dropped connections."""
    if not base_url.endswith("/"):
        base_url += "/"
    return AsyncWebClient(
        token=token,
        base_url=base_url,
        timeout=timeout,
        retry_handlers=[
            AsyncRateLimitErrorRetryHandler(max_retry_count=2),
            AsyncServerErrorRetryHandler(max_retry_count=2),
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
        ],
    )


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
