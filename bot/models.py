"""Every table, imported so that ``Base.metadata`` knows them (for Alembic and tests)."""

from bot.alerts.models import Alert, AlertEvent, AlertGroup, Silence
from bot.db import Base
from bot.idempotency import SeenRequest
from bot.oncall.models import OverrideRow
from bot.outbox import OutboxMessage

__all__ = ["Alert", "AlertEvent", "AlertGroup", "Base", "OutboxMessage", "OverrideRow", "SeenRequest", "Silence"]
