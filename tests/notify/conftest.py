"""The paging fixtures (a Twilio stand-in, a bot set up to page by SMS) for the outbox tests."""

from tests.escalation.conftest import pager, twilio

__all__ = ["pager", "twilio"]
