"""Running ``watchstander import``: read the vendor, find people in Slack, map, then plan, write or
compare. Every failure is an :class:`ImportFailed` message and exit code 1, before anything is
written; keys and tokens are never printed."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

from bot.config import (
    Config,
    ConfigError,
    SettingsError,
    env_references,
    load_config,
    parse_config,
    settings_from_env,
)
from bot.importers import grafana_oncall, opsgenie, pagerduty
from bot.importers.compare import Row, compare_rows, compare_text
from bot.importers.fetch import DirFetcher, Fetcher, HttpFetcher
from bot.importers.jsonread import ImportFailed
from bot.importers.mapping import Mapped, map_export
from bot.importers.model import Export
from bot.importers.plan import config_yaml, plan_text
from bot.importers.slack_lookup import find_slack_ids
from bot.importers.store import store_overrides

_TIMEOUT = aiohttp.ClientTimeout(total=60)


@dataclass(frozen=True)
class Vendor:
    name: str
    base_url: str
    read: Callable[[Fetcher, datetime], Awaitable[Export]]
    headers: Callable[[argparse.Namespace], dict[str, str]]


def _pagerduty_headers(args: argparse.Namespace) -> dict[str, str]:
    if not args.api_token:
        raise ImportFailed("pagerduty: give --api-token TOKEN (a REST API key), or --from-dir DIR")
    return pagerduty.auth_headers(args.api_token)


def _opsgenie_headers(args: argparse.Namespace) -> dict[str, str]:
    if not args.api_key:
        raise ImportFailed("opsgenie: give --api-key KEY (an API key with read access), or --from-dir DIR")
    return opsgenie.auth_headers(args.api_key)


def _grafana_headers(args: argparse.Namespace) -> dict[str, str]:
    if not args.token or not (args.url or args.api_url):
        raise ImportFailed("grafana-oncall: give --url URL (the OnCall API's base URL) and --token TOKEN, or "
                           "--from-dir DIR")
    return grafana_oncall.auth_headers(args.token)


VENDORS: dict[str, Vendor] = {
    "pagerduty": Vendor(pagerduty.VENDOR, pagerduty.BASE_URL, pagerduty.read, _pagerduty_headers),
    "opsgenie": Vendor(opsgenie.VENDOR, opsgenie.BASE_URL, opsgenie.read, _opsgenie_headers),
    "grafana-oncall": Vendor(grafana_oncall.VENDOR, "", grafana_oncall.read, _grafana_headers),
}


def run_import(args: argparse.Namespace) -> int:
    try:
        vendor = VENDORS[args.vendor]
        try:
            settings = settings_from_env()
        except SettingsError as exc:
            raise ImportFailed(f"environment: {exc}") from None
        now = _now(args)
        export = asyncio.run(_read(vendor, args, settings.slack_bot_token, settings.slack_api_url, now))
        mapped = map_export(export, now=now, public_url=settings.public_url or "https://watchstander.example.com")
        if args.plan:
            print(plan_text(mapped), end="")
            return 0
        if args.write:
            return _write(mapped, Path(args.write), settings.database_url, now)
        return _compare(mapped, args, settings.config_path, settings.database_url, now)
    except ImportFailed as exc:
        print(f"import failed: {exc}", file=sys.stderr)
        return 1
    except (KeyError, IndexError, TypeError, ValueError) as exc:  # data the readers' checks did not foresee
        print(f"import failed: the {args.vendor} data has something this import does not understand "
              f"({exc.__class__.__name__}: {exc}); nothing was written", file=sys.stderr)
        return 1


async def _read(vendor: Vendor, args: argparse.Namespace, slack_token: str | None, slack_url: str,
                now: datetime) -> Export:
    async with aiohttp.ClientSession(timeout=_TIMEOUT) as session:
        fetcher: Fetcher
        if args.from_dir:
            fetcher = DirFetcher(Path(args.from_dir), vendor.name)
        else:
            headers = vendor.headers(args)
            fetcher = HttpFetcher(session, args.api_url or args.url or vendor.base_url, headers, vendor.name)
        export = await vendor.read(fetcher, now)
        await find_slack_ids(session, export, token=slack_token, api_url=slack_url)
    return export


def _now(args: argparse.Namespace) -> datetime:
    if not args.now:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(args.now)
    except ValueError:
        raise ImportFailed(f"--now {args.now!r} is not an ISO time") from None
    if moment.tzinfo is None:
        raise ImportFailed("--now needs a UTC offset, e.g. 2026-12-01T09:00:00+00:00")
    return moment.astimezone(UTC)


def checked(mapped: Mapped, text: str, folder: Path) -> Config:
    """The written config as check-config will read it; the tokens it references given stand-ins."""
    env = {**os.environ, **{name: f"set-{name.lower()}-here" for name in mapped.env if name not in os.environ}}
    try:
        return parse_config(text, path=str(folder / "watchstander.yaml"), env=env)
    except ConfigError as exc:
        raise ImportFailed("the mapped config does not pass the checks (a bug in the import; nothing was "
                           f"written):\n{exc.report()}") from None


def _write(mapped: Mapped, path: Path, database_url: str, now: datetime) -> int:
    if mapped.export.people and not any(p.slack_id for p in mapped.export.people):
        raise ImportFailed("nobody could be matched to a Slack user, so the config would page no one; set "
                           "SLACK_BOT_TOKEN (with the users:read.email scope) and run again; nothing was written")
    text = config_yaml(mapped)
    folder = path.resolve().parent
    checked(mapped, text, folder)
    if not folder.is_dir():
        raise ImportFailed(f"--write {path}: the folder {folder} does not exist")
    kept = []
    for file in [*(folder / name for name in mapped.calendars), path]:
        if file.exists():  # a hand-edited config must not be lost to a second import
            kept.append(file.with_name(file.name + ".bak"))
            _replace(kept[-1], file.read_bytes())
    for name, data in mapped.calendars.items():
        _replace(folder / name, data)
    _replace(path, text.encode())
    if kept:
        print("kept the previous " + ", ".join(str(k) for k in kept))
    added = asyncio.run(store_overrides(database_url, mapped.overrides, now))
    print(f"wrote {path}" + (f" and {', '.join(sorted(mapped.calendars))}" if mapped.calendars else ""))
    print(f"loaded {added} override(s) into the database ({len(mapped.overrides) - added} were already there)")
    print(f"{len(mapped.unmapped)} item(s) not carried over as they were: see `--plan`")
    if mapped.env:
        print("set these environment variables before starting the bot:")
        for name, what in mapped.env.items():
            print(f"  {name}  — {what}")
    print(f"then: watchstander check-config {path}")
    return 0


def _replace(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_bytes(data)
        tmp.replace(path)
    except OSError as exc:
        raise ImportFailed(f"cannot write {path}: {exc.strerror}") from None


def _compare(mapped: Mapped, args: argparse.Namespace, config_path: str, database_url: str,
                   now: datetime) -> int:
    path = Path(args.config or config_path)
    if args.config or path.exists():
        config = _config_for_compare(path)
        rows = asyncio.run(compare_rows(mapped, config, base_dir=path.resolve().parent, database_url=database_url,
                                        now=now))
    else:  # nothing written yet: compare with what --write would write
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            config = checked(mapped, config_yaml(mapped), folder)
            for name, data in mapped.calendars.items():
                (folder / name).write_bytes(data)
            url = f"sqlite+aiosqlite:///{folder / 'compare.db'}"
            rows = asyncio.run(_compare_fresh(mapped, config, folder, url, now))
    print(compare_text(mapped, config, rows), end="")
    return 0 if all(r.same for r in rows) else 3


def _config_for_compare(path: Path) -> Config:
    """The config as the bot reads it; references to unset variables (webhook tokens, which the
    comparison never uses) get stand-ins, so a parallel run can start before they are set."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ImportFailed(f"--compare: cannot read {path}: {exc.strerror}") from None
    env = {**os.environ, **{n: f"compare-only-{n.lower()}" for n in env_references(text) if n not in os.environ}}
    try:
        return load_config(path, env=env)
    except ConfigError as exc:
        raise ImportFailed(exc.report()) from None


async def _compare_fresh(mapped: Mapped, config: Config, folder: Path, url: str, now: datetime) -> list[Row]:
    await store_overrides(url, mapped.overrides, now)
    return await compare_rows(mapped, config, base_dir=folder, database_url=url, now=now)
