"""Hypothesis strategies that bend valid requests, and a bot that checks every answer to them.

A request starts valid (a real Alertmanager notification, a signed Slack click…) and is bent by
the strategies here: bytes flipped, inserted or cut; JSON values swapped for other types, huge
numbers, deep nesting or lists; keys dropped; headers changed. The caller re-signs the bent body
as Slack, Twilio, Grafana or Sentry would, so the code behind each signature check is reached too.

:class:`FuzzBot` serves one bot for many examples and checks each answer: no 5xx, no answer
missing, nothing logged at ERROR or with a traceback, and nothing stored changed by a request
that was refused (SQLite's ``PRAGMA data_version`` moves on any commit by the bot's connections).
"""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import sqlite3
import zlib
from collections.abc import Callable, Coroutine, Iterator, Mapping
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import strategies as st

from bot.sandbox.slack import SlackStandIn
from tests.conftest import CHANNELS, USERS
from tests.support.harness import Harness
from tests.web.hostile import RawResponse, hostile_bot, raw_http

T = TypeVar("T")
JSONValue = Any
HUGE_DIGITS = "7" * 5000  # beyond Python's 4,300-digit int conversion limit


class RawJSON(str):
    """Text placed into a JSON document as is (a number json.dumps would refuse to write)."""


def dumps(doc: JSONValue) -> bytes:
    """``doc`` as JSON; :class:`RawJSON` values go in verbatim, NaN/Infinity as Python writes them."""
    raws: dict[str, str] = {}

    def swap(value: JSONValue) -> JSONValue:
        if isinstance(value, RawJSON):
            marker = f"@@raw{len(raws)}@@"
            raws[marker] = str(value)
            return marker
        if isinstance(value, dict):
            return {k: swap(v) for k, v in value.items()}
        if isinstance(value, list):
            return [swap(v) for v in value]
        return value

    text = json.dumps(swap(doc))
    for marker, raw in raws.items():
        text = text.replace(f'"{marker}"', raw)
    return text.encode("utf-8", "surrogatepass")


# --- hostile JSON values -----------------------------------------------------------------------

def _deep(depth: int, open_: str = "[", close: str = "]") -> RawJSON:
    return RawJSON(open_ * depth + close * depth)


scalars = st.one_of(
    st.none(), st.booleans(),
    st.integers(), st.sampled_from([0, -1, 2**31, 2**63, -(2**63) - 1, 10**30]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=10),
    st.sampled_from(["", " ", "\x00", "²", "١٢", "\ud800", "\udcff", "é" * 3, "${PD_ROUTING_KEY}", "1e3",
                     "-1", "0x10", "NaN", "2026-13-45T25:61:00Z", "0001-01-01T00:00:00Z", "U0ALICE01", "1",
                     "alert:1", "snooze_1h:1", "<!channel>", "*bold*", "x" * 5000]),
)

hostile_values: st.SearchStrategy[JSONValue] = st.one_of(
    scalars,
    st.builds(RawJSON, st.sampled_from([HUGE_DIGITS, "-" + HUGE_DIGITS, "1e999999", "-0", "1" + "0" * 400])),
    st.builds(_deep, st.sampled_from([50, 1000, 100_000])),
    st.builds(lambda d: RawJSON('{"a":' * d + "1" + "}" * d), st.sampled_from([40, 3000])),
    st.lists(scalars, max_size=4),
    st.dictionaries(st.text(max_size=8), scalars, max_size=3),
    st.builds(lambda v: [v], scalars),  # a list where a string was
)


def paths(doc: JSONValue, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path into ``doc`` (dict keys and list indexes), the root included."""
    yield prefix
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            yield from paths(value, (*prefix, index))


def _copy(doc: JSONValue) -> JSONValue:
    if isinstance(doc, dict):
        return {k: _copy(v) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_copy(v) for v in doc]
    return doc


def _at(doc: JSONValue, path: tuple[Any, ...]) -> JSONValue:
    for key in path:
        doc = doc[key]
    return doc


@st.composite
def bent_json(draw: st.DrawFn, doc: JSONValue, max_edits: int = 3) -> JSONValue:
    """``doc`` with 1–``max_edits`` structural edits: a value replaced by another type, wrapped in a
    list, removed or duplicated under a new key."""
    doc = _copy(doc)
    for _ in range(draw(st.integers(1, max_edits))):
        path = draw(st.sampled_from(list(paths(doc))))
        edit = draw(st.sampled_from(["replace", "replace", "replace", "wrap", "delete", "add", "empty"]))
        value = draw(hostile_values)
        if not path:
            if edit in ("replace", "empty"):
                doc = value if edit == "replace" else {}
            elif edit == "wrap":
                doc = [doc]
            continue
        parent = _at(doc, path[:-1])
        key = path[-1]
        if edit == "replace":
            parent[key] = value
        elif edit == "wrap":
            parent[key] = [parent[key]]
        elif edit == "empty":
            parent[key] = type(parent[key])() if isinstance(parent[key], dict | list | str) else None
        elif edit == "delete":
            del parent[key]
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=12))] = value
        else:
            parent.insert(draw(st.integers(0, len(parent))), value)
    return doc


POSITIONS = 2**16
SHOWN = 2000  # bytes of a body shown in a failing example


@st.composite
def bent_bytes(draw: st.DrawFn, body: bytes, max_edits: int = 3) -> bytes:
    """``body`` with 1–``max_edits`` byte edits: flips, insertions, deletions, truncation."""
    data = bytearray(body)
    special = st.sampled_from([b"\x00", b"\xff", b"\xc3", b"\xed\xa0\x80", b'"', b"{", b"[", b"%", b"%FF", b"%00",
                               b"&", b"=", b"+", b"\\", b"\\u", b"\r\n", b"\xef\xbb\xbf", b"1" * 5000])
    for _ in range(draw(st.integers(1, max_edits))):
        # A position as a share of the length, so what is drawn does not depend on the length: bodies
        # carry ids the stand-in issues (trigger_id, event counters) whose length grows over a run,
        # and hypothesis replays each example's draws to shrink it.
        at = draw(st.integers(0, POSITIONS)) * len(data) // POSITIONS
        edit = draw(st.sampled_from(["flip", "insert", "special", "delete", "truncate", "repeat"]))
        if edit == "flip" and at < len(data):
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif edit == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif edit == "special":
            data[at:at] = draw(special)
        elif edit == "delete":
            del data[at:at + draw(st.integers(1, 16))]
        elif edit == "truncate":
            del data[at:]
        elif edit == "repeat":
            data[at:at] = data[at:at + draw(st.integers(1, 32))] * draw(st.integers(2, 50))
    return bytes(data)


@st.composite
def bent_form(draw: st.DrawFn, form: Mapping[str, str]) -> list[tuple[str, str]]:
    """A form's fields with 1–3 edits: a value replaced, a field dropped, added or repeated."""
    pairs = list(form.items())
    text = st.one_of(st.text(max_size=30), st.sampled_from(["", "\x00", "²", "1" * 5000, "x" * 3000, "é",
                                                             "[1]", "null", "{", "U0ALICE01", "C0000000"]))
    for _ in range(draw(st.integers(1, 3))):
        edit = draw(st.sampled_from(["replace", "replace", "delete", "add", "repeat"]))
        if not pairs:
            edit = "add"
        index = draw(st.integers(0, max(len(pairs) - 1, 0)))
        if edit == "replace":
            pairs[index] = (pairs[index][0], draw(text))
        elif edit == "delete":
            del pairs[index]
        elif edit == "add":
            pairs.append((draw(st.text(max_size=10)), draw(text)))
        else:
            pairs.append((pairs[index][0], draw(text)))
    return pairs


def form_bytes(pairs: list[tuple[str, str]] | Mapping[str, str]) -> bytes:
    return urlencode(pairs, errors="surrogatepass").encode()


def parsed_form(body: bytes) -> dict[str, str] | None:
    """The fields a server reading ``body`` strictly would see (what Twilio signs), or None."""
    try:
        return dict(parse_qsl(body.decode("ascii"), keep_blank_values=True, encoding="utf-8", errors="strict"))
    except (UnicodeDecodeError, ValueError):
        return None


# --- headers ------------------------------------------------------------------------------------

header_value = st.one_of(
    st.sampled_from([b"", b" ", b"\xff", b"\xc3\xa9", b"\xff\xfe", b"null", b"0", "²".encode(), b"-1",
                     b"99999999999999999999", b"a" * 4000, b"%FF", b"\x00", b"\t"]),
    st.binary(max_size=20).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"")),
    st.text(max_size=20).map(lambda t: t.encode("utf-8", "surrogatepass").replace(b"\r", b"").replace(b"\n", b"")),
)

content_types = st.sampled_from([
    b"application/json", b"application/json; charset=utf-8", b"application/json; charset=bogus",
    b"application/json; charset=latin-1", b"application/x-www-form-urlencoded",
    b"application/x-www-form-urlencoded; charset=UTF-8", b"application/x-www-form-urlencoded; charset=bogus",
    b"application/x-www-form-urlencoded; charset=\xff", b"multipart/form-data; boundary=xyz",
    b"multipart/form-data", b"text/plain", b"text/plain; charset=utf-16", b"application/xml", b"",
    b";;;", b"application/json; charset", b"*/*", b"application/x-www-form-urlencoded;charset=\"utf-8\"",
])


@dataclass(frozen=True)
class Request:
    """One HTTP/1.1 request, framed by hand so header bytes and encodings go out exactly as given."""

    method: str
    target: bytes
    headers: tuple[tuple[bytes, bytes], ...] = ()
    body: bytes = b""
    chunked: bool = False

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """How hypothesis shows a failing example: the body cut at :data:`SHOWN` bytes, because a body of
        100,000 ``[`` would make its repr so large that hypothesis warns, and warnings are errors here."""
        body = self.body if len(self.body) <= SHOWN else self.body[:SHOWN] + b"..."
        more = "" if body is self.body else f" ({len(self.body)} bytes in all)"
        printer.text(f"Request(method={self.method!r}, target={self.target!r}, headers={self.headers!r}, "
                     f"body={body!r}{more}, chunked={self.chunked!r})")

    def header(self, name: str) -> bytes | None:
        return next((v for k, v in self.headers if k.lower() == name.lower().encode()), None)

    def with_headers(self, **changes: bytes | None) -> Request:
        """Headers replaced (``None`` removes); names use ``_`` for ``-``."""
        names = {k.replace("_", "-").lower().encode(): v for k, v in changes.items()}
        kept = tuple((k, v) for k, v in self.headers if k.lower() not in names)
        added = tuple((k, v) for k, v in names.items() if v is not None)
        return replace(self, headers=kept + added)

    def wire(self) -> bytes:
        lines = [self.method.encode() + b" " + self.target + b" HTTP/1.1", b"Host: 127.0.0.1", b"Connection: close"]
        if self.chunked:
            lines.append(b"Transfer-Encoding: chunked")
            body = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in _chunks(self.body)) + b"0\r\n\r\n"
        else:
            lines.append(b"Content-Length: " + str(len(self.body)).encode())
            body = self.body
        lines.extend(k + b": " + v for k, v in self.headers)
        return b"\r\n".join(lines) + b"\r\n\r\n" + body


def _chunks(body: bytes, size: int = 7) -> Iterator[bytes]:
    for at in range(0, len(body), size):
        yield body[at:at + size]


def _encode(body: bytes, encoding: bytes) -> bytes:
    if encoding == b"gzip":
        return gzip.compress(body)
    if encoding == b"deflate":
        return zlib.compress(body)
    return body


@st.composite
def bent_headers(draw: st.DrawFn, request: Request, names: tuple[str, ...] = ()) -> Request:
    """``request`` with 1–3 header edits: a header dropped or given a hostile value, the content type
    or encoding changed (really compressing the body, or only saying so), or chunked framing."""
    names = names or tuple(k.decode("latin-1") for k, _ in request.headers) or ("Content-Type",)
    for _ in range(draw(st.integers(1, 3))):
        edit = draw(st.sampled_from(["value", "value", "drop", "content_type", "encoding", "chunked", "duplicate"]))
        name = draw(st.sampled_from(names))
        key = name.replace("-", "_")
        if edit == "value":
            request = request.with_headers(**{key: draw(header_value)})
        elif edit == "drop":
            request = request.with_headers(**{key: None})
        elif edit == "content_type":
            request = request.with_headers(content_type=draw(content_types))
        elif edit == "encoding":
            encoding = draw(st.sampled_from([b"gzip", b"deflate", b"br", b"zstd", b"identity", b"gzip, gzip",
                                             b"bogus", b"\xff"]))
            compress = draw(st.booleans())
            request = replace(request, body=_encode(request.body, encoding) if compress else request.body)
            request = request.with_headers(content_encoding=encoding)
        elif edit == "chunked":
            request = replace(request, chunked=True)
        else:
            value = request.header(name) or b""
            request = replace(request, headers=(*request.headers, (name.encode(), draw(header_value) + value)))
    return request


# --- the bot under fuzzing ----------------------------------------------------------------------

@dataclass
class Exchange:
    request: Request
    response: RawResponse
    changed: bool  # the database changed while the request was handled (and its after-ack work)


@dataclass
class FuzzBot:
    """One bot served over real HTTP for many examples, driven from synchronous hypothesis tests."""

    runner: asyncio.Runner
    h: Harness
    db_path: str
    caplog: pytest.LogCaptureFixture
    statuses: dict[int, int] = field(default_factory=dict)
    _watch: sqlite3.Connection | None = None

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.runner.run(coro)

    def data_version(self) -> int:
        if self._watch is None:
            self._watch = sqlite3.connect(self.db_path, isolation_level=None)
        return int(self._watch.execute("PRAGMA data_version").fetchone()[0])

    def send(self, request: Request, *, accepted: Callable[[int], bool] = lambda s: s < 400) -> Exchange:
        """Send ``request`` and check what it did; ``accepted``: which statuses may change what is stored."""
        first = len(self.caplog.records)
        before = self.data_version()
        response = self.run(self._exchange(request, first))
        changed = self.data_version() != before
        self.statuses[response.status] = self.statuses.get(response.status, 0) + 1
        shown = f"{request.wire()[:3000]!r}\n→ {response.status} {response.body[:500]!r}"
        bad = [r for r in self.caplog.records[first:] if r.exc_info or r.exc_text or r.levelno >= logging.ERROR]
        bad_logs = [f"{r.name} {r.levelname}: {r.getMessage()}\n{r.exc_text or ''}" for r in bad]
        assert 0 < response.status < 500, f"no 4xx for a bad request:\n{shown}"
        assert not bad_logs, f"logged at ERROR or with a traceback:\n{shown}\n" + "\n".join(bad_logs)
        assert not changed or accepted(response.status), f"refused, but what is stored changed:\n{shown}"
        return Exchange(request, response, changed)

    async def _exchange(self, request: Request, first: int) -> RawResponse:
        try:
            response = await raw_http(self.h.url, request.wire())
        except ConnectionResetError:
            # aiohttp refuses a request whose head it cannot parse (a NUL in a header) before reading
            # the body, answers 400 and closes; with a large body still unread, the kernel resets the
            # connection and the 400 is lost on the way. A reset is that refusal only if the bot said so.
            said = [r.getMessage() for r in self.caplog.records[first:]]
            assert any(m.startswith("refused a malformed HTTP request") for m in said), \
                f"the connection was reset, and the bot logged no refusal: {said}"
            response = RawResponse(400, "", b"(reset after aiohttp refused the request's head)")
        await self.h.bot.listeners.inflight.wait_idle()  # a Slack listener's work after the ack
        return response

    def close(self) -> None:
        if self._watch is not None:
            self._watch.close()


@contextmanager
def fuzz_bot(db_url: str, clock: Any, caplog: pytest.LogCaptureFixture,
             prepare: Callable[[Harness], Coroutine[Any, Any, None]] | None = None,
             **harness: Any) -> Iterator[FuzzBot]:
    """The bot (with Twilio and a metrics token, nothing sent in the background) on its own event loop."""
    with asyncio.Runner() as runner:
        stack = AsyncExitStack()

        async def start() -> Harness:
            slack = await stack.enter_async_context(SlackStandIn(channels=CHANNELS, users=USERS, trigger_ttl=None))
            h = await stack.enter_async_context(hostile_bot(slack, clock, db_url, background=False, **harness))
            if prepare is not None:
                await prepare(h)
            return h

        try:
            harness = runner.run(start())
        except BaseException:
            runner.run(stack.aclose())
            raise
        bot = FuzzBot(runner, harness, db_url.split(":///", 1)[1], caplog)
        try:
            yield bot
        finally:
            bot.close()
            runner.run(stack.aclose())
