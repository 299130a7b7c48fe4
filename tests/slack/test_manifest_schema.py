"""Slack accepts our app manifests: both files in manifests/ and what `watchstander manifest` prints
validate against Slack's published manifest schema (vendored in tests/slack/manifest_schema/)."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from bot.manifest import load_manifest

SCHEMA_DIR = Path(__file__).parent / "manifest_schema"
SCHEMA_URL = "https://raw.githubusercontent.com/slackapi/manifest-schema/v0.5.0/schemas/"


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _validator() -> jsonschema.Draft7Validator:
    """The top-level schema, with its versioned sub-schemas served from the vendored copies."""
    registry: Registry[Any] = Registry().with_resources(
        (SCHEMA_URL + path.name, Resource.from_contents(_load(path), default_specification=DRAFT7))
        for path in sorted((SCHEMA_DIR / "schemas").glob("*.json"))
    )
    return jsonschema.Draft7Validator(_load(SCHEMA_DIR / "manifest.schema.json"), registry=registry)


def _problems(manifest: dict[str, Any]) -> list[str]:
    """Every reason Slack's schema rejects ``manifest``, as "where: what" lines (empty: accepted)."""
    def leaves(error: jsonschema.ValidationError) -> list[jsonschema.ValidationError]:
        return [leaf for sub in error.context for leaf in leaves(sub)] if error.context else [error]

    found = {f"{'.'.join(map(str, leaf.absolute_path)) or '(top)'}: {leaf.message}"
             for error in _validator().iter_errors(manifest) for leaf in leaves(error)}
    # The top level is a oneOf over manifest versions; ours has no _metadata, so the other
    # branches' "_metadata is required" says nothing about what Slack would reject.
    return sorted(p for p in found if "_metadata" not in p)


@pytest.mark.parametrize("socket", [False, True], ids=["http", "socket"])
def test_shipped_manifests_pass_slacks_schema(socket: bool) -> None:
    assert _problems(load_manifest(socket=socket, public_url="https://bot.example.com")) == []


@pytest.mark.parametrize("flags", [[], ["--socket"]], ids=["http", "socket"])
def test_watchstander_manifest_output_passes_slacks_schema(flags: list[str]) -> None:
    env = {**os.environ, "PUBLIC_URL": "https://watch.example.org"}
    out = subprocess.run([sys.executable, "-m", "bot", "manifest", *flags], capture_output=True, text=True,
                         env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert _problems(yaml.safe_load(out.stdout)) == []


def test_the_schema_check_names_what_slack_rejects() -> None:
    manifest = copy.deepcopy(load_manifest())
    manifest["features"]["shortcuts"][0]["name"] = "Declare incident from message"  # 29 > 24 characters
    manifest["settings"]["interactivity"]["request_url"] = "bot.example.com/slack/events"  # no scheme
    problems = _problems(manifest)
    assert [p.split(": ", 1)[0] for p in problems] == ["features.shortcuts.0.name",
                                                        "settings.interactivity.request_url"]
    assert problems[0].endswith("'Declare incident from message' is too long")
    assert "does not match" in problems[1]
