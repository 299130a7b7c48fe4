"""The bot's configuration: the YAML file (``schema``, read by ``loading``) and the environment (``settings``).

Import from here; the submodules are how the code is split, not part of the API.
"""

from bot.config.fields import E164, TARGET, WEEKDAYS
from bot.config.loading import ConfigError, ConfigProblem, env_references, load_config, parse_config
from bot.config.monitors import (
    OWN_INTEGRATION,
    BodyJson,
    Check,
    Expect,
    HeartbeatMonitor,
    SelfHeartbeat,
    StatusPage,
    Watchdog,
)
from bot.config.people import NotifyRule, Person, QuietHours
from bot.config.schema import (
    DEFAULT_ESCALATION,
    DEFAULT_INCIDENT_SEVERITIES,
    Config,
    DailySummary,
    EscalationStep,
    Handoff,
    IcalSchedule,
    IncidentSeverity,
    Integration,
    OutOfHours,
    Retention,
    RotationSchedule,
    Route,
    SeverityPolicy,
    SlackConfig,
    SummaryConfig,
    Team,
    own_integration,
)
from bot.config.settings import Settings, SettingsError, settings_from_env
from bot.config.smtp import SmtpTarget, SmtpTls, SmtpUrlError, parse_smtp_url

__all__ = [
    "BodyJson",
    "Check",
    "Expect",
    "HeartbeatMonitor",
    "OWN_INTEGRATION",
    "SelfHeartbeat",
    "StatusPage",
    "Watchdog",
    "Config",
    "DailySummary",
    "ConfigError",
    "ConfigProblem",
    "DEFAULT_ESCALATION",
    "DEFAULT_INCIDENT_SEVERITIES",
    "E164",
    "env_references",
    "EscalationStep",
    "Handoff",
    "IcalSchedule",
    "IncidentSeverity",
    "Integration",
    "load_config",
    "OutOfHours",
    "own_integration",
    "parse_config",
    "NotifyRule", "Person", "QuietHours",
    "Retention",
    "RotationSchedule",
    "Route",
    "Settings",
    "settings_from_env",
    "SettingsError",
    "SeverityPolicy",
    "SlackConfig",
    "SmtpTarget",
    "SmtpTls",
    "SmtpUrlError",
    "parse_smtp_url",
    "SummaryConfig",
    "TARGET",
    "Team",
    "WEEKDAYS",
]
