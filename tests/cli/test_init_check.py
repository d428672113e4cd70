"""``gait init`` and ``gait check``: starter repo policy, detection, readiness findings."""

from __future__ import annotations

from pathlib import Path

import pytest

from gait.policy import load_policy_file
from gait.scout.onboarding import (
    action_candidates,
    derive_signals,
    detect_repo_surface,
    readiness_findings,
)

from .conftest import run, run_json

CONTRACT = {
    "repo_policy_path": ".gait.yaml",
    "project_defaults_path": ".gait/config.yaml",
    "regress_config_path": "gait.yaml",
    "legacy_policy_scaffold_path": "gait.policy.yaml",
}

LANGCHAIN = """\
from langchain.tools import tool

@tool
def delete_user(uid: str) -> str:
    return uid

@tool()
def update_invoice(number): ...

def read_file(path): ...
"""

AGENTS = """\
from agents import Agent, function_tool

@function_tool
def write_note(text): ...

agent = Agent(name="helper", tools=[write_note])
"""


@pytest.fixture(autouse=True)
def _workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def _repo(tmp_path: Path) -> None:
    (tmp_path / "agent").mkdir()
    (tmp_path / "agent" / "tools.py").write_text(LANGCHAIN)
    (tmp_path / "agent" / "sdk.py").write_text(AGENTS)
    # never scanned
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules" / "x.py").write_text("from agents import A\ndef drop_all(): ...\n")
    (tmp_path / "plain.py").write_text("def drop_table(): ...\n")  # no framework marker


def test_init_in_an_empty_directory(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out = run_json(capsys, "init")
    assert code == 0
    assert out["ok"] is True
    assert out["template"] == "baseline-highrisk"
    assert out["policy_path"] == ".gait.yaml"
    assert out["detection"] == {}
    assert out["contract"] == CONTRACT
    assert out["next_commands"][0] == "gait check --policy .gait.yaml --json"
    for absent in ("detected_signals", "generated_rules", "unknown_signals", "error"):
        assert absent not in out
    text = (tmp_path / ".gait.yaml").read_text()
    assert text.startswith("# gait init starter policy\n# repo_policy_path: .gait.yaml\n")
    assert "detected_frameworks" not in text
    policy = load_policy_file(".gait.yaml")
    assert policy.default_verdict == "block" and policy.rules


def test_init_detects_frameworks_and_suggests_rules(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _repo(tmp_path)
    code, out = run_json(capsys, "init", "--out", "conf/policy.yaml")
    assert code == 0
    assert out["policy_path"] == "conf/policy.yaml"
    assert out["detection"] == {
        "frameworks": ["langchain", "openai_agents"],
        "tool_names": [
            "delete_user",
            "helper",
            "read_file",
            "update_invoice",
            "write_note",
        ],
    }
    codes = [s["code"] for s in out["detected_signals"]]
    assert codes == [
        "framework.langchain",
        "framework.openai_agents",
        "tool.destructive",
        "tool.state_change",
        "tool.payment",
    ]
    rules = {r["id"]: r for r in out["generated_rules"]}
    assert rules["starter.block.destructive"]["match_tool_names"] == ["delete_user"]
    assert rules["starter.block.destructive"]["effect"] == "block"
    approval = rules["starter.require_approval.state_change"]
    assert approval["match_tool_names"] == ["update_invoice", "write_note"]
    assert approval["effect"] == "require_approval"
    assert "unknown_signals" not in out
    text = (tmp_path / "conf" / "policy.yaml").read_text()
    assert "# detected_frameworks: langchain, openai_agents\n" in text
    assert "#           tool_names: [delete_user]\n" in text
    # suggestions stay comments: the live rules are the template's
    assert "block-destructive-tools" not in {
        r.name for r in load_policy_file(text_path(tmp_path)).rules
    }


def text_path(tmp_path: Path) -> str:
    return str(tmp_path / "conf" / "policy.yaml")


def test_init_text_output(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    _repo(tmp_path)
    code, text, _ = run(capsys, "init", "--template", "LOW")
    assert code == 0
    assert text == (
        "init ok: policy=.gait.yaml template=baseline-lowrisk\n"
        "detected frameworks: langchain, openai_agents\n"
    )


def test_init_is_deterministic(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    _repo(tmp_path)
    run_json(capsys, "init", "--out", "a.yaml")
    run_json(capsys, "init", "--out", "b.yaml")
    assert (tmp_path / "a.yaml").read_bytes() == (tmp_path / "b.yaml").read_bytes()


def test_init_refuses_to_overwrite_without_force(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / ".gait.yaml").write_text("keep me\n")
    code, out = run_json(capsys, "init")
    assert code == 6
    assert out["error"] == "output path already exists (use --force to overwrite): .gait.yaml"
    assert out["contract"] == CONTRACT
    assert (tmp_path / ".gait.yaml").read_text() == "keep me\n"
    code, out = run_json(capsys, "init", "--force")
    assert code == 0
    assert (tmp_path / ".gait.yaml").read_text().startswith("# gait init starter policy")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--template", "nope"], "unknown template: nope"),
        (["--out", "  "], "output path must not be empty"),
        (["extra"], "unexpected positional arguments"),
    ],
)
def test_init_errors(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    code, out = run_json(capsys, "init", *argv)
    assert code == 6
    assert out["error"] == message
    assert not Path(".gait.yaml").exists()


@pytest.mark.parametrize(
    ("alias", "template"),
    [("medium", "baseline-mediumrisk"), ("baseline_high_risk", "baseline-highrisk")],
)
def test_init_template_aliases(
    capsys: pytest.CaptureFixture[str], alias: str, template: str
) -> None:
    code, out = run_json(capsys, "init", "--template", alias)
    assert (code, out["template"]) == (0, template)


def test_check_after_init(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    _repo(tmp_path)
    run_json(capsys, "init")
    code, out = run_json(capsys, "check")
    assert code == 0
    policy = load_policy_file(".gait.yaml")
    assert out["policy_path"] == ".gait.yaml"
    assert out["default_verdict"] == "block"
    assert out["rule_count"] == len(policy.rules)
    assert out["contract"] == CONTRACT
    codes = [f["code"] for f in out["findings"]]
    # the template names no detected tool, so coverage is the gap
    assert "repo.tool_inventory_uncovered" in codes or "repo.tool_inventory_name_mismatch" in codes
    assert "repo.generated_rules_available" in codes
    assert out["gap_warnings"] == [
        f["summary"] for f in out["findings"] if f["severity"] == "warning"
    ]
    assert out["summary"] == (
        f"policy ok: default_verdict=block rules={len(policy.rules)} "
        f"findings={len(out['findings'])} gap_warnings={len(out['gap_warnings'])}"
    )
    code, text, _ = run(capsys, "check")
    assert text == (
        f"check ok: policy=.gait.yaml rules={len(policy.rules)} "
        f"warnings={len(out['gap_warnings'])}\n"
    )


def test_check_a_permissive_policy_in_an_empty_repo(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "p.yaml").write_text(
        "schema_id: gait.gate.policy\nschema_version: 1.0.0\ndefault_verdict: allow\n"
    )
    code, out = run_json(capsys, "check", "--policy", "p.yaml")
    assert code == 0
    assert [f["code"] for f in out["findings"]] == [
        "policy.no_rules",
        "policy.default_allow",
        "policy.no_non_allow_rules",
        "repo.no_supported_framework_detected",
        "repo.no_high_confidence_signals",
    ]
    assert len(out["gap_warnings"]) == 3
    assert "rule_count" not in out and out["detection"] == {}


def test_check_with_matching_tool_coverage(tmp_path: Path) -> None:
    _repo(tmp_path)
    (tmp_path / "p.yaml").write_text(
        "schema_id: gait.gate.policy\nschema_version: 1.0.0\ndefault_verdict: block\n"
        "rules:\n  - name: stop-delete\n    effect: block\n    match:\n"
        "      tool_names: [delete_user]\n"
    )
    detection = detect_repo_surface(".")
    signals, generated, unknown = derive_signals(detection)
    findings = readiness_findings(
        load_policy_file("p.yaml"), detection, signals, generated, unknown
    )
    codes = [f["code"] for f in findings]
    assert "repo.tool_inventory_uncovered" not in codes
    assert "repo.tool_inventory_name_mismatch" not in codes
    assert "policy.no_non_allow_rules" not in codes


def test_check_positional_policy_and_errors(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "p.yaml").write_text("schema_id: gait.gate.policy\nschema_version: 1.0.0\n")
    code, out = run_json(capsys, "check", "--policy", "", "p.yaml")
    assert code == 0 and out["policy_path"] == "p.yaml"
    code, out = run_json(capsys, "check", "p.yaml")
    assert code == 6 and out["error"] == "unexpected positional arguments"
    code, out = run_json(capsys, "check")
    assert code == 6
    assert ".gait.yaml" in out["error"]
    assert out["policy_path"] == ".gait.yaml" and out["contract"] == CONTRACT
    (tmp_path / "bad.yaml").write_text("default_verdict: [\n")
    code, out = run_json(capsys, "check", "--policy", "bad.yaml")
    assert code == 6 and out["policy_path"] == "bad.yaml"
    code, _, err = run(capsys, "check", "--policy", "bad.yaml")
    assert code == 6 and err.startswith("check error:")


def test_action_candidates() -> None:
    names = ["_private", "MAX_ROWS", "tool.Read", "update_row", "lookup", "x" * 49 + "_write"]
    assert action_candidates(names) == ["tool.read", "update_row"]


def test_unclassified_candidates_need_manual_review() -> None:
    signals, generated, unknown = derive_signals(
        {"frameworks": [], "tool_names": ["tool.read", "tool.search"]}
    )
    assert signals == [] and generated == []
    assert unknown[0]["code"] == "tool.unclassified"
    assert unknown[0]["evidence"] == ["tool.read", "tool.search"]


def test_init_and_check_json_snapshot(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, snapshot: object
) -> None:
    _repo(tmp_path)
    outputs = {}
    for name, argv in (("init", ["init"]), ("check", ["check"])):
        code, out = run_json(capsys, *argv)
        out.pop("correlation_id")
        outputs[name] = {"exit_code": code, "output": out}
    assert outputs == snapshot
