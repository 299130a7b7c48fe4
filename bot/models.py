"""Every table, imported so that ``Base.metadata`` knows them (for Alembic and tests)."""

from bot.alerts.email_links import SigningKey
from bot.alerts.emails import EmailThread
from bot.alerts.models import Alert, AlertEvent, AlertGroup, AlertStorm, ChannelPause, Silence
from bot.db import Base
from bot.escalation.models import Escalation, PageRecord
from bot.escalation.sms_hygiene import SmsOptOut, SmsReplyCount
from bot.idempotency import SeenRequest
from bot.incidents.models import (
    ActionItem,
    ChecklistTick,
    Incident,
    IncidentAlert,
    IncidentRole,
    TimelineEntry,
)
from bot.monitors.models import CheckOutage, CheckRollup, MonitorState
from bot.oncall.models import HandoffRow, OverrideRow
from bot.outbox import KnownChannel, OutboxMessage
from bot.reports.models import WeeklySummaryRecord

__all__ = ["ActionItem", "Alert", "AlertEvent", "AlertGroup", "AlertStorm", "Base", "ChannelPause", "CheckOutage", "EmailThread", "SigningKey", "CheckRollup", "MonitorState", "Escalation", "PageRecord", "ChecklistTick", "Incident", "IncidentAlert",
           "IncidentRole", "TimelineEntry", "HandoffRow", "KnownChannel", "OutboxMessage", "OverrideRow", "SeenRequest", "Silence", "SmsOptOut", "SmsReplyCount",
           "WeeklySummaryRecord"]
