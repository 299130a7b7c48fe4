"""The ``watchstander`` command line."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from bot.clock import clock_from_env
from bot.config import (
    Config,
    ConfigError,
    Settings,
    SettingsError,
    env_references,
    load_config,
    settings_from_env,
)
from bot.importers.args import add_import_parser
from bot.logs import protect, setup_logging


def _settings() -> Settings:
    try:
        return settings_from_env()
    except SettingsError as exc:
        sys.exit(f"environment: {exc}")


def _config(settings: Settings, path: str | None = None) -> Config:
    try:
        return _protected(load_config(path or settings.config_path), path or settings.config_path)
    except ConfigError as exc:
        print(exc.report(), file=sys.stderr)
        sys.exit(1)


def _protected(config: Config, path: str) -> Config:
    """From here on the log hides the config's tokens, secrets, ``${NAME}`` values and phone numbers."""
    try:
        referenced = env_references(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):  # load_config has just read it; a race is not worth a crash
        referenced = set()
    protect(config=config, referenced=referenced, env=os.environ)
    return config


def _setup_logging() -> None:
    """Every command logs through the scrubbing handler, from its first line on."""
    try:
        settings = settings_from_env()
    except SettingsError:  # the command reports the bad variable; log with the defaults meanwhile
        setup_logging()
        return
    setup_logging(settings.log_level, settings.log_format, library_level=settings.log_library_level)
    protect(settings=settings)


def cmd_check_config(args: argparse.Namespace) -> int:
    path = args.path or os.environ.get("WATCHSTANDER_CONFIG", "./watchstander.yaml")
    try:
        config = _protected(load_config(path), path)
    except ConfigError as exc:
        print(exc.report())
        return 1
    from bot.oncall.cli import config_problems

    problems, warnings = config_problems(config, Path(path), now=datetime.now(UTC))
    for warning in warnings:
        print(f"warning: {warning}")
    if problems:
        print(f"{path}: {len(problems)} problem(s)\n  " + "\n  ".join(problems))
        return 1
    print(f"{path}: OK — {len(config.teams)} team(s), {len(config.people)} people, "
          f"{len(config.integrations)} integration(s), {len(config.routes)} route(s)")
    return 0


async def _serve(settings: Settings, config: Config, host: str) -> None:
    from aiohttp import web

    from bot.app import create_bot, prepare_database
    from bot.web.server import make_runner

    await prepare_database(settings)
    bot = create_bot(settings, config, clock=clock_from_env(os.environ))  # a FileClock only in crash tests
    runner = make_runner(bot.web)  # limits on slow and over-long requests
    await runner.setup()
    await web.TCPSite(runner, host=host, port=settings.port).start()
    print(f"watchstander listening on http://{host}:{settings.port}", file=sys.stderr, flush=True)
    socket_handler = None
    if settings.socket_mode:
        from bot.slack.app import connect_socket_mode

        socket_handler = await connect_socket_mode(bot.bolt, settings.slack_app_token)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    if socket_handler is not None:
        await socket_handler.close_async()  # type: ignore[no-untyped-call]
    await runner.cleanup()


def cmd_serve(args: argparse.Namespace) -> int:
    settings = _settings()
    if args.port is not None:
        settings = settings.model_copy(update={"port": args.port})
    missing = settings.require_serve()
    if missing:
        print("cannot start:\n  " + "\n  ".join(missing), file=sys.stderr)
        return 2
    from bot import crashpoints

    if crashpoints.problem:  # a test asked for a crash point that does not exist
        print(f"cannot start: {crashpoints.problem}", file=sys.stderr)
        return 2
    config = _config(settings)
    from bot.incidents.kit import IncidentKitError
    from bot.notify.outbox_sender import MissingOutboxHandlers

    try:
        asyncio.run(_serve(settings, config, args.host))
    except (IncidentKitError, MissingOutboxHandlers) as exc:  # say what, no traceback
        print(f"cannot start: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from bot.db import migrate

    settings = _settings()
    asyncio.run(migrate(settings.database_url))
    print("database is up to date")
    return 0


def cmd_migrate_db(args: argparse.Namespace) -> int:
    from bot.migrate_db import command

    return command(args.source, args.target, force=args.force)


def cmd_backup(args: argparse.Namespace) -> int:
    import sqlite3

    from sqlalchemy.engine import make_url

    settings = _settings()
    url = make_url(settings.database_url)
    if url.get_backend_name() != "sqlite" or not url.database:
        print("backup copies SQLite databases; for PostgreSQL use pg_dump", file=sys.stderr)
        return 2
    target = Path(args.path)
    if target.exists():
        print(f"{target} exists; refusing to overwrite it", file=sys.stderr)
        return 2
    source = sqlite3.connect(f"file:{url.database}?mode=ro", uri=True)
    dest = sqlite3.connect(target)
    with dest:
        source.backup(dest)  # SQLite's online backup API: consistent while the bot keeps writing
    dest.close()
    source.close()
    print(f"backed up {url.database} to {target}")
    return 0


def cmd_prune(args: argparse.Namespace) -> int:
    from bot.retention import prune_database

    settings = _settings()
    config = _config(settings)
    report = asyncio.run(prune_database(settings.database_url, config.retention, clock_from_env(os.environ)))
    print(f"pruned {report.describe()}" if report.total else "nothing to prune: every record is within its retention")
    return 0


def cmd_manifest(args: argparse.Namespace) -> int:
    from bot.manifest import render_manifest

    settings = _settings()
    print(render_manifest(settings.base_public_url, socket=args.socket), end="")
    return 0


def _api_test_url(url: str | None, port: int) -> str:
    """``POST /api/test`` on the bot at ``url``: a base URL, or one of its endpoints' URLs."""
    base = (url or f"http://127.0.0.1:{port}").rstrip("/")
    for suffix in ("/api/test", "/alerts/generic"):
        base = base.removesuffix(suffix)
    return base + "/api/test"


def _hop_rows(hops: list[dict[str, object]]) -> list[tuple[str, str, str, str]]:
    rows = []
    for hop in hops:
        ms = hop.get("ms")
        ref = hop.get("twilio_sid") or hop.get("slack_ref")
        detail = str(hop.get("detail") or "") if hop.get("ok") else str(hop.get("reason") or hop.get("detail") or "")
        if hop.get("ok") and ref:
            detail += f" — {'SID' if hop.get('twilio_sid') else 'ref'} {ref}"
        rows.append((str(hop.get("label") or hop.get("hop")), "ok" if hop.get("ok") else str(hop.get("state")),
                     f"{ms} ms" if isinstance(ms, int) else "—", detail))
    return rows


def print_test_report(report: dict[str, object], write: Callable[[str], object] = print) -> bool:
    """The report of ``POST /api/test`` as a table, one hop a line; True when every hop happened."""
    raw_hops = report.get("hops")
    hops = [h for h in raw_hops if isinstance(h, dict)] if isinstance(raw_hops, list) else []
    write(f"Test alert #{report.get('alert_id')} ({report.get('title')}) for team {report.get('team')}, "
          f"{report.get('severity')}; escalation steps run at once:")
    rows = [("hop", "result", "after", "detail"), *_hop_rows(hops)]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        write("  " + "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)) + "  " + row[3])
    ok = bool(report.get("ok")) and bool(hops)
    done = sum(1 for h in hops if h.get("ok"))
    ending = ("the test alert was resolved" if report.get("resolved")
              else "the test alert is still open" if report.get("kept_open") else "the test alert was already resolved")
    counted = f"All {done} hops" if ok else f"Only {done} of {len(hops)} hops"
    write(f"{counted} happened in {report.get('elapsed_ms')} ms; {ending}.")
    return ok


def _who() -> str:
    """Who fired the test, as the alert shows it: "alice on build-7 (send-test-alert)"."""
    import getpass
    import socket

    try:
        return f"{getpass.getuser()} on {socket.gethostname()} (send-test-alert)"
    except (OSError, KeyError):  # no user name to be had (a container without one): say less
        return "send-test-alert"


def _send_through_escalation(args: argparse.Namespace, settings: Settings) -> int:
    url = _api_test_url(args.url, settings.port)
    token = args.token or settings.api_token
    if not token:
        print("need the API token: --token or $WATCHSTANDER_API_TOKEN (the bot must have it set too)", file=sys.stderr)
        return 2
    protect(secrets=[token])
    body: dict[str, object] = {"severity": args.severity or "critical", "wait_seconds": args.wait,
                               "keep_open": args.keep_open, "requested_by": _who()[:100]}
    if args.team:
        body["team"] = args.team
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, timeout=args.wait + 15) as resp:
            report = json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        text = exc.read().decode(errors="replace")
        try:
            report = json.loads(text) if exc.code in (502, 504) else None  # the report of an incomplete test
        except json.JSONDecodeError:
            report = None
        if not isinstance(report, dict):
            print(f"{exc.code} {text}", file=sys.stderr)
            return 1
    except (urllib.error.URLError, TimeoutError) as exc:
        print(f"cannot reach {url}: {getattr(exc, 'reason', exc)}", file=sys.stderr)
        return 1
    return 0 if print_test_report(report) else 1


def cmd_send_test_alert(args: argparse.Namespace) -> int:
    settings = _settings()
    if args.through_escalation:
        return _send_through_escalation(args, settings)
    url = args.url or f"http://127.0.0.1:{settings.port}/alerts/generic"
    token = args.token or os.environ.get("WATCHSTANDER_TEST_TOKEN") or os.environ.get("GENERIC_TOKEN")
    if not token:
        print("need a generic integration's token: --token or $GENERIC_TOKEN", file=sys.stderr)
        return 2
    protect(secrets=[token])
    payload = {
        "title": "Watchstander test alert", "severity": args.severity or "high", "service": "watchstander",
        "description": "A test alert sent by `watchstander send-test-alert`. Acknowledge or resolve it.",
        "dedup_key": f"test-{os.getpid()}", "labels": {"test": "true"},
    }
    req = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                 headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            print(f"{resp.status} {resp.read().decode()}")
            return 0
    except urllib.error.HTTPError as exc:
        print(f"{exc.code} {exc.read().decode()}", file=sys.stderr)
    except urllib.error.URLError as exc:
        print(f"cannot reach {url}: {exc.reason}", file=sys.stderr)
    return 1


def cmd_oncall(args: argparse.Namespace) -> int:
    from bot.oncall.cli import CliError, oncall_answer, parse_at

    settings = _settings()
    config = _config(settings)
    try:
        at = parse_at(args.at, config, datetime.now(UTC))
        answer = asyncio.run(oncall_answer(config, database_url=settings.database_url, team=args.team, at=at,
                                           base_dir=Path(settings.config_path).resolve().parent,
                                           base_url=settings.base_public_url))
    except CliError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(answer.text, end="")
    if answer.note:
        print(f"({answer.note})", file=sys.stderr)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from bot.demo import run_demo

    return asyncio.run(run_demo(verbose=args.verbose))


def _wait_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value <= 60:
        raise argparse.ArgumentTypeError("must be above 0 and at most 60 seconds")
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="watchstander", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="run the bot")
    s.add_argument("--host", default=os.environ.get("HOST", "0.0.0.0"), help="address to bind (default $HOST or 0.0.0.0)")
    s.add_argument("--port", type=int, default=None, help="port (default $PORT or 3000)")
    s.set_defaults(func=cmd_serve)
    d = sub.add_parser("demo", help="the whole product against local stand-ins of Slack and Twilio")
    d.add_argument("--verbose", action="store_true", help="also print every Slack API call")
    d.set_defaults(func=cmd_demo)
    c = sub.add_parser("check-config", help="validate a config file")
    c.add_argument("path", nargs="?")
    c.set_defaults(func=cmd_check_config)
    t = sub.add_parser("send-test-alert", help="post a sample alert to a running bot")
    t.add_argument("--severity", help="default high; critical with --through-escalation")
    t.add_argument("--url", help="the generic endpoint (default http://127.0.0.1:$PORT/alerts/generic); "
                   "with --through-escalation the bot's base URL")
    t.add_argument("--token", help="the generic integration's token ($GENERIC_TOKEN); with --through-escalation "
                   "the API token ($WATCHSTANDER_API_TOKEN)")
    t.add_argument("--through-escalation", action="store_true",
                   help="fire a marked test alert through the whole path with POST /api/test (channel message, "
                        "first DM, SMS, steps run at once) and print each hop with its time")
    t.add_argument("--team", help="with --through-escalation: the team to test (default: the first with a policy)")
    t.add_argument("--wait", type=_wait_seconds, default=20.0,
                   help="with --through-escalation: seconds to wait for the hops (default 20, at most 60)")
    t.add_argument("--keep-open", action="store_true",
                   help="with --through-escalation: leave the test alert open instead of resolving it")
    t.set_defaults(func=cmd_send_test_alert)
    m = sub.add_parser("migrate", help="apply database migrations")
    m.set_defaults(func=cmd_migrate)
    md = sub.add_parser("migrate-db", help="copy the whole database to another one (SQLite → PostgreSQL or back)")
    md.add_argument("--from", dest="source", required=True, metavar="URL", help="the database to copy (unchanged)")
    md.add_argument("--to", dest="target", required=True, metavar="URL", help="the empty database to fill")
    md.add_argument("--force", action="store_true", help="delete what the target holds instead of refusing")
    md.set_defaults(func=cmd_migrate_db)
    b = sub.add_parser("backup", help="consistent online copy of the SQLite database")
    b.add_argument("path")
    b.set_defaults(func=cmd_backup)
    pr = sub.add_parser("prune", help="delete what is past the config's retention now (the bot also does it daily)")
    pr.set_defaults(func=cmd_prune)
    mf = sub.add_parser("manifest", help="print the Slack app manifest with PUBLIC_URL filled in")
    mf.add_argument("--socket", action="store_true", help="the Socket Mode manifest")
    mf.set_defaults(func=cmd_manifest)
    oc = sub.add_parser("oncall", help="print who is on call")
    oc.add_argument("team", nargs="?", help="one team (default: every team)")
    oc.add_argument("--at", help="ISO time, e.g. 2026-11-30T09:00 (read in the config's timezone without an offset)")
    oc.set_defaults(func=cmd_oncall)
    add_import_parser(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    _setup_logging()
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
