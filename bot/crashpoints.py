"""TEST-ONLY crash points: die, as ``kill -9`` would, at a named step of sending.

Crash tests start a real ``watchstander serve`` with ``WATCHSTANDER_CRASH_AT=<point>[@N]``; the
Nth time (default the first) the process reaches ``<point>`` it ends at once with
:data:`EXIT_CODE` through :func:`os._exit`: no ``finally`` block, no commit, no log handler and no
buffer flush runs, so the database and Slack see exactly what a power cut at that line would leave.
The test waits for that exit (a process event, not a sleep), restarts the bot without the variable
and checks that what people see is still right: one alert message, one DM or SMS per page, the
escalation going on at the right step.

Each :class:`Point` sits on one boundary where a crash changes what the next start must do. Off
(the variable unset) :func:`reached` is a function that returns at once: the variable is read once,
when this module is imported. Never set it in production.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

ENV = "WATCHSTANDER_CRASH_AT"
EXIT_CODE = 86  # what a crash point exits with: neither a clean stop (0), a start-up error (1, 2) nor a signal


class Point(StrEnum):
    """The boundaries; the docstring of each says what is durable when it is reached."""

    ALERT_STORED = "alert_stored"
    """An ingest transaction committed; the webhook has not answered, the dispatcher is not woken."""
    ALERT_CLAIMED = "alert_claimed"
    """The dispatcher claimed alert groups to show (attempt counted); nothing is posted yet."""
    ALERT_POSTED = "alert_posted"
    """Slack accepted a new alert message; its ``ts`` is not recorded."""
    STEPS_RUN = "steps_run"
    """The escalation runner ran a batch of due steps (pages written), before its commit."""
    STEPS_COMMITTED = "steps_committed"
    """That batch is committed: pages and outbox intents stored; the senders are not woken."""
    PAGE_MARKED = "page_marked"
    """A page's write-ahead mark (``send_attempts``) is committed; the provider is not called yet."""
    PAGE_SENT = "page_sent"
    """Slack or Twilio accepted a page; the page is not recorded as sent."""
    OUTBOX_HANDLED = "outbox_handled"
    """An outbox row's handler returned; the row is not marked sent."""
    AFTER_SLACK_POST = "after_slack_post"
    """Any ``chat.postMessage`` Slack accepted (alert message, page, thread reply, post…), before
    the caller sees the answer."""


class CrashPointError(ValueError):
    """The variable names no known point, or N is not a positive whole number."""


@dataclass
class _Plan:
    point: Point
    nth: int
    seen: int = 0


def parse(value: str) -> tuple[Point, int]:
    """``"page_sent@2"`` → ``(Point.PAGE_SENT, 2)``; ``"page_sent"`` → ``(Point.PAGE_SENT, 1)``."""
    name, at, count = value.strip().partition("@")
    try:
        point = Point(name)
    except ValueError:
        known = ", ".join(p.value for p in Point)
        raise CrashPointError(f"{ENV}={value!r}: no crash point named {name!r} (known: {known})") from None
    if not at:
        return point, 1
    if not (count.isascii() and count.isdigit()) or int(count) < 1:
        raise CrashPointError(f"{ENV}={value!r}: after '@' comes how many times to pass the point "
                              f"before crashing, a whole number from 1")
    return point, int(count)


def _off(point: Point) -> None:
    """Crash points unset: nothing to do."""


def _armed(plan: _Plan) -> Callable[[Point], None]:
    def reached(point: Point) -> None:
        if point is not plan.point:
            return
        plan.seen += 1
        if plan.seen == plan.nth:
            # One unbuffered write (no logging, no flush) so a test failing later can say where it died.
            os.write(2, f"crash point {point.value}@{plan.nth} reached: exiting with {EXIT_CODE}\n".encode())
            os._exit(EXIT_CODE)

    return reached


def _from_env(env: Mapping[str, str]) -> tuple[Callable[[Point], None], str | None]:
    value = env.get(ENV)
    if not value:
        return _off, None
    try:
        point, nth = parse(value)
    except CrashPointError as exc:
        return _off, str(exc)
    return _armed(_Plan(point, nth)), None


reached, problem = _from_env(os.environ)
"""``reached(Point.X)`` at each boundary; ``problem`` says why the variable could not be used
(``watchstander serve`` refuses to start then, so a misspelt point never silently tests nothing)."""
