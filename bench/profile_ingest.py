"""Where `watchstander serve` spends its time under the ingest load of compare_alertmanager.py.

    python bench/profile_ingest.py [--batch 1] [--seconds 15] [--top 40]

Starts the bot as compare_alertmanager.py does (SQLite, durable; the Slack stand-in attached), drives
it with `wrk` and the same Lua script, and samples it with py-spy (`pip install py-spy`) meanwhile,
all threads (aiosqlite runs its statements in one). Prints the functions by share of samples in
which they appear (inclusive) and as the leaf (their own time): the flame summary of the README.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from compare_alertmanager import LUA, TOKEN, run_wrk  # noqa: E402
from ingest import start_bot  # noqa: E402

from bot.sandbox.slack import SlackStandIn  # noqa: E402


def summarise(raw: Path, top: int) -> None:
    """py-spy's ``--format raw`` is collapsed stacks: ``frame;frame;… count`` per line."""
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        frames = [f.split(" (")[0] + " (" + f.split(" (")[1].split(":")[0].rsplit("/", 1)[-1] + ")"
                  if " (" in f else f for f in stack.split(";")]
        total += n
        for frame in set(frames):
            inclusive[frame] += n
        own[frames[-1]] += n
    print(f"{total} samples\n\ninclusive:")
    for frame, n in inclusive.most_common(top):
        print(f"  {100 * n / total:5.1f}%  {frame}")
    print("\nown time (leaf):")
    for frame, n in own.most_common(top):
        print(f"  {100 * n / total:5.1f}%  {frame}")


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--seconds", type=int, default=15)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--top", type=int, default=40)
    ap.add_argument("--gil", action="store_true", help="only samples holding the GIL: where the CPU goes")
    args = ap.parse_args()
    if shutil.which("py-spy") is None and not (Path(sys.executable).parent / "py-spy").exists():
        raise SystemExit("needs py-spy: pip install py-spy")
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        script = tmp / "alerts.lua"
        script.write_text(LUA)
        async with SlackStandIn(channels=["load-alerts", "paced-alerts"]) as slack:
            bot, url = await start_bot(tmp, slack.api_url)
            raw = tmp / "profile.txt"
            try:
                sampler = await asyncio.create_subprocess_exec(
                    spy, "record", "--pid", str(bot.pid), "--threads", "--format", "raw", "--output", str(raw),
                    "--duration", str(args.seconds), "--nonblocking", *(["--gil"] if args.gil else []),
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                result = await asyncio.to_thread(
                    run_wrk, url + "/alerts/alertmanager", script, mode="watchstander", batch=args.batch,
                    seconds=args.seconds, connections=args.connections,
                    headers={"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"})
                await sampler.wait()
            finally:
                bot.send_signal(signal.SIGTERM)
                await bot.wait()
        print(f"batch {args.batch}: {result.alerts_per_s:,.0f} alerts/s, p99 {result.p99_ms:.1f} ms, "
              f"errors {result.errors}\n")
        summarise(raw, args.top)


if __name__ == "__main__":
    asyncio.run(main())
