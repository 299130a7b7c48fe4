"""Uptime-check benchmark: 500 HTTP checks every 30 s against local endpoints — the bot's CPU and
memory, and how late the probes start.

The endpoints (``--servers`` aiohttp servers on 127.0.0.1, each check its own path) run in a child
process, so the CPU measured is the bot's own. The bot runs in this process on the real clock, built
as `serve` builds it (``create_bot``, background loops on, SQLite in WAL mode with synchronous=FULL,
the Slack stand-in beside the endpoints). After a warm-up of one interval (the first probe of every
check, spread over it), it measures for ``--window`` seconds:

- CPU: ``resource.getrusage`` seconds (every thread of this process) per wall second;
- memory: RSS at the start and end of the window;
- lateness: how long after its due time each probe started, from the bot's own
  ``watchstander_check_probe_lateness_seconds`` histogram (a bucket estimate), and, as the
  endpoints saw it, how far each check's interval between two requests strayed from ``--every``.

    python bench/checks.py [--checks 500] [--every 30] [--window 120] [--servers 4]

Targets: < 5 % of one core, probes < 1 s late, RSS growth < 20 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import resource
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiohttp import web  # noqa: E402

from bot.app import create_bot  # noqa: E402
from bot.config import Settings, parse_config  # noqa: E402
from bot.db import _upgrade_sync  # noqa: E402

# --- the endpoints, in their own process -------------------------------------------------------

def serve_endpoints(conn: Connection, servers: int) -> None:
    asyncio.run(_endpoints(conn, servers))


async def _endpoints(conn: Connection, servers: int) -> None:
    from bot.sandbox.slack import SlackStandIn

    arrivals: dict[str, list[float]] = {}

    async def health(request: web.Request) -> web.Response:
        arrivals.setdefault(request.match_info["name"], []).append(time.time())
        return web.json_response({"status": "ok"})

    runners = []
    ports = []
    for _ in range(servers):
        app = web.Application()
        app.router.add_get("/c/{name}", health)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        runners.append(runner)
        ports.append(runner.addresses[0][1])
    async with SlackStandIn(channels=["platform-alerts", "alerts"], users=[], trigger_ttl=None) as slack:
        conn.send({"ports": ports, "slack": slack.api_url})
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # until the bench is done
    for runner in runners:
        await runner.cleanup()
    conn.send(arrivals)


# --- measuring ---------------------------------------------------------------------------------

def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))] if ordered else float("nan")


def config_text(checks: int, every: int, ports: list[int]) -> str:
    lines = ["timezone: UTC", "teams:", "  - {name: platform, channel: platform-alerts}", "checks:"]
    lines += [f"  - {{name: c{i}, url: 'http://127.0.0.1:{ports[i % len(ports)]}/c/c{i}', every: {every}s, "
              f"timeout: 5s, down_after: 2m, team: platform, expect: {{body_contains: ok}}}}" for i in range(checks)]
    return "\n".join(lines) + "\n"


def lateness_buckets(bot_metrics: object) -> tuple[int, dict[float, int]]:
    """(probes, cumulative count per upper bound) from the bot's lateness histogram."""
    total, buckets = 0, {}
    for metric in bot_metrics.check_lateness.collect():  # type: ignore[attr-defined]
        for sample in metric.samples:
            if sample.name.endswith("_bucket"):
                buckets[float(sample.labels["le"])] = int(sample.value)
            elif sample.name.endswith("_count"):
                total = int(sample.value)
    return total, buckets


async def run_bot(settings: Settings, text: str, *, every: float, window: float) -> dict[str, float]:
    bot = create_bot(settings, parse_config(text, env={}))
    runner = web.AppRunner(bot.web, access_log=None)
    await runner.setup()  # starts the check runner with the other loops, as `serve` does
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        await asyncio.sleep(every + 2)  # warm-up: every check's first probe, spread over one interval
        probes_before, _ = lateness_buckets(bot.services.metrics)
        cpu, wall, rss_start = cpu_seconds(), time.perf_counter(), rss_mb()
        await asyncio.sleep(window)
        elapsed = time.perf_counter() - wall
        cpu_share = (cpu_seconds() - cpu) / elapsed
        rss_end = rss_mb()
        probes, buckets = lateness_buckets(bot.services.metrics)
    finally:
        await runner.cleanup()
    under = {bound: count for bound, count in sorted(buckets.items())}
    p99_bound = next((b for b, c in under.items() if c >= 0.99 * probes), float("inf"))
    max_bound = next((b for b, c in under.items() if c >= probes), float("inf"))
    return {"cpu": cpu_share, "rss_start": rss_start, "rss_end": rss_end, "probes": probes - probes_before,
            "all_probes": probes, "p99_late_bound": p99_bound, "max_late_bound": max_bound,
            "under_1s": under.get(1.0, 0) / probes if probes else float("nan"), "elapsed": elapsed}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checks", type=int, default=500)
    ap.add_argument("--every", type=int, default=30)
    ap.add_argument("--window", type=float, default=120.0)
    ap.add_argument("--servers", type=int, default=4)
    args = ap.parse_args(argv)

    parent, child = mp.Pipe()
    endpoints = mp.get_context("spawn").Process(target=serve_endpoints, args=(child, args.servers), daemon=True)
    endpoints.start()
    info = parent.recv()
    with tempfile.TemporaryDirectory(prefix="watchstander-bench-checks-") as tmp:
        db_url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        _upgrade_sync(db_url)
        settings = Settings(slack_bot_token="xoxb-sandbox-token", slack_signing_secret="bench-secret",
                            slack_api_url=info["slack"], database_url=db_url, port=0, log_level="WARNING")
        result = asyncio.run(run_bot(settings, config_text(args.checks, args.every, info["ports"]),
                                     every=args.every, window=args.window))
    parent.send("done")
    arrivals: dict[str, list[float]] = parent.recv()
    endpoints.join(timeout=10)

    drift = [abs((b - a) - args.every) for times in arrivals.values() for a, b in zip(times, times[1:], strict=False)]
    expected = args.checks * result["elapsed"] / args.every
    print(f"{args.checks} checks every {args.every} s, measured over {result['elapsed']:.0f} s "
          f"(after a {args.every} s warm-up)")
    print(f"  probes in the window:   {result['probes']:.0f} (expected ≈ {expected:.0f})")
    print(f"  bot CPU:                {100 * result['cpu']:.2f} % of one core   (target < 5 %)")
    print(f"  bot RSS:                {result['rss_start']:.1f} MB → {result['rss_end']:.1f} MB "
          f"(growth {result['rss_end'] - result['rss_start']:+.1f} MB; target < 20 MB)")
    print(f"  probe lateness:         {100 * result['under_1s']:.2f} % under 1 s; p99 ≤ {result['p99_late_bound']:g} s, "
          f"max ≤ {result['max_late_bound']:g} s (bucket bounds; target < 1 s)")
    print(f"  interval drift seen by the endpoints: p99 {percentile(drift, 99):.3f} s, max {max(drift, default=0):.3f} s "
          f"over {len(drift)} intervals")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
