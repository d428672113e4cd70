"""Issue 13 item 5: default artifact names never overwrite silently; .gitignore offered."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gait.trace import write_trace

from .conftest import EXAMPLES, INTENTS, run, run_json

MEDIUM = str(EXAMPLES / "base_medium_risk.yaml")
WRITE = str(INTENTS / "intent_write.json")


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_same_decision_twice_keeps_both_traces_and_audits(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, first = run_json(capsys, "gate", "eval", "--policy", MEDIUM, "--intent", WRITE)
    assert code == 4
    trace_id = first["trace_id"]
    assert first["trace_path"] == f"trace_{trace_id}.json"  # the spec's name
    assert first["approval_audit_path"] == f"approval_audit_{trace_id}.json"
    kept = (work / first["trace_path"]).read_bytes()
    code, second = run_json(capsys, "gate", "eval", "--policy", MEDIUM, "--intent", WRITE)
    assert code == 4 and second["trace_id"] == trace_id
    assert second["trace_path"] == f"trace_{trace_id}_2.json"
    assert second["approval_audit_path"] == f"approval_audit_{trace_id}_2.json"
    assert (work / first["trace_path"]).read_bytes() == kept
    code, third = run_json(capsys, "gate", "eval", "--policy", MEDIUM, "--intent", WRITE)
    assert third["trace_path"] == f"trace_{trace_id}_3.json"
    # Every file is a whole, verifiable trace.
    for out in (first, second, third):
        code, verified = run_json(capsys, "trace", "verify", out["trace_path"])
        assert code == 0 and verified["trace_id"] == trace_id


def test_explicit_trace_out_still_replaces(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for _ in range(2):
        code, out = run_json(
            capsys, "gate", "eval", "--policy", MEDIUM, "--intent", WRITE, "--trace-out", "t.json"
        )
        assert code == 4 and out["trace_path"] == "t.json"
    assert not (work / "t_2.json").exists()


def test_identical_bytes_are_not_duplicated(work: Path) -> None:
    record = {"schema_id": "x", "n": 1}
    assert write_trace("trace_a.json", record, keep_existing=True) == "trace_a.json"
    assert write_trace("trace_a.json", record, keep_existing=True) == "trace_a.json"
    assert write_trace("trace_a.json", {"n": 2}, keep_existing=True) == "trace_a_2.json"
    assert json.loads((work / "trace_a.json").read_text()) == record


def test_policy_init_offers_and_writes_a_gitignore(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, text, err = run(capsys, "policy", "init", "low", "--out", "p.yaml")
    # stdout: the original's two lines; the --gitignore hint on stderr
    assert code == 0 and "--gitignore" in err
    assert text.splitlines() == [
        "policy init ok: template=baseline-lowrisk output=p.yaml",
        "next: gait policy validate p.yaml --json | gait policy fmt p.yaml --write --json"
        " | gait doctor --json",
    ]
    assert (work / "p.yaml").stat().st_mode & 0o777 == 0o600
    assert not (work / ".gitignore").exists()
    (work / ".gitignore").write_text("node_modules/\ntrace_*.json")  # no final newline
    code, out = run_json(
        capsys, "policy", "init", "low", "--out", "p.yaml", "--force", "--gitignore"
    )
    assert code == 0 and out["gitignore_path"] == ".gitignore"
    lines = (work / ".gitignore").read_text().splitlines()
    assert lines[:2] == ["node_modules/", "trace_*.json"]
    assert "approval_audit_*.json" in lines and lines.count("trace_*.json") == 1
    before = (work / ".gitignore").read_bytes()
    run_json(capsys, "policy", "init", "low", "--out", "p.yaml", "--force", "--gitignore")
    assert (work / ".gitignore").read_bytes() == before  # idempotent
