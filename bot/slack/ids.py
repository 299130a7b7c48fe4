"""Every action, block and callback id the bot uses: one enum member each, never a string typed twice."""

from __future__ import annotations

from enum import StrEnum


class AlertAction(StrEnum):
    ACKNOWLEDGE = "alert_acknowledge"
    UNACKNOWLEDGE = "alert_unacknowledge"
    ESCALATE = "alert_escalate"
    RESOLVE = "alert_resolve"
    DECLARE_INCIDENT = "alert_declare_incident"
    MORE = "alert_more"
    LINK = "alert_link"


class OverflowChoice(StrEnum):
    """Values of the alert overflow menu's options: ``<choice>:<group id>``."""

    SNOOZE_30M = "snooze_30m"
    SNOOZE_1H = "snooze_1h"
    SNOOZE_4H = "snooze_4h"
    SILENCE_1H = "silence_1h"


class Callback(StrEnum):
    ESCALATE_MODAL = "escalate_modal"
    DECLARE_MODAL = "declare_incident_modal"
    DECLARE_FROM_MESSAGE = "declare_incident_from_message"


class Command(StrEnum):
    ONCALL = "/oncall"
    INCIDENT = "/incident"


METADATA_EVENT = "watchstander_alert"
