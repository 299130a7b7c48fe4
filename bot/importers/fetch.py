"""Getting the vendor's JSON: from its REST API over aiohttp, or from the same responses saved to
files (``--from-dir``). Both answer :meth:`Fetcher.get` with one parsed JSON object.

Saved responses live under the folder as the API path plus ``.json`` (``/schedules/PABC123`` →
``schedules/PABC123.json``); a later page of a list is the same name with ``.offset-N`` before
``.json`` (PagerDuty, Opsgenie) or ``.page-N`` (Grafana OnCall). The keys never leave this module:
error messages name the URL path, never the headers.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, urlsplit

import aiohttp

from bot.importers.jsonread import ImportFailed, JsonObj, obj

_TRIES = 3
_MAX_WAIT = 5.0


class Fetcher(Protocol):
    async def get(self, path: str, params: Mapping[str, str] | None = None) -> JsonObj: ...


class HttpFetcher:
    """GETs against ``base_url`` with the vendor's auth header; 429 and 5xx are tried again (after
    ``Retry-After``, at most a few seconds) before the import gives up with a message."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, headers: Mapping[str, str], vendor: str) -> None:
        self._session = session
        self._base = base_url.rstrip("/")
        self._headers = dict(headers)
        self._vendor = vendor

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> JsonObj:
        url = path if path.startswith(("http://", "https://")) else f"{self._base}/{path.lstrip('/')}"
        if urlsplit(url).netloc != urlsplit(self._base).netloc:  # a "next" link elsewhere: keep the key here
            raise ImportFailed(f"{self._vendor}'s next-page link points at another host ({urlsplit(url).netloc}); "
                               "not following it with the credentials")
        shown = urlsplit(url).path
        for attempt in range(_TRIES):
            try:
                async with self._session.get(url, params=params, headers=self._headers) as response:
                    body = await response.read()
                    status = response.status
                    retry_after = response.headers.get("Retry-After")
            except (TimeoutError, aiohttp.ClientError) as exc:
                raise ImportFailed(f"cannot reach {self._vendor} at {self._base}: {exc.__class__.__name__} {exc}") from None
            if (status == 429 or status >= 500) and attempt + 1 < _TRIES:
                await asyncio.sleep(_wait(retry_after, attempt))
                continue
            return _answer(self._vendor, shown, status, body)
        raise AssertionError("unreachable")  # pragma: no cover


def _wait(retry_after: str | None, attempt: int) -> float:
    try:
        return min(_MAX_WAIT, max(0.0, float(retry_after))) if retry_after else min(_MAX_WAIT, 0.5 * 2**attempt)
    except ValueError:
        return 1.0


def _answer(vendor: str, path: str, status: int, body: bytes) -> JsonObj:
    if status in (401, 403):
        raise ImportFailed(f"{vendor} refused the credentials (HTTP {status} on {path}); check the key or token "
                           "and its permissions")
    if status == 429:
        raise ImportFailed(f"{vendor} kept answering HTTP 429 (rate limited) on {path}; wait a minute and run "
                           "the import again; nothing was written")
    if status >= 400:
        raise ImportFailed(f"{vendor} answered HTTP {status} on {path}; nothing was written")
    return parse(body, f"{vendor} {path}")


def parse(body: bytes, where: str) -> JsonObj:
    try:
        value: object = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ImportFailed(f"{where}: not valid JSON ({exc})") from None
    return obj(value, where)


class DirFetcher:
    """The saved responses of an export folder, by API path (see the module docstring)."""

    def __init__(self, folder: Path, vendor: str) -> None:
        if not folder.is_dir():
            raise ImportFailed(f"--from-dir {folder}: no such folder")
        self._folder = folder
        self._vendor = vendor

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> JsonObj:
        params = dict(params or {})
        if path.startswith(("http://", "https://")) or "?" in path:  # a "next" link saved in a page
            parts = urlsplit(path)
            path = parts.path
            params.update({k: v[0] for k, v in parse_qs(parts.query).items()})
        name = path.strip("/").split("api/v1/", 1)[-1]  # Grafana OnCall's API may sit under a path
        name = name.removeprefix("v2/")
        if params.get("offset", "0") != "0":
            name += f".offset-{params['offset']}"
        if params.get("page", "1") != "1":
            name += f".page-{params['page']}"
        file = self._folder / f"{name}.json"
        try:
            data = file.read_bytes()
        except FileNotFoundError:
            raise ImportFailed(f"--from-dir {self._folder}: {file.relative_to(self._folder)} is missing "
                               f"(the saved {self._vendor} response to GET {path})") from None
        except OSError as exc:
            raise ImportFailed(f"--from-dir: cannot read {file}: {exc.strerror}") from None
        return parse(data, str(file))
