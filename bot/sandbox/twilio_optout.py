"""Twilio's default opt-out handling, as the stand-in plays it: STOP blocks a number, START unblocks it."""

from __future__ import annotations

# Twilio's default keywords (the whole message, any case) and its standard confirmations.
OPT_OUT_WORDS = frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit"})
OPT_IN_WORDS = frozenset({"start", "yes", "unstop"})
OPT_OUT_REPLY = ("You have successfully been unsubscribed. You will not receive any more messages from this "
                 "number. Reply START to resubscribe.")
OPT_IN_REPLY = ("You have successfully been re-subscribed to messages from this number. Reply HELP for help. "
                "Reply STOP to unsubscribe. Msg&Data Rates May Apply.")


def opt_out_keyword(body: str, number: str, opted_out: set[str]) -> str | None:
    """For a message that is one of Twilio's keywords (the whole message, any case): update
    ``opted_out`` and return Twilio's standard confirmation; None for any other message."""
    word = body.strip().lower()
    if word in OPT_OUT_WORDS:
        opted_out.add(number)
        return OPT_OUT_REPLY
    if word in OPT_IN_WORDS:
        opted_out.discard(number)
        return OPT_IN_REPLY
    return None
