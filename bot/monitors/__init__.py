"""What Watchstander watches itself: HTTP and TLS checks, heartbeats from jobs, Alertmanager's
Watchdog. Each raises and resolves its alerts through the same pipeline as a webhook."""
