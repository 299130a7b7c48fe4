"""/metrics over HTTP, parsed as Prometheus parses it: Slack errors counted once, latency for every route."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tests.support.factories import am_alert, am_notification
from tests.support.harness import Harness


async def scrape(harness: Harness) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of /metrics, keyed by (sample name, labels)."""
    async with harness.http.get(harness.url + "/metrics") as resp:
        assert resp.status == 200
        text = await resp.text()
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def sample(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_a_failed_alert_post_counts_one_slack_error(harness: Harness) -> None:
    harness.slack.fail_next("chat.postMessage", error="channel_not_found")
    before = sample(await scrape(harness), "watchstander_slack_api_errors_total",
                    method="chat.postMessage", error="channel_not_found")
    status, _ = await harness.alertmanager(am_notification(am_alert()))
    assert status == 202
    await harness.drain()
    after = await scrape(harness)
    assert sample(after, "watchstander_slack_api_errors_total",
                  method="chat.postMessage", error="channel_not_found") == before + 1
    assert harness.slack.messages("alerts") == []  # the post really failed


async def test_every_route_is_timed_by_its_template(harness: Harness) -> None:
    async with harness.http.get(harness.url + "/healthz") as resp:
        assert resp.status == 200
    async with harness.http.post(harness.url + "/slack/events", data=b"token=x&command=/oncall") as resp:
        assert resp.status == 401  # unsigned
    async with harness.http.post(harness.url + "/twilio/sms", data={"Body": "ACK 1"}) as resp:
        assert 400 <= resp.status < 500  # unsigned, or SMS not configured
    async with harness.http.get(harness.url + "/oncall/platform.ics") as resp:
        pass
    for path in ("/wp-admin/a1", "/wp-admin/a2"):
        async with harness.http.get(harness.url + path) as resp:
            assert resp.status == 404
    samples = await scrape(harness)
    count = "watchstander_http_request_duration_seconds_count"
    assert sample(samples, count, route="/healthz", method="GET", status="2xx") == 1
    assert sample(samples, count, route="/slack/events", method="POST", status="4xx") == 1
    assert sample(samples, count, route="/twilio/sms", method="POST", status="4xx") == 1
    assert sample(samples, count, route="/oncall/{team}.ics", method="GET", status="4xx") == 1
    assert sample(samples, count, route="unmatched", method="GET", status="4xx") == 2  # never the raw path
    routes = {dict(labels)["route"] for name, labels in samples if name == count}
    assert not any(r.startswith("/wp-admin") for r in routes)
