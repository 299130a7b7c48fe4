"""The Slack app manifests in ``manifests/``, with the bot's public URL filled in."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import yaml

MANIFESTS = ("manifests/slack-app.yaml", "manifests/slack-app.socket.yaml")


def manifest_dir() -> Path:
    """``$WATCHSTANDER_MANIFESTS``, else ``./manifests``, else the copy beside the installed package."""
    env = os.environ.get("WATCHSTANDER_MANIFESTS")
    candidates = [Path(env)] if env else []
    candidates += [Path.cwd() / "manifests", Path(__file__).resolve().parent.parent / "manifests",
                   Path(sys.prefix) / "share" / "watchstander" / "manifests"]
    for path in candidates:
        if (path / "slack-app.yaml").is_file():
            return path
    raise FileNotFoundError("cannot find manifests/slack-app.yaml; set WATCHSTANDER_MANIFESTS")


def render_manifest(public_url: str, *, socket: bool = False) -> str:
    name = "slack-app.socket.yaml" if socket else "slack-app.yaml"
    return (manifest_dir() / name).read_text(encoding="utf-8").replace("${PUBLIC_URL}", public_url.rstrip("/"))


def load_manifest(*, socket: bool = False, public_url: str = "https://example.invalid") -> dict[str, object]:
    data: dict[str, object] = yaml.safe_load(render_manifest(public_url, socket=socket))
    return data
