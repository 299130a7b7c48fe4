"""Watchstander: a ChatOps Slack bot for alerting, on-call and incident response."""

__version__ = "0.1.0"
