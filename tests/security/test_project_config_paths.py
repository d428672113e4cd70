"""What a planted .gait/config.yaml may choose (issue 11 A2 follow-up).

Without --trust-project-keys, a project file's paths must stay inside its
project folder (else exit 6 naming the key and the file), and its state
location is ignored with a warning, so it can neither write over the user's
files nor reset budgets.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from gait.cli.main import main
from gait.errors import InvalidInput
from gait.gate.config import load_gate_defaults

POLICY = """schema_id: gait.gate.policy
schema_version: 1.0.0
default_verdict: block
rules:
  - name: db-read
    effect: allow
    match: {tool_names: [tool.query]}
    require_broker_credential: true
    broker_reference: vault.db
  - name: deletes
    effect: allow
    match: {tool_names: [tool.delete]}
    destructive_budget: {requests: 1, window: hour}
"""


def intent(tool: str) -> dict[str, Any]:
    op, target = ("delete", "/w/db") if tool == "tool.delete" else ("read", "db.internal")
    kind = "path" if tool == "tool.delete" else "host"
    phase = "plan" if tool == "tool.delete" else "apply"
    return {
        "schema_id": "gait.gate.intent_request",
        "schema_version": "1.0.0",
        "created_at": "2026-02-18T00:00:00Z",
        "tool_name": tool,
        "args": {"q": 1},
        "targets": [{"kind": kind, "value": target, "operation": op}],
        "arg_provenance": [{"arg_path": "$.q", "source": "user"}],
        # plan phase: the budgeted delete is a dry run (exit 0) until the budget is spent
        "context": {"identity": "alice", "workspace": "/w", "risk_class": "medium", "phase": phase},
    }


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "repo"
    (root / ".gait").mkdir(parents=True)
    (tmp_path / "home").mkdir()
    monkeypatch.chdir(root)
    (root / "policy.yaml").write_text(POLICY)
    (root / "query.json").write_text(json.dumps(intent("tool.query")))
    (root / "delete.json").write_text(json.dumps(intent("tool.delete")))
    inventory = '{"items": [{"tool_name": "tool.query", "data_class": "internal"}]}'
    (root / "inventory.json").write_text(inventory)
    (tmp_path / "home" / "inventory.json").write_text(inventory)
    return root


def plant(root: Path, text: str) -> None:
    (root / ".gait" / "config.yaml").write_text(text)


def gate(capsys: pytest.CaptureFixture[str], *args: str, call: str = "query"):
    capsys.readouterr()
    code = main(["gate", "eval", "--policy", "policy.yaml", "--intent", f"{call}.json",
                 "--credential-broker", "stub", "--json", *args])  # fmt: skip
    return code, json.loads(capsys.readouterr().out.strip().splitlines()[-1])


# config key -> (the flag that sets the same option, outside value, inside value)
PATH_KEYS = {
    "trace_path": ("--trace-out", "../home/trace.json", "out/trace.json"),
    "credential_evidence_path": ("--credential-evidence-out", "../home/ev.json", "out/ev.json"),
    "wrkr_inventory_path": ("--wrkr-inventory", "../home/inventory.json", "inventory.json"),
}


def used(root: Path, key: str, value: str, out: dict[str, Any]) -> None:
    """The setting took effect: the file was written (or the inventory read)."""
    if key == "wrkr_inventory_path":
        assert Path(out["context_source"]).resolve() == Path(value).resolve(), out
    else:
        assert (root / value).resolve().is_file(), (key, value)


@pytest.mark.parametrize("key", sorted(PATH_KEYS))
def test_planted_path_outside_the_project_is_refused(project: Path, capsys, key: str) -> None:
    plant(project, f"gate:\n  {key}: {PATH_KEYS[key][1]}\n")
    code, out = gate(capsys)
    assert code == 6, out
    assert f"gate.{key}" in out["error"] and ".gait/config.yaml" in out["error"]
    assert "outside the project folder" in out["error"]
    assert "--trust-project-keys" in out["error"]
    assert not list((project.parent / "home").glob("*.json"))[1:]  # only the inventory there


@pytest.mark.parametrize("key", sorted(PATH_KEYS))
def test_absolute_and_symlinked_escapes_are_refused(project: Path, capsys, key: str) -> None:
    home = project.parent / "home"
    plant(project, f"gate:\n  {key}: {home / 'x.json'}\n")
    assert gate(capsys)[0] == 6
    (project / "link").symlink_to(home, target_is_directory=True)
    plant(project, f"gate:\n  {key}: link/x.json\n")
    code, out = gate(capsys)
    assert code == 6 and f"gate.{key}" in out["error"], out
    (project / "file_link.json").symlink_to(home / "inventory.json")
    plant(project, f"gate:\n  {key}: ./sub/../file_link.json\n")
    assert gate(capsys)[0] == 6


@pytest.mark.parametrize("key", sorted(PATH_KEYS))
def test_planted_path_inside_the_project_works(project: Path, capsys, key: str) -> None:
    inside = PATH_KEYS[key][2]
    plant(project, f"gate:\n  {key}: ./{inside}\n")
    code, out = gate(capsys)
    assert code == 0, out
    used(project, key, f"./{inside}", out)


@pytest.mark.parametrize("key", sorted(PATH_KEYS))
def test_trusted_project_may_name_outside_paths(project: Path, capsys, key: str) -> None:
    # absolute: gait refuses relative output paths that climb with ".." anyway
    outside = str(project.parent / "home" / Path(PATH_KEYS[key][1]).name)
    plant(project, f"gate:\n  {key}: {outside}\n")
    code, out = gate(capsys, "--trust-project-keys")
    assert code == 0, out
    used(project, key, outside, out)


@pytest.mark.parametrize("key", sorted(PATH_KEYS))
def test_explicit_flag_wins_over_the_outside_path(project: Path, capsys, key: str) -> None:
    flag, outside, inside = PATH_KEYS[key]
    plant(project, f"gate:\n  {key}: {outside}\n")
    code, out = gate(capsys, flag, inside)
    assert code == 0, out
    used(project, key, inside, out)


def test_private_config_of_your_own_may_name_outside_paths(project: Path) -> None:
    own = project.parent / "home" / "gait.yaml"
    own.write_text("gate:\n  trace_path: /elsewhere/t.json\n  state: /elsewhere/s.json\n")
    os.chmod(own, 0o600)
    os.chmod(own.parent, 0o700)
    out = load_gate_defaults(str(own))
    assert out["trace_out"] == "/elsewhere/t.json" and out["state"] == "/elsewhere/s.json"
    os.chmod(own, 0o666)  # someone else could write it: a project file again
    with pytest.raises(InvalidInput, match=r"gate\.trace_path .*is not yours alone to write"):
        load_gate_defaults(str(own))


def test_explicit_shared_config_is_confined_to_its_own_project(project: Path) -> None:
    """--config other/.gait/config.yaml speaks for other/, not for the working directory."""
    other = project / "vendor" / "lib"
    (other / ".gait").mkdir(parents=True)
    cfg = other / ".gait" / "config.yaml"
    cfg.write_text("gate:\n  trace_path: vendor/lib/t.json\n")
    os.chmod(cfg, 0o666)
    assert load_gate_defaults(str(cfg))["trace_out"] == "vendor/lib/t.json"
    cfg.write_text("gate:\n  trace_path: t.json\n")  # the working directory is outside vendor/lib
    with pytest.raises(InvalidInput, match=r"outside the project folder .*vendor/lib"):
        load_gate_defaults(str(cfg))


# ------------------------------------------------------------------ state ---

STATE_FILES = ("state: fresh.json\n", "gate:\n  state: fresh.json\n",
               "gate:\n  rate_limit_state: fresh.json\n")  # fmt: skip


@pytest.mark.parametrize("text", STATE_FILES)
def test_planted_state_cannot_reset_a_budget(project: Path, capsys, text: str) -> None:
    assert gate(capsys, call="delete")[0] == 0  # the one allowed delete, counted by default
    plant(project, text)
    code, out = gate(capsys, call="delete")
    assert code == 3, out
    assert "destructive_budget_exceeded" in out["reason_codes"]
    assert not (project / "fresh.json").exists()
    [warning] = [w for w in out["warnings"] if "config" in w]
    assert ".gait/config.yaml" in warning and "state" in warning
    assert "default state location" in warning and "--trust-project-keys" in warning


@pytest.mark.parametrize("text", STATE_FILES)
def test_trusted_project_state_is_used(project: Path, capsys, text: str) -> None:
    assert gate(capsys, call="delete")[0] == 0
    plant(project, text)
    code, out = gate(capsys, "--trust-project-keys", call="delete")
    assert code == 0, out
    assert (project / "fresh.json").is_file()
    assert not [w for w in out.get("warnings", []) if "config" in w]


@pytest.mark.parametrize("flag", ["--state", "--rate-limit-state"])
def test_explicit_state_flag_wins_without_warning(project: Path, capsys, flag: str) -> None:
    plant(project, "state: fresh.json\ngate:\n  rate_limit_state: fresh.json\n")
    code, out = gate(capsys, flag, "mine.json", call="delete")
    assert code == 0, out
    assert (project / "mine.json").is_file() and not (project / "fresh.json").exists()
    assert not [w for w in out.get("warnings", []) if "config" in w]


def test_state_warning_is_not_raised_for_other_keys(project: Path, capsys) -> None:
    plant(project, "gate:\n  profile: standard\n")
    code, out = gate(capsys, call="delete")
    assert code == 0 and not [w for w in out.get("warnings", []) if "config" in w]
