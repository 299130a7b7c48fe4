"""Playbooks and the post-mortem template are checked when the bot starts, with errors that say where."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.incidents.kit import IncidentKitError, load_incident_kit
from tests.support.factories import make_config

SHIPPED = Path(__file__).resolve().parents[2] / "playbooks"


def test_the_shipped_playbooks_and_template_load() -> None:
    kit = load_incident_kit(make_config(), playbook_dir=SHIPPED)
    assert len(kit.playbooks) == 8 and kit.template == SHIPPED / "postmortem.md.j2"
    assert kit.checklist_item("high-error-rate", "mitigate-1") is not None
    assert kit.checklist_item("high-error-rate", "mitigate-99") is None


def test_a_broken_playbook_stops_start_up_naming_file_and_line(tmp_path: Path) -> None:
    shutil.copytree(SHIPPED, tmp_path / "playbooks")
    (tmp_path / "playbooks" / "disk-full.yaml").write_text(
        "name: Disk full\nseverity: high\nsummary: A disk fills up.\nmatch: {alertname: DiskFull}\n"
        "steps:\n  investigate: [df -h]\n  mitgate: [delete logs]\n")
    with pytest.raises(IncidentKitError) as err:
        load_incident_kit(make_config(), playbook_dir=tmp_path / "playbooks")
    assert "disk-full.yaml:7: steps.mitgate: unknown key" in str(err.value)


def test_an_operators_template_is_tried_at_start(tmp_path: Path) -> None:
    shutil.copytree(SHIPPED, tmp_path / "playbooks")
    (tmp_path / "playbooks" / "postmortem.md.j2").write_text("# {{ incident.title }}\n\n{{ incident.owner }}\n")
    with pytest.raises(IncidentKitError) as err:
        load_incident_kit(make_config(), playbook_dir=tmp_path / "playbooks")
    assert "postmortem.md.j2:3" in str(err.value) and "owner" in str(err.value)
