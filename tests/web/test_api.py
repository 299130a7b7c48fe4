"""``GET /api/alerts`` over real HTTP: the state and team filters, the token, and bad parameters."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.sandbox.slack import SlackStandIn
from bot.slack.ids import AlertAction
from tests.support.factories import ALICE, TOKENS, am_alert, am_notification
from tests.support.harness import Harness, start_harness

API_TOKEN = "api-token-0123456789"


@pytest.fixture
async def api(slack: SlackStandIn, clock: ManualClock, db_url: str) -> AsyncIterator[Harness]:
    async with start_harness(slack=slack, clock=clock, db_url=db_url, settings={"api_token": API_TOKEN},
                             background=False) as h:
        yield h


async def get(h: Harness, path: str, token: str | None = API_TOKEN,
              headers: dict[str, str] | None = None) -> tuple[int, Any]:
    hdrs = {**({"Authorization": f"Bearer {token}"} if token else {}), **(headers or {})}
    async with h.http.get(h.url + path, headers=hdrs) as resp:
        return resp.status, await resp.json()


async def three_alerts(h: Harness) -> dict[str, int]:
    """A firing, an acknowledged and a resolved alert for platform, and a firing one for payments,
    a minute apart; their ids by name."""
    ids: dict[str, int] = {}
    for name in ("Resolved", "Acked", "Firing"):
        status, body = await h.alertmanager(am_notification(am_alert(name, fingerprint=f"fp-{name}"),
                                                            group_key=f"g-{name}"))
        assert status == 202, body
        ids[name] = body["new_alert_groups"][0]
        h.clock.advance(timedelta(minutes=1))
    status, body = await h.post("/alerts/generic", {"title": "PaymentGatewayDown", "severity": "high"},
                                token=TOKENS["GENERIC_TOKEN"])
    assert status == 202, body
    ids["Payments"] = body["new_alert_groups"][0]
    await h.drain()
    acked = next(m for m in h.slack.messages("platform-alerts") if "Acked" in (m.text or ""))
    await h.driver.click(acked, AlertAction.ACKNOWLEDGE, user_id=ALICE)
    status, _ = await h.alertmanager(am_notification(am_alert("Resolved", fingerprint="fp-Resolved",
                                                              status="resolved"), group_key="g-Resolved"))
    assert status == 202
    await h.drain()
    return ids


async def test_each_state_filter_lists_its_alerts_newest_first(api: Harness) -> None:
    ids = await three_alerts(api)
    listed = {}
    for state in ("open", "firing", "acknowledged", "resolved", "all"):
        status, body = await get(api, f"/api/alerts?status={state}")
        assert status == 200, body
        assert body["status"] == state and body["count"] == len(body["alerts"])
        listed[state] = [a["id"] for a in body["alerts"]]
    assert listed == {
        "open": [ids["Payments"], ids["Firing"], ids["Acked"]],
        "firing": [ids["Payments"], ids["Firing"]],
        "acknowledged": [ids["Acked"]],
        "resolved": [ids["Resolved"]],
        "all": [ids["Payments"], ids["Firing"], ids["Acked"], ids["Resolved"]],
    }
    status, default = await get(api, "/api/alerts")
    assert [a["id"] for a in default["alerts"]] == listed["open"]


async def test_an_alert_shows_its_fields_times_and_slack_link(api: Harness) -> None:
    ids = await three_alerts(api)
    _, body = await get(api, "/api/alerts?status=all")
    by_id = {a["id"]: a for a in body["alerts"]}
    acked, resolved = by_id[ids["Acked"]], by_id[ids["Resolved"]]
    message = next(m for m in api.slack.messages("platform-alerts") if "Acked" in (m.text or ""))
    assert acked == {**acked, "title": "Acked", "severity": "critical", "status": "acknowledged",
                     "team": "platform", "channel": "platform-alerts", "integration": "prometheus",
                     "fingerprint": "fp-Acked", "count": 1, "service": "api", "test": False,
                     "received_at": "2026-11-24T13:01:00Z", "acknowledged_at": "2026-11-24T13:03:00Z",
                     "acknowledged_by": ALICE, "acknowledged_via": "slack", "resolved_at": None,
                     "slack_ts": message.ts,
                     "slack_permalink": f"https://sandbox.slack.com/archives/{message.channel}/p"
                                        f"{message.ts.replace('.', '')}"}
    assert acked["labels"]["alertname"] == "Acked" and acked["labels"]["instance"] == "api-1:9090"
    assert [a["fingerprint"] for a in acked["alerts"]] == ["fp-Acked"]
    assert resolved["resolved_by"] == "Alertmanager" and resolved["resolved_at"] == "2026-11-24T13:03:00Z"
    payments = by_id[ids["Payments"]]
    assert (payments["team"], payments["channel"], payments["integration"]) == ("payments", "payments-alerts",
                                                                                 "scripts")


async def test_team_and_limit_narrow_the_list(api: Harness) -> None:
    ids = await three_alerts(api)
    _, platform = await get(api, "/api/alerts?team=platform&status=all")
    assert [a["id"] for a in platform["alerts"]] == [ids["Firing"], ids["Acked"], ids["Resolved"]]
    _, payments = await get(api, "/api/alerts?team=payments")
    assert [a["id"] for a in payments["alerts"]] == [ids["Payments"]]
    _, newest = await get(api, "/api/alerts?status=all&limit=2")
    assert [a["id"] for a in newest["alerts"]] == [ids["Payments"], ids["Firing"]]
    status, limit_500 = await get(api, "/api/alerts?limit=500")
    assert status == 200 and limit_500["count"] == 3


@pytest.mark.parametrize(("query", "field"), [
    ("status=closed", "status"), ("status=", "status"), ("team=nobody", "team"), ("limit=0", "limit"),
    ("limit=501", "limit"), ("limit=ten", "limit"), ("limit=-1", "limit"), ("limit=%D9%A3", "limit"),
    ("stauts=open", "stauts"), ("status=open&status=resolved", "status"),
])
async def test_a_bad_parameter_is_a_400_naming_it(api: Harness, query: str, field: str) -> None:
    status, body = await get(api, f"/api/alerts?{query}")
    assert status == 400, body
    assert body["status"] == "invalid" and body["errors"][0].startswith(f"{field}: "), body


async def test_the_token_is_required_and_checked(api: Harness) -> None:
    status, body = await get(api, "/api/alerts", token=None)
    assert status == 401 and "missing token" in body["error"], body
    status, body = await get(api, "/api/alerts", token="wrong-token-0123456789")
    assert status == 401 and "wrong token" in body["error"], body
    status, body = await get(api, "/api/alerts", token=None, headers={"Authorization": API_TOKEN})
    assert status == 401, body  # without "Bearer"
    status, body = await get(api, "/api/alerts", token=None, headers={"Authorization": "Bearer \udcff"})
    assert status == 401, body
    async with api.http.post(api.url + "/api/test", headers={"Authorization": "Bearer nope"}) as resp:
        assert resp.status == 401 and resp.headers["WWW-Authenticate"].startswith("Bearer")
    status, body = await get(api, "/api/alerts", headers={"Authorization": f"bearer {API_TOKEN}"})
    assert status == 200, body


async def test_unknown_paths_and_methods_answer_json(api: Harness) -> None:
    status, body = await get(api, "/api/nothing")
    assert status == 404 and "GET /api/alerts" in body["error"]
    async with api.http.post(api.url + "/api/alerts", headers={"Authorization": f"Bearer {API_TOKEN}"}) as resp:
        assert resp.status == 405 and resp.headers["Allow"] == "GET"
    async with api.http.get(api.url + "/api/test", headers={"Authorization": f"Bearer {API_TOKEN}"}) as resp:
        assert resp.status == 405 and resp.headers["Allow"] == "POST"


async def test_without_the_setting_the_api_is_off(harness: Harness) -> None:
    for method, path in (("GET", "/api/alerts"), ("POST", "/api/test"), ("GET", "/api/elsewhere")):
        async with harness.http.request(method, harness.url + path,
                                        headers={"Authorization": "Bearer anything"}) as resp:
            body = await resp.json()
            assert resp.status == 404, body
            assert "set WATCHSTANDER_API_TOKEN to enable the API" in body["error"]
