"""The Alertmanager webhook bodies the demo sends, as Alertmanager itself would."""

from __future__ import annotations

from datetime import datetime

AM_TOKEN = "demo-alertmanager-token"


def demo_team(name: str, escalation: str) -> str:
    """A team of the demo config on the demo's one rotation (its ``{handoff}`` and ``{start}`` are filled
    in with the config), paging by ``escalation``: its steps, one YAML flow mapping per line."""
    steps = "".join(f"      - {line.strip()}\n" for line in escalation.strip().splitlines())
    return (f"  - name: {name}\n    channel: {name}-alerts\n    schedule:\n      rotation: weekly\n"
            '      handoff: "{handoff}"\n      start: {start}\n      primary: [U0ALICE01, U0BOB0001, U0CAROL01]\n'
            f"      backup:  [U0BOB0001, U0CAROL01, U0ALICE01]\n    escalation:\n{steps}")


def am_payload(name: str, alerts: list[dict[str, object]], *, status: str = "firing") -> dict[str, object]:
    return {"version": "4", "groupKey": f'{{}}:{{alertname="{name}"}}', "status": status, "receiver": "watchstander",
            "groupLabels": {"alertname": name}, "commonLabels": {}, "commonAnnotations": {},
            "externalURL": "http://alertmanager.example.com", "truncatedAlerts": 0, "alerts": alerts}


def am_alert(name: str, fingerprint: str, *, status: str = "firing", severity: str = "critical",
             service: str = "api", summary: str, instance: str = "api-1", starts: datetime) -> dict[str, object]:
    return {"status": status, "fingerprint": fingerprint,
            "labels": {"alertname": name, "severity": severity, "service": service, "instance": instance},
            "annotations": {"summary": summary, "runbook_url": f"https://runbooks.example.com/{name}"},
            "startsAt": starts.isoformat(), "generatorURL": "http://prometheus.example.com/graph",
            "endsAt": starts.isoformat() if status == "resolved" else "0001-01-01T00:00:00Z"}
