"""``watchstander import opsgenie|pagerduty|grafana-oncall``: read another on-call tool's people,
schedules, overrides, escalation policies and integrations, and map them onto Watchstander's config.

One reader per vendor (:mod:`bot.importers.pagerduty`, ...) fills the common model of
:mod:`bot.importers.model`; everything after that — the plan text, the YAML and calendars, the
overrides loaded into the database, the side-by-side comparison — is shared.
"""
