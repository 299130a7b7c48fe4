"""Headless Chromium (the Debian package) as the tests run it: a subprocess per page, run to the end."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium (Debian package chromium) on PATH")
BROWSER_TIMEOUT = 120


async def chromium(profile: Path, *args: str, size: tuple[int, int]) -> bytes:
    """Run headless Chromium at ``size`` (width, height) to the end, asynchronously: the bot answering
    it may run on this very loop. Returns what it printed (``--dump-dom``)."""
    assert CHROMIUM is not None
    proc = await asyncio.create_subprocess_exec(
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
        "--hide-scrollbars", f"--user-data-dir={profile}", f"--window-size={size[0]},{size[1]}", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), BROWSER_TIMEOUT)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode == 0, err.decode(errors="replace")[-2000:]
    return out
