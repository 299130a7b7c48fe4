"""Run `watchstander serve` as a real subprocess, for crash tests."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

from bot import crashpoints
from tests.support.factories import TOKENS, config_text
from tests.support.harness import SIGNING_SECRET


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class BotProcess:
    proc: asyncio.subprocess.Process
    url: str
    log: list[str]  # every line the bot wrote to stderr (its log), as it arrives
    drained: asyncio.Task[None]  # done once the bot has exited and its last line is in ``log``

    async def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def crashed(self, point: str) -> None:
        """Wait for the bot to die at its crash point (``WATCHSTANDER_CRASH_AT``): the process's exit
        is the event, so the kill moment is chosen by the code path, never by a sleep. The bound is
        only there to fail a test that never reaches the point, saying what the bot logged."""
        try:
            await asyncio.wait_for(self.proc.wait(), timeout=60)
        except TimeoutError:
            raise AssertionError(f"the bot never reached crash point {point}:\n" + "".join(self.log[-20:])) from None
        await self.drained
        assert self.proc.returncode == crashpoints.EXIT_CODE, (
            f"exit code {self.proc.returncode}, not the crash point's {crashpoints.EXIT_CODE}:\n"
            + "".join(self.log[-20:]))
        assert f"crash point {point}" in self.log[-1], self.log[-1]

    async def stop(self) -> None:
        if self.proc.returncode is None:
            self.proc.terminate()
            await self.proc.wait()
        await self.drained


def write_config(directory: Path, extra: str = "") -> Path:
    path = directory / "watchstander.yaml"
    path.write_text(config_text(extra))
    return path


async def start_bot(*, db_path: Path, config_path: Path, slack_api_url: str, extra_env: dict[str, str] | None = None,
                    port: int | None = None, crash_at: str | None = None) -> BotProcess:
    """Start the bot and return once it says it is listening (bounded by a 60 s timeout).

    ``crash_at`` (``<point>[@N]``, see ``bot.crashpoints``) makes it die there; without it the
    variable is unset, whatever the test's own environment holds.
    """
    port = port or free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k != crashpoints.ENV}, **TOKENS,
        "SLACK_BOT_TOKEN": "xoxb-sandbox-token", "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack_api_url, "DATABASE_URL": f"sqlite+aiosqlite:///{db_path}",
        "WATCHSTANDER_CONFIG": str(config_path), "PORT": str(port), "LOG_FORMAT": "json",
        **(extra_env or {}),
        **({crashpoints.ENV: crash_at} if crash_at else {}),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stderr is not None
    seen: list[str] = []

    async def listening() -> None:
        assert proc.stderr is not None
        while True:
            line = (await proc.stderr.readline()).decode()
            if not line:
                raise AssertionError("bot exited before listening:\n" + "".join(seen))
            seen.append(line)
            if "watchstander listening on" in line:
                return

    await asyncio.wait_for(listening(), timeout=60)
    # Keep draining stderr so the bot never blocks on a full pipe.
    drained = asyncio.get_running_loop().create_task(_drain(proc, seen))
    return BotProcess(proc=proc, url=f"http://127.0.0.1:{port}", log=seen, drained=drained)


async def _drain(proc: asyncio.subprocess.Process, sink: list[str]) -> None:
    assert proc.stderr is not None
    while line := await proc.stderr.readline():
        sink.append(line.decode(errors="replace"))
