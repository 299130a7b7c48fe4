"""Probing checks: an HTTP request (aiohttp), or a TLS handshake (``ssl``) that reads the chain.

A probe never raises: whatever goes wrong (refused, timed out, wrong status, wrong body, a
certificate that does not verify) is a failed :class:`~bot.monitors.probes.ProbeResult` with a
one-line ``error`` an on-call engineer can act on. HTTP probes share one aiohttp session
(connections are reused across probes); TLS probes use the standard library through asyncio.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from datetime import UTC, datetime

import aiohttp

from bot.config import Check
from bot.monitors.probes import ProbeResult, body_problem

MAX_BODY = 256 * 1024  # bytes of a response read to match body_contains / body_json
USER_AGENT = "Watchstander-Check/1 (+uptime check)"
CONNECTIONS = 50


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)


def _connect_error(exc: BaseException) -> str:
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return f"TLS: {exc.certificate_error}"
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return "DNS: the host name does not resolve"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"cannot connect: {exc.os_error.strerror or type(exc.os_error).__name__}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the server closed the connection without answering"
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"bad HTTP response: {exc.message}"
    return f"{type(exc).__name__}: {exc}"[:200]


async def _probe_http(http: aiohttp.ClientSession, check: Check) -> ProbeResult:
    assert check.url is not None
    timeout = check.timeout.total_seconds()
    start = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            async with http.request(check.method, check.url, data=check.body, allow_redirects=True,
                                    headers={"User-Agent": USER_AGENT, **check.headers},
                                    ssl=tls_context(check) if check.ca_file else True) as resp:
                body = b"" if check.method == "HEAD" else await resp.content.read(MAX_BODY)
                latency = _ms(start)
                status = resp.status
    except TimeoutError:
        return ProbeResult(ok=False, latency_ms=None, error=f"no answer within {timeout:g}s")
    except (aiohttp.ClientError, OSError, ValueError) as exc:
        return ProbeResult(ok=False, latency_ms=None, error=_connect_error(exc))
    wanted = check.expect.statuses()
    if status not in wanted:
        expected = " or ".join(str(s) for s in wanted)
        return ProbeResult(ok=False, latency_ms=latency, status=status, error=f"HTTP {status}, expected {expected}")
    if (problem := body_problem(check.expect, body)) is not None:
        return ProbeResult(ok=False, latency_ms=latency, status=status, error=problem)
    return ProbeResult(ok=True, latency_ms=latency, status=status)


def tls_context(check: Check) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=check.ca_file)


def _not_after(info: dict[str, object]) -> datetime | None:
    value = info.get("notAfter")
    return datetime.fromtimestamp(ssl.cert_time_to_seconds(value), UTC) if isinstance(value, str) else None


def _subject(info: dict[str, object]) -> str | None:
    for rdn in info.get("subject") or ():  # type: ignore[attr-defined]
        for key, value in rdn:
            if key == "commonName":
                return str(value)
    return None


async def _chain(host: str, port: int, ctx: ssl.SSLContext, seconds: float) -> list[dict[str, object]]:
    """The certificates the server sent, leaf first, as ``ssl`` describes them.

    The chain is read through ``SSLObject._sslobj.get_(un)verified_chain()``: CPython has had these
    since 3.10 and made them public (``SSLSocket.get_verified_chain``) in 3.13; ``getpeercert()``
    gives the leaf only, and the earliest expiry is often an intermediate's."""
    async with asyncio.timeout(seconds):
        _reader, writer = await asyncio.open_connection(host, port, ssl=ctx, server_hostname=host)
    try:
        sslobj = writer.get_extra_info("ssl_object")
        inner = getattr(sslobj, "_sslobj", None)
        verified = ctx.verify_mode != ssl.CERT_NONE
        getter = getattr(inner, "get_verified_chain" if verified else "get_unverified_chain", None)
        if getter is not None:
            return [cert.get_info() for cert in getter() or ()]
        return [sslobj.getpeercert()] if verified else []
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()


async def _probe_tls(check: Check) -> ProbeResult:
    """Handshake with verification; on a certificate the host name or the trust store rejects,
    handshake again without verifying, to still report when the certificate expires."""
    assert check.tls is not None
    host, _, port_text = check.tls.rpartition(":")
    timeout = check.timeout.total_seconds()
    start = time.perf_counter()
    error = None
    try:
        chain = await _chain(host, int(port_text), tls_context(check), timeout)
    except ssl.SSLCertVerificationError as exc:
        error = f"TLS: {exc.verify_message or exc.reason}"
        unverified = ssl.create_default_context()
        unverified.check_hostname, unverified.verify_mode = False, ssl.CERT_NONE
        try:
            chain = await _chain(host, int(port_text), unverified, timeout)
        except (OSError, ssl.SSLError, TimeoutError, ValueError):
            chain = []
    except TimeoutError:
        return ProbeResult(ok=False, latency_ms=None, error=f"no TLS handshake within {timeout:g}s")
    except (OSError, ssl.SSLError) as exc:
        return ProbeResult(ok=False, latency_ms=None, error=f"TLS: {getattr(exc, 'strerror', None) or exc}"[:200])
    except ValueError as exc:  # a host name the resolver refuses to encode (UnicodeError)
        return ProbeResult(ok=False, latency_ms=None, error=f"DNS: {host!r} is not a valid host name ({exc})"[:200])
    latency = _ms(start)
    expiries = [when for info in chain if (when := _not_after(info)) is not None]
    earliest = min(expiries) if expiries else None
    subject = _subject(chain[0]) if chain else None
    return ProbeResult(ok=error is None, latency_ms=latency, error=error, cert_expires_at=earliest,
                       cert_subject=subject)


class Prober:
    """The bot's :data:`~bot.monitors.probes.Probe`: one HTTP session for all checks, made on first use."""

    def __init__(self) -> None:
        self._http: aiohttp.ClientSession | None = None

    async def __call__(self, check: Check) -> ProbeResult:
        if check.kind == "tls":
            return await _probe_tls(check)
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=CONNECTIONS, ttl_dns_cache=300),
                cookie_jar=aiohttp.DummyCookieJar())  # a check is the same request every time
        return await _probe_http(self._http, check)

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
