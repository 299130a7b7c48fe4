"""The ``import`` sub-command's arguments; kept apart so ``watchstander --help`` loads no HTTP code."""

from __future__ import annotations

import argparse


def add_import_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("import", help="move in from Opsgenie, PagerDuty or Grafana OnCall",
                       description="Read people, schedules, overrides, escalation policies and integrations from "
                                   "another on-call tool and map them onto a Watchstander config.")
    p.add_argument("vendor", choices=["opsgenie", "pagerduty", "grafana-oncall"])
    p.add_argument("--api-key", help="Opsgenie: an API key (sent as Authorization: GenieKey …)")
    p.add_argument("--api-token", help="PagerDuty: a REST API token (sent as Authorization: Token token=…)")
    p.add_argument("--url", help="Grafana OnCall: the OnCall API's base URL")
    p.add_argument("--token", help="Grafana OnCall: an API token")
    p.add_argument("--from-dir", metavar="DIR", help="read saved API responses from DIR instead of the API")
    p.add_argument("--api-url", metavar="URL", help="another API base URL (EU region, a proxy, a test server)")
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--plan", action="store_true", help="print what would be created and how; write nothing")
    mode.add_argument("--write", metavar="PATH", help="write the config (and calendars) and load the overrides")
    mode.add_argument("--compare", action="store_true",
                      help="who is on call at each handoff of the next four weeks, old system and Watchstander")
    p.add_argument("--config", metavar="PATH", help="with --compare: the Watchstander config to compare "
                   "(default $WATCHSTANDER_CONFIG if it exists, else the config the import would write)")
    p.add_argument("--now", metavar="ISO", help=argparse.SUPPRESS)  # tests: the instant the import runs at

    def run(args: argparse.Namespace) -> int:
        from bot.importers.cli import run_import

        return run_import(args)

    p.set_defaults(func=run)
