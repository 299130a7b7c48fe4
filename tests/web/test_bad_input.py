"""Bad input on every endpoint: the documented 4xx naming the problem, never a 5xx, nothing damaged."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from bot.alerts.models import Alert, AlertGroup
from tests.support.factories import TOKENS, am_alert, am_notification
from tests.support.harness import Harness

PAYLOADS = Path(__file__).parent.parent / "alerts" / "payloads"
ENDPOINTS = {
    "/alerts/alertmanager": TOKENS["AM_TOKEN"],
    "/alerts/grafana": TOKENS["GRAFANA_TOKEN"],
    "/alerts/generic": TOKENS["GENERIC_TOKEN"],
}


async def stored(h: Harness) -> tuple[int, int]:
    async with h.bot.services.sessions() as s:
        return (int(await s.scalar(select(func.count()).select_from(Alert)) or 0),
                int(await s.scalar(select(func.count()).select_from(AlertGroup)) or 0))


@pytest.mark.parametrize("path", sorted(ENDPOINTS))
async def test_malformed_bodies_are_refused_with_the_reason(harness: Harness, path: str) -> None:
    token = ENDPOINTS[path]
    await harness.alertmanager(am_notification(am_alert()))
    before = await stored(harness)
    cases = [
        (b"{not json", "body: not valid JSON"),
        (b"", "body: empty"),
        (b"\xff\xfe\x00", "body: not UTF-8"),
        (b"[1, 2, 3]", ""),
        (b'"just a string"', ""),
        (b"null", ""),
        (b'{"alerts": "nope", "title": 5}', ""),
    ]
    for raw, expected in cases:
        status, body = await harness.post(path, token=token, raw=raw)
        assert status == 400, (raw, body)
        assert body["status"] == "invalid" and body["errors"], (raw, body)
        assert expected in " ".join(body["errors"])
    assert await stored(harness) == before


async def test_errors_name_the_bad_field(harness: Harness) -> None:
    bad = am_notification(am_alert())
    bad["alerts"][0]["labels"] = "severity=critical"
    status, body = await harness.alertmanager(bad)
    assert status == 400
    assert any(e.startswith("alerts[0].labels") for e in body["errors"]), body
    status, body = await harness.post("/alerts/generic", {"severity": "high"}, token=TOKENS["GENERIC_TOKEN"])
    assert status == 400 and any("title" in e for e in body["errors"])
    status, body = await harness.post("/alerts/generic", {"title": "x", "status": "exploded"},
                                      token=TOKENS["GENERIC_TOKEN"])
    assert status == 400 and any("status" in e and "exploded" in e for e in body["errors"])


async def test_tokens(harness: Harness) -> None:
    payload = am_notification(am_alert())
    status, body = await harness.post("/alerts/alertmanager", payload)
    assert status == 401 and "missing token" in body["errors"][0]
    status, body = await harness.post("/alerts/alertmanager", payload, token="wrong-token-123")
    assert status == 401 and body["errors"] == ["invalid token"]
    status, body = await harness.post("/alerts/alertmanager", payload, token=TOKENS["GENERIC_TOKEN"])
    assert status == 401 and "belongs to a generic integration" in body["errors"][0]
    status, _ = await harness.post(f"/alerts/alertmanager?{urlencode({'token': TOKENS['AM_TOKEN']})}", payload)
    assert status == 202
    assert await stored(harness) == (1, 1)


@pytest.mark.parametrize("path", [*sorted(ENDPOINTS), "/v2/enqueue"])
async def test_a_1mb_body_is_413(harness: Harness, path: str) -> None:
    big = json.dumps({"title": "x" * (1024 * 1024)}).encode()
    status, body = await harness.post(path, token=ENDPOINTS.get(path), raw=big)
    assert status == 413
    assert "512 KB" in " ".join(body["errors"])
    assert await stored(harness) == (0, 0)


async def test_pagerduty_errors_read_like_pagerduty(harness: Harness) -> None:
    status, body = await harness.post("/v2/enqueue", {"event_action": "trigger", "payload": {}})
    assert status == 400
    assert body["status"] == "invalid event" and body["message"] == "Event object is invalid"
    assert "'routing_key' is missing or blank" in body["errors"]
    assert "'payload.summary' is missing or blank" in body["errors"]
    status, body = await harness.post("/v2/enqueue", {"routing_key": "not-a-key-at-all", "event_action": "trigger",
                                                      "payload": {"summary": "s", "source": "h", "severity": "info"}})
    assert status == 400 and body["errors"] == ["'routing_key' is invalid"]
    status, body = await harness.post("/v2/enqueue", raw=b"{oops")
    assert status == 400 and body["status"] == "invalid event"
    assert await stored(harness) == (0, 0)


async def test_pagerduty_rate_limit_is_429(harness: Harness) -> None:
    event = {"routing_key": TOKENS["PD_ROUTING_KEY"], "event_action": "trigger", "dedup_key": "same",
             "payload": {"summary": "flood", "source": "h", "severity": "info"}}
    statuses = [(await harness.post("/v2/enqueue", event))[0] for _ in range(620)]
    assert statuses.count(429) >= 1 and statuses[0] == 202
    assert set(statuses) == {202, 429}


async def test_sentry_signature_is_required_when_a_secret_is_set(harness: Harness) -> None:
    body = (PAYLOADS / "sentry_event_alert.json").read_bytes()
    headers = {"Sentry-Hook-Resource": "event_alert"}
    status, resp = await harness.post("/alerts/sentry", token=TOKENS["SENTRY_TOKEN"], raw=body, headers=headers)
    assert status == 401 and "Sentry-Hook-Signature" in resp["errors"][0]
    sig = hmac.new(TOKENS["SENTRY_CLIENT_SECRET"].encode(), body, hashlib.sha256).hexdigest()
    status, resp = await harness.post("/alerts/sentry", token=TOKENS["SENTRY_TOKEN"], raw=body,
                                      headers={**headers, "Sentry-Hook-Signature": sig})
    assert status == 202, resp


def grafana_signed(body: bytes, ts: int) -> dict[str, str]:
    sig = hmac.new(TOKENS["GRAFANA_SECRET"].encode(), f"{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Grafana-Alerting-Signature": sig, "X-Grafana-Alerting-Signature-Timestamp": str(ts)}


async def test_grafana_accepts_its_hmac_signature_instead_of_a_token(harness: Harness) -> None:
    body = (PAYLOADS / "grafana_unified.json").read_bytes()
    now = int(harness.clock.now().timestamp())
    status, resp = await harness.post("/alerts/grafana", raw=body, headers=grafana_signed(body, now))
    assert status == 202, resp
    stored_by_the_signed_one = await stored(harness)
    other = body.replace(b"c6eadffa33fcdf37", b"0000000000000001")  # new alerts, were it accepted
    status, resp = await harness.post("/alerts/grafana", raw=other, headers={
        "X-Grafana-Alerting-Signature": "0" * 64, "X-Grafana-Alerting-Signature-Timestamp": str(now)})
    assert status == 401
    assert resp["errors"] == ["X-Grafana-Alerting-Signature: does not match any Grafana integration's secret"]
    assert await stored(harness) == stored_by_the_signed_one


async def test_grafana_signatures_cannot_be_replayed(harness: Harness) -> None:
    """A correctly signed request whose timestamp is more than 5 minutes from the bot's clock is refused."""
    body = (PAYLOADS / "grafana_unified.json").read_bytes()
    now = int(harness.clock.now().timestamp())
    status, resp = await harness.post("/alerts/grafana", raw=body, headers=grafana_signed(body, now - 301))
    assert status == 401
    assert resp["errors"][0].startswith("X-Grafana-Alerting-Signature-Timestamp: 301 s old"), resp
    status, resp = await harness.post("/alerts/grafana", raw=body, headers=grafana_signed(body, now + 3600))
    assert status == 401 and "3600 s in the future" in resp["errors"][0], resp
    status, resp = await harness.post("/alerts/grafana", raw=body, headers={
        **grafana_signed(body, now), "X-Grafana-Alerting-Signature-Timestamp": "yesterday"})
    assert status == 401 and "not a Unix time in seconds" in resp["errors"][0], resp
    assert await stored(harness) == (0, 0)
    harness.clock.advance(timedelta(minutes=10))  # the bot's clock, not the machine's, decides what is fresh
    fresh = int(harness.clock.now().timestamp()) - 299
    status, resp = await harness.post("/alerts/grafana", raw=body, headers=grafana_signed(body, fresh))
    assert status == 202, resp
    assert await stored(harness) != (0, 0)


async def test_unknown_routes_and_methods(harness: Harness) -> None:
    async with harness.http.get(harness.url + "/alerts/alertmanager") as resp:
        assert resp.status == 405
    async with harness.http.post(harness.url + "/alerts/nagios", data=b"{}") as resp:
        assert resp.status == 404
