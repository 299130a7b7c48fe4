"""Each reproduction of a request that used to get a 500 and a traceback: now a 4xx naming the problem,
nothing stored changed, nothing logged with a traceback."""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import re
import time
from collections.abc import AsyncIterator
from urllib.parse import urlencode

import pytest

from bot.clock import ManualClock
from bot.sandbox.slack import SlackStandIn
from tests.support.factories import ALICE, TOKENS
from tests.support.harness import Harness
from tests.support.visible import visible_text
from tests.web.hostile import (
    hostile_bot,
    raw_http,
    request_bytes,
    stored,
    tracebacks,
    twilio_signature,
)

BIG_NUMBER = "1" * 5000
PHONE = "+15550000001"  # Alice's, from the test config


@pytest.fixture
async def bot(slack: SlackStandIn, clock: ManualClock, db_url: str) -> AsyncIterator[Harness]:
    async with hostile_bot(slack, clock, db_url) as h:
        yield h


async def post_raw(h: Harness, path: str, headers: dict[str, bytes | str], body: bytes = b"") -> tuple[int, str]:
    resp = await raw_http(h.url, request_bytes("POST", path, headers, body))
    return resp.status, resp.body.decode("utf-8", "replace")


async def test_basic_auth_that_is_not_ascii_is_401(bot: Harness, caplog: pytest.LogCaptureFixture) -> None:
    before = await stored(bot)
    for path in ("/alerts/alertmanager", "/alerts/grafana", "/alerts/sentry", "/alerts/generic"):
        status, body = await bot.post(path, {"title": "x"}, headers={"Authorization": "Basic é"})
        assert status == 401, (path, body)
        assert "missing token" in body["errors"][0]
    assert await stored(bot) == before
    assert tracebacks(caplog) == []


async def test_json_integers_too_long_for_python_are_400(bot: Harness, caplog: pytest.LogCaptureFixture) -> None:
    raw = f'{{"title": {BIG_NUMBER}}}'.encode()
    status, body = await bot.post("/alerts/generic", raw=raw, token=TOKENS["GENERIC_TOKEN"])
    assert status == 400 and body["errors"] == ["body: a JSON number has too many digits"], body
    status, body = await bot.post("/v2/enqueue", raw=f'{{"routing_key": {BIG_NUMBER}}}'.encode())
    assert status == 400 and body["message"] == "Event object is invalid", body
    assert body["errors"] == ["body: a JSON number has too many digits"]
    status, body = await bot.post("/alerts/generic", raw=b'{"title": "\\ud800 lone surrogate"}',
                                  token=TOKENS["GENERIC_TOKEN"])
    assert status == 400 and "lone UTF-16 surrogate" in body["errors"][0], body
    assert await stored(bot) == {"alerts": 0, "alert_groups": 0, "alert_events": 0, "pages": 0}
    assert tracebacks(caplog) == []


async def signed_twilio(h: Harness, path: str, params: dict[str, str],
                        content_type: str = "application/x-www-form-urlencoded") -> tuple[int, str]:
    body = urlencode(params).encode()
    headers = {"Content-Type": content_type, "X-Twilio-Signature": twilio_signature(path, params)}
    async with h.http.post(h.url + path, data=body, headers=headers) as resp:
        return resp.status, await resp.text()


async def test_a_signed_sms_of_5000_digits_is_answered_not_crashed(bot: Harness,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    status, text = await signed_twilio(bot, "/twilio/sms", {"From": PHONE, "Body": BIG_NUMBER, "MessageSid": "SM1"})
    assert status == 200, text
    assert "111111111... is not a page code" in text and "Nothing was changed" in text
    assert tracebacks(caplog) == []


@pytest.mark.parametrize("page", [BIG_NUMBER, "99999999999999999999", "²", "-1", "1e3"])
async def test_status_callbacks_with_a_page_id_that_is_no_number(bot: Harness, caplog: pytest.LogCaptureFixture,
                                                                 page: str) -> None:
    path = f"/twilio/status?{urlencode({'page': page})}"
    status, text = await signed_twilio(bot, path, {"MessageSid": "SM1", "MessageStatus": "delivered"})
    assert status == 204, text
    assert await stored(bot) == {"alerts": 0, "alert_groups": 0, "alert_events": 0, "pages": 0}
    assert tracebacks(caplog) == []


async def test_header_bytes_that_are_not_utf8_are_401(bot: Harness, caplog: pytest.LogCaptureFixture) -> None:
    status, text = await post_raw(bot, "/alerts/generic", {"Authorization": b"Bearer \xff\xfe",
                                                           "Content-Type": "application/json"}, b'{"title": "x"}')
    assert status == 401 and "invalid token" in text, text
    resp = await raw_http(bot.url, request_bytes("GET", "/metrics", {"Authorization": b"Bearer \xff"}))
    assert resp.status == 401 and b"METRICS_TOKEN" in resp.body
    resp = await raw_http(bot.url, request_bytes("GET", "/oncall/platform.ics?token=%FF%FE", {}))
    assert resp.status == 401 and b"wrong calendar token" in resp.body
    status, text = await bot.post("/v2/enqueue", {"routing_key": "\udcff", "event_action": "trigger",
                                                  "payload": {"summary": "s", "source": "h", "severity": "info"}})
    assert status == 400 and "lone UTF-16 surrogate" in text["errors"][0], text
    assert tracebacks(caplog) == []


@pytest.mark.parametrize("path", ["/alerts/generic", "/v2/enqueue", "/twilio/sms", "/twilio/status",
                                  "/slack/events"])
async def test_a_plain_body_sent_as_gzip_is_400(bot: Harness, caplog: pytest.LogCaptureFixture, path: str) -> None:
    """It used to be a RequestPayloadError: aiohttp logged "Unhandled exception" and dropped the connection."""
    body = b'{"title": "not actually gzip"}'
    headers: dict[str, bytes | str] = {"Content-Encoding": "gzip", "Content-Type": "application/json",
                                       "Authorization": f"Bearer {TOKENS['GENERIC_TOKEN']}"}
    if path.startswith("/twilio"):
        headers.update({"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "x"})
    if path == "/slack/events":
        headers.update(bot.driver.sign(body))
    status, text = await post_raw(bot, path, headers, body)
    assert status == 400, text
    assert "body: cannot be read (Can not decode content-encoding: gzip)" in text
    assert await stored(bot) == {"alerts": 0, "alert_groups": 0, "alert_events": 0, "pages": 0}
    assert tracebacks(caplog) == []


async def test_a_real_gzip_body_is_still_accepted(bot: Harness) -> None:
    body = gzip.compress(json.dumps({"title": "compressed", "severity": "low"}).encode())
    status, text = await post_raw(bot, "/alerts/generic", {"Content-Encoding": "gzip",
                                                           "Content-Type": "application/json",
                                                           "Authorization": f"Bearer {TOKENS['GENERIC_TOKEN']}"},
                                  body)
    assert status == 202, text
    assert (await stored(bot))["alerts"] == 1


UNSIGNED_SLACK = [
    (b"{", {}, "missing X-Slack-Request-Timestamp"),
    (b"payload=null", {"Content-Type": "application/x-www-form-urlencoded"}, "missing X-Slack-Request-Timestamp"),
    (b"text=\xff", {"Content-Type": "application/x-www-form-urlencoded"}, "missing X-Slack-Request-Timestamp"),
    (b"[" * 100_000, {"Content-Type": "application/json"}, "missing X-Slack-Request-Timestamp"),
    (b"{}", {"Content-Type": "application/x-www-form-urlencoded; charset=bogus"}, "missing X-Slack-Request"),
    (b"{}", {"X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": "v0=00"}, "not a Unix time"),
    (b"{}", {"X-Slack-Request-Timestamp": "\u00b2", "X-Slack-Signature": "v0=00"}, "not a Unix time"),
    (b"{}", {"X-Slack-Request-Timestamp": "1", "X-Slack-Signature": "v0=00"}, "s old"),
    (b"{}", {"X-Slack-Signature": "v0=00"}, "missing X-Slack-Request-Timestamp"),
]


@pytest.mark.parametrize(("body", "headers", "error"), UNSIGNED_SLACK)
async def test_unsigned_slack_requests_are_401_before_the_body_is_read(
        bot: Harness, caplog: pytest.LogCaptureFixture, body: bytes, headers: dict[str, str], error: str) -> None:
    resp = await bot.driver.raw(body, headers)
    assert resp.status == 401, resp.text
    assert error in resp.json()["error"]
    assert tracebacks(caplog) == []


async def test_slack_signatures_that_are_not_ascii_or_wrong_are_401(bot: Harness,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    ts = str(int(time.time()))
    for signature in ("v0=é", "v0=" + "0" * 64, ""):
        resp = await bot.driver.raw(b"{}", {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature})
        assert resp.status == 401, resp.text
        assert "X-Slack-Signature" in resp.json()["error"]
    # Not UTF-8: Slack signs text, so these bytes cannot carry a good signature.
    status, text = await post_raw(bot, "/slack/events", {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=é"},
                                  b"text=\xff")
    assert status == 401 and "does not match" in text
    resp = await bot.driver.raw(b"{}", {**bot.driver.sign(b"{}", timestamp=int(time.time()) + 600)})
    assert resp.status == 401 and re.search(r"\b(599|600) s in the future", resp.json()["error"]), resp.text
    assert tracebacks(caplog) == []


async def test_a_repeated_signing_header_is_401(bot: Harness, caplog: pytest.LogCaptureFixture) -> None:
    """Bolt checks the signature again and read the second timestamp: int("abc") was a 500."""
    body = b'{"type": "url_verification", "challenge": "c"}'
    signed = bot.driver.sign(body)
    for name, extra in [("X-Slack-Request-Timestamp", b"abc"), ("X-Slack-Signature", b"v0=00")]:
        headers: dict[str, bytes | str] = {"Content-Type": "application/json", **signed}
        request = request_bytes("POST", "/slack/events", headers, body)[:-len(body) - 2]
        resp = await raw_http(bot.url, request + name.encode() + b": " + extra + b"\r\n\r\n" + body)
        assert resp.status == 401, resp.body
        assert f"{name} is repeated; Slack sends it once".encode() in resp.body
    assert tracebacks(caplog) == []


SIGNED_BAD_BODIES = [
    (b"{", "application/json"),
    (b"payload=null", "application/x-www-form-urlencoded"),
    (b"payload=[1]", "application/x-www-form-urlencoded"),
    (b"payload=%7B", "application/x-www-form-urlencoded"),
    (b"[" * 100_000, "application/json"),
    (b"[1, 2]", "application/json"),
    (b'{"authorizations": "x", "enterprise": 5}', "application/json"),
    (f'{{"n": {BIG_NUMBER}}}'.encode(), "application/json"),
]


@pytest.mark.parametrize(("body", "content_type"), SIGNED_BAD_BODIES)
async def test_signed_slack_bodies_that_are_no_payload_are_400(
        bot: Harness, caplog: pytest.LogCaptureFixture, body: bytes, content_type: str) -> None:
    resp = await bot.driver.raw(body, {"Content-Type": content_type, **bot.driver.sign(body)})
    assert resp.status == 400, resp.text
    assert resp.json()["error"].startswith("body: not a Slack payload")
    assert tracebacks(caplog) == []


async def test_the_slash_command_still_works_after_verification(bot: Harness) -> None:
    resp = await bot.driver.slash("/oncall", "", user_id=ALICE, channel_id="alerts")
    assert resp.status == 200
    await bot.drain()
    [answer] = bot.slack.ephemerals(ALICE)
    assert "platform" in visible_text(answer)


TWILIO_FORMS = [
    (b"From=%2B15550000001&Body=\xff", "application/x-www-form-urlencoded", 400, "not URL-encoded UTF-8"),
    (b"From=%2B15550000001&Body=%FF", "application/x-www-form-urlencoded", 400, "not URL-encoded UTF-8"),
    (b"From=%2B15550000001&Body=a", "application/x-www-form-urlencoded; charset=bogus", 415, "charset must be utf-8"),
    (b"From=%2B15550000001&Body=a", "multipart/form-data; boundary=xyz", 415, "Content-Type must be"),
    (b"&".join([b"a=b"] * 500), "application/x-www-form-urlencoded", 400, "more than 200 form fields"),
]


@pytest.mark.parametrize("path", ["/twilio/sms", "/twilio/status"])
@pytest.mark.parametrize(("body", "content_type", "status", "error"), TWILIO_FORMS)
async def test_twilio_forms_that_cannot_be_read_are_4xx(
        bot: Harness, caplog: pytest.LogCaptureFixture, path: str, body: bytes, content_type: str, status: int,
        error: str) -> None:
    got, text = await post_raw(bot, path, {"Content-Type": content_type, "X-Twilio-Signature": "sig"}, body)
    assert got == status, text
    assert error in text
    assert await stored(bot) == {"alerts": 0, "alert_groups": 0, "alert_events": 0, "pages": 0}
    assert tracebacks(caplog) == []


async def test_aiohttps_own_rejections_are_one_line_without_the_token(bot: Harness,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    secret = TOKENS["PLATFORM_ICS_TOKEN"]
    with caplog.at_level(logging.DEBUG, logger="aiohttp.server"):
        resp = await raw_http(bot.url, b"GET /oncall/platform.ics?token=" + secret.encode()
                              + b" HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
        assert resp.status == 400
        resp = await raw_http(bot.url, b"G\x01T /alerts/generic?token=" + TOKENS["GENERIC_TOKEN"].encode()
                              + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        assert resp.status == 400
        resp = await raw_http(bot.url, request_bytes("POST", "/alerts/generic?token=" + TOKENS["GENERIC_TOKEN"],
                                                     {"Transfer-Encoding": "chunked"}, b"zz\r\nnot chunks\r\n"))
        assert resp.status == 400
    records = [r for r in caplog.records if r.name == "aiohttp.server"]
    assert records
    for record in records:
        text = record.getMessage()
        assert record.levelno <= logging.WARNING and not record.exc_info and not record.exc_text, text
        assert "\n" not in text and text.startswith("refused a malformed HTTP request"), text
        assert secret not in text and TOKENS["GENERIC_TOKEN"] not in text, text
    assert any("token=[scrubbed]" in r.getMessage() for r in records)


async def test_a_client_sending_its_headers_slowly_is_cut_off(slack: SlackStandIn, clock: ManualClock,
                                                              db_url: str) -> None:
    async with hostile_bot(slack, clock, db_url, idle_timeout=0.5) as h:
        reader, writer = await asyncio.open_connection("127.0.0.1", int(h.url.rsplit(":", 1)[1]))
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
        await writer.drain()
        started = time.monotonic()
        assert await asyncio.wait_for(reader.read(), timeout=10) == b""  # closed, without an answer
        assert time.monotonic() - started < 5
        writer.close()

