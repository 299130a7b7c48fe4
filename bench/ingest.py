"""Ingest benchmark: alerts/s accepted on /alerts/alertmanager, and webhook → chat.postMessage delay.

Runs `watchstander serve` as a subprocess on a fresh SQLite file (WAL, synchronous=FULL) against the
Slack stand-in served from this process, so the bot and the load generator do not share a core.

    python bench/ingest.py [--alerts 20000] [--concurrency 16] [--rate 100] [--seconds 30]
                           [--database-url postgresql+asyncpg://…/empty_db] [--replicas 2]

``--database-url`` runs the bot on that (empty) database instead; ``--replicas N`` starts N
`watchstander serve` processes on it and the load generator sends each request to the next one in
turn, as a round-robin balancer would.

Phase 1 posts Alertmanager notifications of 10 alerts each as fast as the bot accepts them.
Phase 2 sends 100 alerts/s (10 notifications of 10 alerts per second, each its own group) and
measures, per notification, the time from sending the webhook to the stand-in receiving the
resulting chat.postMessage.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.sandbox.slack import RecordedCall, SlackStandIn  # noqa: E402

TOKEN = "bench-alertmanager-token"
PACED_TOKEN = "bench-paced-token-01"
CONFIG = f"""
timezone: UTC
teams:
  - {{name: load, channel: load-alerts}}
  - {{name: paced, channel: paced-alerts}}
integrations:
  - {{name: load, type: alertmanager, token: {TOKEN}, team: load}}
  - {{name: paced, type: alertmanager, token: {PACED_TOKEN}, team: paced}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def notification(name: str, n: int = 10) -> dict[str, object]:
    alerts = [{
        "status": "firing", "fingerprint": f"{name}-{i}",
        "labels": {"alertname": name, "severity": "warning", "service": "api", "instance": f"api-{i}"},
        "annotations": {"summary": f"latency high on api-{i}"},
        "startsAt": "2026-11-24T12:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.example.com/graph",
    } for i in range(n)]
    return {"version": "4", "groupKey": f'{{}}:{{alertname="{name}"}}', "status": "firing", "receiver": "ws",
            "groupLabels": {"alertname": name}, "commonLabels": {}, "commonAnnotations": {},
            "externalURL": "http://am", "truncatedAlerts": 0, "alerts": alerts}


async def start_bot(tmp: Path, slack_url: str, database_url: str | None = None) -> tuple[asyncio.subprocess.Process, str]:
    (tmp / "watchstander.yaml").write_text(CONFIG)
    port = free_port()
    env = {**os.environ, "SLACK_BOT_TOKEN": "xoxb-sandbox-token", "SLACK_SIGNING_SECRET": "bench",
           "SLACK_API_URL": slack_url, "DATABASE_URL": database_url or f"sqlite+aiosqlite:///{tmp / 'bench.db'}",
           "WATCHSTANDER_CONFIG": str(tmp / "watchstander.yaml"), "PORT": str(port), "LOG_LEVEL": "WARNING"}
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1",
                                                env=env, stderr=asyncio.subprocess.PIPE, cwd=ROOT)
    assert proc.stderr is not None
    while b"listening on" not in (line := await proc.stderr.readline()):
        if not line:
            raise SystemExit("bot did not start")
    return proc, f"http://127.0.0.1:{port}"


async def throughput(http: aiohttp.ClientSession, urls: list[str], total: int, concurrency: int) -> float:
    batches = total // 10
    queue: asyncio.Queue[int] = asyncio.Queue()
    for b in range(batches):
        queue.put_nowait(b)
    statuses: dict[int, int] = {}

    async def worker() -> None:
        while not queue.empty():
            b = queue.get_nowait()
            async with http.post(f"{urls[b % len(urls)]}/alerts/alertmanager", json=notification(f"Load{b}"),
                                 headers={"Authorization": f"Bearer {TOKEN}"}) as resp:
                await resp.read()
                statuses[resp.status] = statuses.get(resp.status, 0) + 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    print(f"  statuses: {statuses}")
    return batches * 10 / elapsed


def rss_mb(pid: int) -> float:
    """The process's resident memory now (Linux ``/proc``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def latency(http: aiohttp.ClientSession, urls: list[str], slack: SlackStandIn, rate: int,
                  seconds: int) -> list[float]:
    sent: dict[str, float] = {}
    arrived: dict[str, float] = {}

    def on_call(call: RecordedCall) -> None:
        if call.method == "chat.postMessage":
            name = str(call.args.get("text", "")).split(" ")[2] if call.args.get("text") else ""
            arrived.setdefault(name, time.perf_counter())

    slack.on_call = on_call
    per_second = rate // 10
    tasks = []

    async def send(name: str, url: str) -> None:
        sent[name] = time.perf_counter()
        async with http.post(f"{url}/alerts/alertmanager", json=notification(name),
                             headers={"Authorization": f"Bearer {PACED_TOKEN}"}) as resp:
            assert resp.status == 202, await resp.text()

    start = time.perf_counter()
    for tick in range(seconds * per_second):
        target = start + tick / per_second
        await asyncio.sleep(max(0.0, target - time.perf_counter()))  # pacing the load, not waiting on results
        tasks.append(asyncio.create_task(send(f"Paced{tick}", urls[tick % len(urls)])))
    await asyncio.gather(*tasks)
    await slack.wait_for(lambda: all(n in arrived for n in sent), timeout=60)
    return sorted((arrived[n] - sent[n]) * 1000 for n in sent)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--alerts", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rate", type=int, default=100, help="alerts per second in the latency phase")
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--database-url", help="an empty database to run on (default: a fresh SQLite file)")
    parser.add_argument("--replicas", type=int, default=1, help="bots on the one database, sent to in turn")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        async with SlackStandIn(channels=["load-alerts", "paced-alerts"]) as slack, aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=64)) as http:
            bots = [await start_bot(Path(tmp), slack.api_url, args.database_url) for _ in range(args.replicas)]
            urls = [url for _, url in bots]
            print(f"{args.replicas} replica(s) on {args.database_url or 'SQLite'}")
            try:
                print(f"phase 1: {args.alerts} alerts in notifications of 10, {args.concurrency} concurrent senders")
                rate = await throughput(http, urls, args.alerts, args.concurrency)
                print(f"  accepted: {rate:,.0f} alerts/s; bot RSS " + ", ".join(f"{rss_mb(p.pid):.0f} MB" for p, _ in bots))
                # Phase 1's channel is now an alert storm (one message edited in place); let the
                # bot finish with it before timing phase 2 in a channel of its own.
                seen = -1
                while seen != len(slack.calls):
                    seen = len(slack.calls)
                    await asyncio.sleep(1.0)
                storms = [c for c in slack.calls_to("chat.postMessage") if "storm" in str(c.args.get("text"))]
                print(f"  Slack: {len(slack.calls_to('chat.postMessage'))} posts ({len(storms)} storm message), "
                      f"{len(slack.calls_to('chat.update'))} edits")
                print(f"phase 2: {args.rate} alerts/s for {args.seconds}s (each notification its own message)")
                delays = await latency(http, urls, slack, args.rate, args.seconds)
                p50 = statistics.median(delays)
                p99 = delays[min(len(delays) - 1, int(len(delays) * 0.99))]
                print(f"  webhook → chat.postMessage: p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {delays[-1]:.1f} ms "
                      f"over {len(delays)} notifications")
            finally:
                for proc, _ in bots:
                    proc.send_signal(signal.SIGTERM)
                    await proc.wait()


if __name__ == "__main__":
    asyncio.run(main())
