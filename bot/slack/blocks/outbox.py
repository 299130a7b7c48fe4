"""What an alert's thread says when something the bot owed it could not be sent."""

from __future__ import annotations

from bot.outbox import OutboxKind
from bot.slack.blocks.common import clip, escape

WHAT: dict[str, str] = {
    OutboxKind.ALERT_THREAD: "an update in this thread",
    OutboxKind.PAGE_SLACK: "a page by Slack DM",
    OutboxKind.PAGE_SMS: "a page by SMS",
    OutboxKind.PAGE_CHANNEL: "the @here call for help",
    OutboxKind.PAGE_EMAIL: "a page by email",
    OutboxKind.PAGE_CALL: "a page by phone call",
    OutboxKind.CALL_CANCEL: "the stop of a call still ringing",
    OutboxKind.ALERT_EMAIL: "an email about this alert",
}


def failure_note(kind: str, row_id: int, attempts: int, error: str) -> str:
    """One line: what was not sent, how often it was tried, and Slack's or Twilio's short reason."""
    what = WHAT.get(kind, "a notification")
    return (f"⚠️ Watchstander gave up sending {what} after {attempts} attempt(s): {clip(escape(error), 200)}. "
            f"The bot's log has the details (outbox row #{row_id}).")
