"""Ingest side by side with the real Prometheus Alertmanager, driven by the same load generator.

    python bench/compare_alertmanager.py [--seconds 10] [--rounds 2] [--connections 32]

Starts `prometheus-alertmanager` (in memory, a null receiver) and `watchstander serve` (SQLite,
durable: WAL with synchronous=FULL, the Slack stand-in attached), then drives both with `wrk`
(Debian package) at batch 1 and batch 10, alternating rounds so both see the same machine:

- Alertmanager receives ``POST /api/v2/alerts``, a JSON array of new distinct alerts;
- Watchstander receives the Alertmanager webhook body carrying the same alerts on
  ``/alerts/alertmanager``, each request its own ``groupKey`` (so its own alert group).

Prints alerts/s and p99 of each, and the ratio Watchstander / Alertmanager per batch size (the
median round). The figures are the README's; they are measured here, never asserted in a test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest import free_port, start_bot  # noqa: E402

from bot.sandbox.slack import SlackStandIn  # noqa: E402

TOKEN = "bench-alertmanager-token"

# One request per call of request(): `batch` alerts that no earlier request carried (thread id and
# a per-thread counter in the labels), in Alertmanager's API shape or its webhook shape.
LUA = textwrap.dedent("""\
    local counter, thread_id = 0, 0
    local threads = {}
    function setup(thread)
      thread:set("tid", #threads)
      table.insert(threads, thread)
    end
    function init(args)
      thread_id = tonumber(tid)
      mode, batch = args[1], tonumber(args[2])
    end
    local function alert(name, i, full)
      local labels = string.format(
        '{"alertname":"%s","severity":"warning","service":"api","instance":"api-%d"}', name, i)
      local common = string.format(
        '"labels":%s,"annotations":{"summary":"latency high on api-%d"},' ..
        '"startsAt":"2026-11-24T12:00:00Z","generatorURL":"http://prometheus.example.com/graph"',
        labels, i)
      if full then
        return string.format('{"status":"firing","fingerprint":"%s-%d","endsAt":"0001-01-01T00:00:00Z",%s}',
                             name, i, common)
      end
      return "{" .. common .. "}"
    end
    function request()
      counter = counter + 1
      local name = string.format("Load%d_%d", thread_id, counter)
      local parts = {}
      for i = 1, batch do parts[i] = alert(name, i, mode == "watchstander") end
      local alerts = "[" .. table.concat(parts, ",") .. "]"
      local body = alerts
      if mode == "watchstander" then
        body = string.format(
          '{"version":"4","groupKey":"{}:{alertname=\\\\"%s\\\\"}","status":"firing","receiver":"ws",' ..
          '"groupLabels":{"alertname":"%s"},"commonLabels":{},"commonAnnotations":{},' ..
          '"externalURL":"http://am","truncatedAlerts":0,"alerts":%s}', name, name, alerts)
      end
      return wrk.format("POST", nil, nil, body)
    end
    """)

AM_CONFIG = "route: {receiver: 'null'}\nreceivers: [{name: 'null'}]\n"


@dataclass
class Round:
    alerts_per_s: float
    p99_ms: float
    requests: int
    errors: int


def _ms(text: str) -> float:
    value, unit = float(text[:-2] if text.endswith(("ms", "us")) else text[:-1]), text.lstrip("0123456789.")
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def run_wrk(url: str, script: Path, *, mode: str, batch: int, seconds: int, connections: int,
            headers: dict[str, str]) -> Round:
    args = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script)]
    for key, value in headers.items():
        args += ["-H", f"{key}: {value}"]
    out = subprocess.run([*args, url, "--", mode, str(batch)], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(bad.group(1)) if bad else 0) + (sum(map(int, socket_errors.groups())) if socket_errors else 0)
    return Round(rps * batch, p99, requests, errors)


def start_alertmanager(tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if binary is None:
        raise SystemExit("needs Prometheus Alertmanager: apt-get install prometheus-alertmanager")
    (tmp / "am.yml").write_text(AM_CONFIG)
    port = free_port()
    proc = subprocess.Popen([binary, f"--config.file={tmp / 'am.yml'}", f"--storage.path={tmp / 'am'}",
                             f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=",
                             "--log.level=warn"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url + "/-/ready", timeout=1):
                return proc, url
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit("Alertmanager did not start") from None
            time.sleep(0.1)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10, help="length of each wrk round")
    parser.add_argument("--rounds", type=int, default=2, help="rounds per peer and batch size")
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("needs wrk: apt-get install wrk")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        script = tmp / "alerts.lua"
        script.write_text(LUA)
        am, am_url = start_alertmanager(tmp)
        async with SlackStandIn(channels=["load-alerts", "paced-alerts"]) as slack:
            bot, bot_url = await start_bot(tmp, slack.api_url)
            try:
                results: dict[tuple[str, int], list[Round]] = {}
                for batch in (1, 10):
                    for n in range(args.rounds):
                        for peer in ("alertmanager", "watchstander"):
                            url, headers = ((am_url + "/api/v2/alerts", {"Content-Type": "application/json"})
                                            if peer == "alertmanager" else
                                            (bot_url + "/alerts/alertmanager",
                                             {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"}))
                            result = await asyncio.to_thread(
                                run_wrk, url, script, mode=peer, batch=batch, seconds=args.seconds,
                                connections=args.connections, headers=headers)
                            results.setdefault((peer, batch), []).append(result)
                            print(f"batch {batch:>2} round {n + 1} {peer:<13} {result.alerts_per_s:>9,.0f} alerts/s  "
                                  f"p99 {result.p99_ms:6.1f} ms  errors {result.errors}", flush=True)
                print()
                print("| load | Alertmanager (in memory) | Watchstander (SQLite, durable) | ratio |")
                print("|---|---|---|---|")
                for batch in (1, 10):
                    am_r = _median(results[("alertmanager", batch)])
                    ws_r = _median(results[("watchstander", batch)])
                    print(f"| {batch} alert{'s' if batch > 1 else ''} per request | {am_r.alerts_per_s:,.0f} alerts/s, "
                          f"p99 {am_r.p99_ms:.0f} ms | {ws_r.alerts_per_s:,.0f} alerts/s, p99 {ws_r.p99_ms:.0f} ms, "
                          f"{ws_r.errors} errors | {ws_r.alerts_per_s / am_r.alerts_per_s:.3f}× |")
            finally:
                bot.send_signal(signal.SIGTERM)
                await bot.wait()
                am.terminate()
                am.wait()


def _median(rounds: list[Round]) -> Round:
    rounds = sorted(rounds, key=lambda r: r.alerts_per_s)
    mid = rounds[len(rounds) // 2]
    return Round(statistics.median(r.alerts_per_s for r in rounds), mid.p99_ms, mid.requests,
                 sum(r.errors for r in rounds))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    asyncio.run(main())
