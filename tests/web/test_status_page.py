"""`GET /status` and `/status.json`: the published checks with their state and 90-day uptime, and
incidents with only their published updates, over real HTTP."""

from __future__ import annotations

import re
import tomllib
from collections.abc import AsyncIterator
from datetime import timedelta
from fnmatch import fnmatch
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from multidict import CIMultiDict
from sqlalchemy import text as sql

from bot.clock import ManualClock
from bot.sandbox.slack import SlackStandIn
from tests.support.factories import T0, make_config
from tests.support.harness import Harness, start_harness
from tests.web.status_seed import PAGE_TOKEN, PRIVATE_PAGE, PUBLIC_PAGE, check_state, incident, outage

DAY = timedelta(days=1)


@pytest.fixture
async def harness(slack: SlackStandIn, clock: ManualClock, db_url: str) -> AsyncIterator[Harness]:
    async with start_harness(slack=slack, clock=clock, db_url=db_url, config=make_config(PUBLIC_PAGE),
                             background=False) as h:
        yield h


@pytest.fixture
async def private(slack: SlackStandIn, clock: ManualClock, db_url: str) -> AsyncIterator[Harness]:
    async with start_harness(slack=slack, clock=clock, db_url=db_url, config=make_config(PRIVATE_PAGE),
                             background=False) as h:
        yield h


async def get(h: Harness, path: str, **headers: str) -> tuple[int, CIMultiDict[str], str]:
    async with h.http.get(h.url + path, headers=headers) as resp:
        return resp.status, resp.headers.copy(), await resp.text()


async def page(h: Harness, path: str = "/status") -> str:
    status, headers, body = await get(h, path)
    assert status == 200, body
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    return body


async def page_json(h: Harness, path: str = "/status.json") -> Any:
    async with h.http.get(h.url + path) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


def visible(html: str) -> str:
    """The page's text as a reader sees it: tags, the stylesheet and extra spaces gone."""
    html = re.sub(r"<style>.*?</style>", " ", html, flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


async def test_published_checks_show_their_state_and_90_days_of_uptime(harness: Harness) -> None:
    h = harness
    await check_state(h, "api-health", watching_since=T0 - 10 * DAY)
    await outage(h, "api-health", T0 - DAY - timedelta(hours=2), T0 - DAY)  # two hours, yesterday 11:00–13:00
    await check_state(h, "internal-db", watching_since=T0 - 10 * DAY, down_since=T0, alerted=True)  # not published

    body = await page_json(h)
    assert body["title"] == "Example status"
    assert body["generated_at"] == "2026-11-24T13:00:00+00:00"
    assert [c["name"] for c in body["checks"]] == ["api-health", "shop-tls"]  # the config's order, nothing else
    api, tls = body["checks"]
    assert api["state"] == "up" and tls["state"] == "unknown"
    assert api["uptime_90d"] == pytest.approx(100 * (1 - 2 / (10 * 24)), abs=0.001)
    assert len(api["days"]) == 90
    assert api["days"][-1] == {"date": "2026-11-24", "uptime": 100.0}
    assert api["days"][-2] == {"date": "2026-11-23", "uptime": pytest.approx(100 * 22 / 24, abs=0.001)}
    assert api["days"][-12]["uptime"] is None  # before watching began: no data, not 100%
    assert tls["uptime_90d"] is None
    assert body["summary"] == {"state": "operational", "text": "All systems operational"}

    text = visible(await page(h))
    assert "Example status" in text and "Live status of Example's API and shop." in text
    assert "api-health Operational" in text
    assert "shop-tls Not checked yet" in text
    assert "99.16% uptime over 90 days" in text  # 2 h of 240 h, cut to two decimals
    assert "23 Nov 2026: 91.66% uptime" in text  # the day's text alternative (22 of 24 hours)
    assert "14 Nov 2026: no data" in text
    assert "internal-db" not in text
    assert "Updated 24 Nov 2026, 13:00 UTC" in text


async def test_a_down_check_and_an_open_incident_set_the_banner(harness: Harness) -> None:
    h = harness
    await check_state(h, "api-health", watching_since=T0 - 10 * DAY, down_since=T0 - timedelta(minutes=30),
                      alerted=True)
    await outage(h, "api-health", T0 - timedelta(minutes=28), None)
    body = await page_json(h)
    assert body["checks"][0]["state"] == "down"
    assert body["checks"][0]["days"][-1]["uptime"] == pytest.approx(100 * (1 - 28 / (13 * 60)), abs=0.001)
    assert body["summary"] == {"state": "down", "text": "api-health is down"}
    assert "api-health is down" in visible(await page(h))


async def test_only_published_updates_of_incidents_reach_the_page(harness: Harness) -> None:
    h = harness
    open_id = await incident(h, "Checkout failing", [
        ("INTERNAL: payments-db primary is at 100% CPU", False),
        ("Some payments fail; we are investigating", True),
        ("INTERNAL: rolling back deploy 1.42 by hand", False),
        ("A fix is deployed and we are watching", True),
    ], notes=["INTERNAL NOTE: Bob restarted the pod"])
    await incident(h, "Quiet internal incident", [("INTERNAL ONLY: nothing public here", False)])
    h.clock.advance(timedelta(hours=2))
    await incident(h, "Search slow", [("Search is slow for some users", True)], at=T0 - 3 * DAY,
                   resolved_at=T0 - 3 * DAY + timedelta(hours=1))
    await incident(h, "Old outage", [("Long ago", True)], at=T0 - 20 * DAY, resolved_at=T0 - 20 * DAY + DAY)

    body = await page_json(h)
    [shown] = body["incidents"]["open"]
    assert (shown["id"], shown["title"], shown["status"], shown["resolved_at"]) == (
        open_id, "Checkout failing", "investigating", None)
    assert [u["text"] for u in shown["updates"]] == ["A fix is deployed and we are watching",
                                                     "Some payments fail; we are investigating"]  # newest first
    assert shown["updates"][0]["at"] == "2026-11-24T13:04:00+00:00"
    assert [i["title"] for i in body["incidents"]["resolved_recent"]] == ["Search slow"]  # not the 20-day-old one
    assert body["summary"]["state"] == "incident"

    html = await page(h)
    text = visible(html)
    assert "Ongoing incidents Checkout failing Investigating · started 24 Nov 2026, 13:00 UTC" in text
    assert "A fix is deployed and we are watching 24 Nov 2026, 13:04 UTC" in text
    assert "Resolved in the last 14 days Search slow Resolved · started 21 Nov 2026, 13:00 UTC · resolved " \
           "21 Nov 2026, 14:00 UTC" in text
    for secret in ("INTERNAL", "Quiet internal incident", "Old outage", "root cause", "SEV2", "U0ALICE01"):
        assert secret not in html, secret
        assert secret not in str(body), secret


async def test_an_update_with_a_status_word_shows_it(harness: Harness) -> None:
    h = harness
    await incident(h, "API errors", [("Error rate back to normal", True)], status="monitoring")
    [shown] = (await page_json(h))["incidents"]["open"]
    assert shown["status"] == "monitoring" and shown["updates"][0]["status"] == "monitoring"
    assert "Monitoring — Error rate back to normal" in visible(await page(h))


async def test_markup_in_titles_and_updates_is_shown_as_text_never_run(harness: Harness) -> None:
    h = harness
    await incident(h, "<script>alert('title')</script> outage",
                   [("<img src=x onerror=alert(1)> & <b>bold</b> &lt;i&gt; see <https://example.com/x|the notice>",
                     True)])
    status, headers, html = await get(h, "/status")
    assert status == 200
    assert "<script" not in html.lower() and "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt; outage" in html
    assert "&lt;img src=x onerror=alert(1)&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in html
    assert "see the notice (https://example.com/x)" in visible(html)  # Slack's link markup, as words
    assert "script-src 'none'" in headers["Content-Security-Policy"]
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    [shown] = (await page_json(h))["incidents"]["open"]
    assert shown["title"] == "<script>alert('title')</script> outage"  # JSON carries the text as typed


async def test_caching_headers_etag_and_304(harness: Harness) -> None:
    h = harness
    for path in ("/status", "/status.json"):
        status, headers, body = await get(h, path)
        assert status == 200
        assert headers["Cache-Control"] == "public, max-age=30"
        etag = headers["ETag"]
        assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
        status, again, empty = await get(h, path, **{"If-None-Match": etag})
        assert (status, empty, again["ETag"]) == (304, "", etag)
        status, _, _ = await get(h, path, **{"If-None-Match": f'"other", W/{etag}'})
        assert status == 304
        status, _, fresh = await get(h, path, **{"If-None-Match": '"something-else"'})
        assert status == 200 and fresh == body
    _, before, _ = await get(h, "/status.json")
    await incident(h, "Checkout failing", [("We are on it", True)])
    _, after, _ = await get(h, "/status.json")
    assert before["ETag"] != after["ETag"]  # the content changed, so does its tag
    async with h.http.head(h.url + "/status") as resp:
        assert resp.status == 200 and resp.headers["Content-Type"] == "text/html; charset=utf-8"
        assert await resp.read() == b""


async def test_a_private_page_needs_its_token(private: Harness) -> None:
    h = private
    for path in ("/status", "/status.json"):
        status, headers, body = await get(h, path)
        assert status == 401 and "open it with ?token=" in body
        assert headers["Cache-Control"] == "private, no-store"
        status, _, body = await get(h, path + "?token=wrong-token-value")
        assert status == 401 and "Wrong token" in body
        status, _, body = await get(h, path + "?token=%ED%A0%80")  # a lone surrogate: still just wrong
        assert status == 401
        status, headers, body = await get(h, f"{path}?token={PAGE_TOKEN}")
        assert status == 200, body
        assert headers["Cache-Control"] == "private, no-store"
        assert headers["Referrer-Policy"] == "no-referrer"
    assert "Internal status" in await page(h, f"/status?token={PAGE_TOKEN}")
    assert (await page_json(h, f"/status.json?token={PAGE_TOKEN}"))["title"] == "Internal status"


async def test_without_a_status_page_in_the_config_it_is_404_naming_the_key(
        slack: SlackStandIn, clock: ManualClock, db_url: str) -> None:
    async with start_harness(slack=slack, clock=clock, db_url=db_url, background=False) as h:
        for path in ("/status", "/status.json"):
            async with h.http.get(h.url + path) as resp:
                assert resp.status == 404
                assert "status_page:" in (await resp.json())["error"]
        async with h.http.post(h.url + "/status") as resp:
            assert resp.status == 405


def test_the_templates_ship_in_the_package() -> None:
    """A non-editable install carries bot/web/templates: pyproject's package data names them."""
    root = Path(__file__).resolve().parents[2]
    globs = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["bot"]
    templates = sorted(p.relative_to(root / "bot").as_posix() for p in (root / "bot/web/templates").iterdir())
    assert templates and all(any(fnmatch(t, g) for g in globs) for t in templates), (templates, globs)


async def test_a_database_it_cannot_read_is_a_503_with_a_reason_not_a_traceback(harness: Harness) -> None:
    h = harness
    async with h.bot.services.sessions() as s:
        await s.execute(sql("ALTER TABLE check_outages RENAME TO check_outages_gone"))
        await s.commit()
    status, headers, body = await get(h, "/status")
    assert status == 503 and headers["Retry-After"] == "30"
    assert "cannot be read right now" in body and "Traceback" not in body
