"""Every action, block and callback id the bot uses: one enum member each, never a string typed twice."""

from __future__ import annotations

from enum import StrEnum
from typing import TypedDict


class AlertAction(StrEnum):
    ACKNOWLEDGE = "alert_acknowledge"
    UNACKNOWLEDGE = "alert_unacknowledge"
    ESCALATE = "alert_escalate"
    RESOLVE = "alert_resolve"
    DECLARE_INCIDENT = "alert_declare_incident"
    MORE = "alert_more"
    LINK = "alert_link"
    STORM_ACK_ALL = "storm_acknowledge_all"
    PLAYBOOK = "alert_playbook"


class OverflowChoice(StrEnum):
    """Values of the alert overflow menu's options: ``<choice>:<group id>``."""

    SNOOZE_30M = "snooze_30m"
    SNOOZE_1H = "snooze_1h"
    SNOOZE_4H = "snooze_4h"
    SILENCE_1H = "silence_1h"


class SwapAction(StrEnum):
    """The buttons of a shift swap request DM; values carry the swap id."""

    ACCEPT = "swap_accept"
    DECLINE = "swap_decline"


class MeAction(StrEnum):
    """The test page buttons of ``/oncall me``: ``oncall_me_test`` (every channel) and
    ``oncall_me_test:<via>`` (one); the value is ``all`` or the channel."""

    TEST = "oncall_me_test"


class Callback(StrEnum):
    ESCALATE_MODAL = "escalate_modal"
    DECLARE_MODAL = "declare_incident_modal"
    DECLARE_FROM_MESSAGE = "declare_incident_from_message"


class Command(StrEnum):
    ONCALL = "/oncall"
    INCIDENT = "/incident"


class IncidentAction(StrEnum):
    """Buttons and checkboxes in incident channels; values carry the incident id."""

    POST_UPDATE = "incident_post_update"
    CHANGE_SEVERITY = "incident_change_severity"
    ASSIGN_ROLE = "incident_assign_role"
    RESOLVE = "incident_resolve"
    POSTMORTEM_DONE = "incident_postmortem_done"
    POSTMORTEM = "incident_postmortem"
    CHECKLIST = "incident_checklist"  # action_id is "incident_checklist:<item id>"


class IncidentModal(StrEnum):
    """Callback ids of the small modals the header buttons open (the declare modal is Callback's)."""

    STATUS = "incident_status_modal"
    SEVERITY = "incident_severity_modal"
    ROLE = "incident_role_modal"
    RESOLVE = "incident_resolve_modal"


class IncidentField(StrEnum):
    """block_id and action_id of each input in the incident modals."""

    TITLE = "incident_title"
    SEVERITY = "incident_severity"
    SUMMARY = "incident_summary"
    SERVICE = "incident_service"
    TEAM = "incident_team"
    COMMANDER = "incident_commander"
    STATUS = "incident_status"
    UPDATE = "incident_update"
    PUBLIC = "incident_public"  # the update form's "Publish to status page" box
    ROLE = "incident_role"
    PERSON = "incident_person"


class EscalateField(StrEnum):
    """block_id and action_id of each input in the Escalate modal (its callback is Callback.ESCALATE_MODAL)."""

    PERSON = "escalate_person"
    TEAM = "escalate_team"


METADATA_EVENT = "watchstander_alert"
METADATA_PAGE = "watchstander_page"  # on DMs and @here posts, to find them again after a crash
METADATA_STORM = "watchstander_storm"  # on storm messages, likewise
METADATA_OUTBOX = "watchstander_outbox"  # on every post an outbox row makes, with the row's key, likewise


class Metadata(TypedDict):
    """Slack message metadata: what a post is (``event_type`` one of the ``METADATA_*`` names), so a
    retry can find it in the conversation's history."""

    event_type: str
    event_payload: dict[str, object]
