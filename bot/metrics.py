"""Prometheus metrics, in a registry per app instance (tests run several apps in one process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.alerts_received = Counter(
            "watchstander_alerts_received", "Alerts received from sources", ["source", "severity"],
            registry=self.registry)
        self.webhook_rejected = Counter(
            "watchstander_webhook_rejected", "Alert webhooks refused", ["source", "status"], registry=self.registry)
        self.notifications = Counter(
            "watchstander_notifications_sent", "Notifications sent", ["channel", "kind"], registry=self.registry)
        self.slack_errors = Counter(
            "watchstander_slack_api_errors", "Slack Web API errors", ["method", "error"], registry=self.registry)
        self.request_latency = Histogram(
            "watchstander_http_request_duration_seconds",
            "HTTP request latency by route template, method and status class (2xx, 4xx…)",
            ["route", "method", "status"],
            registry=self.registry, buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
        self.open_alerts = Gauge(
            "watchstander_open_alert_groups", "Alert groups not yet resolved", registry=self.registry)
        self._outbox_metrics()
        self.check_probes = Counter(
            "watchstander_check_probes", "Uptime check probes by result", ["check", "result"], registry=self.registry)
        self.check_lateness = Histogram(
            "watchstander_check_probe_lateness_seconds", "How long after its due time a check's probe started",
            registry=self.registry, buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))

    def _outbox_metrics(self) -> None:
        """The outbox's promise, observable: every row ends sent or failed, none waits unseen."""
        self.outbox_failed = Counter(
            "watchstander_outbox_failed", "Outbox rows given up on after their attempts", ["kind"],
            registry=self.registry)
        self.outbox_oldest_pending = Gauge(
            "watchstander_outbox_oldest_pending_seconds",
            "How long the oldest due outbox row has waited to be sent (0 when none waits)", registry=self.registry)
