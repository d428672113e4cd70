"""``gait report top``: the riskiest actions across runs and traces (cmd/gait/report.go)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.inproc import run_cli as _cli
from tests.scout.test_signal import _write_run


def _trace(path: Path, **fields: object) -> Path:
    record = {"schema_id": "gait.gate.trace", "trace_id": "trace_1", **fields}
    path.write_text(json.dumps(record))
    return path


def test_runs_directory_ranks_actions(tmp_path: Path) -> None:
    _write_run(tmp_path, "run_a")
    _write_run(tmp_path, "run_b", shape_change=True)
    out = tmp_path / "top.json"
    code, text = _cli("report", "top", str(tmp_path), "--limit", "3", "--out", str(out), "--json")
    payload = json.loads(text)
    report = payload["report"]
    assert code == 0 and report == json.loads(out.read_text())
    assert (payload["run_count"], payload["action_count"], payload["top_actions"]) == (2, 6, 3)
    assert report["schema_id"] == "gait.report.top_actions" and "trace_count" not in payload
    first, second, third = report["top_actions"]
    # execute (2*100) + blast 1 (10): tool.summarize of both runs, run_id order
    assert (first["rank"], first["score"], first["run_id"]) == (1, 210, "run_a")
    assert first["tool_class"] == "execute" and first["source_type"] == "runpack"
    assert (second["run_id"], second["tool_name"]) == ("run_b", "tool.summarize")
    # the failed fetch of run_b: read (100) + 10 + one reason (1)
    assert third["score"] == 111 and third["reason_codes"] == ["result_status_error"]
    assert "verdict" not in first and "reason_codes" not in first


def test_trace_scores_verdict_and_violations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    trace = _trace(
        tmp_path / "trace_1.json",
        correlation_id="cid:run_x",
        tool_name="tool.delete_customer",
        verdict="Block",
        violations=["External Fetch"],
        intent_digest="AB" * 32,
    )
    code, text = _cli("report", "top", "--traces", str(trace), "--json")
    action = json.loads(text)["report"]["top_actions"][0]
    # destructive 400 + blast 3 (customer/delete) 30 + block 15 + violation 2 + verdict code 1
    assert code == 0 and action["score"] == 448 and action["run_id"] == "run_x"
    assert action["verdict"] == "block" and action["intent_digest"] == "ab" * 32
    assert action["reason_codes"] == ["trace_verdict_block", "violation_external_fetch"]
    code, text = _cli("report", "top", "--traces", str(tmp_path))
    lines = text.splitlines()
    assert lines[0] == "report top ok: runs=1 traces=1 actions=1 top=1"
    assert lines[1] == "output: ./gait-out/report_top_actions.json"
    assert lines[2].startswith("1. score=448 class=destructive blast=3 tool=tool.delete_customer")
    assert lines[2].endswith(f"verdict=block source={trace}")
    assert (tmp_path / "gait-out" / "report_top_actions.json").is_file()


def test_errors(tmp_path: Path) -> None:
    def error(*args: str) -> str:
        code, text = _cli("report", "top", *args, "--json")
        assert code == 6
        return json.loads(text)["error"]

    assert error("--runs", "x", "--limit", "0") == "--limit must be >= 1"
    assert error() == "missing --runs and/or --traces sources"
    assert error("--runs", "nope/runpack_a.zip") == "run source not found: nope/runpack_a.zip"
    assert error("--traces", "missing.json") == "trace source not found: missing.json"
    (tmp_path / "t.txt").write_text("{}")
    assert "must be a .json file or directory" in error("--traces", str(tmp_path / "t.txt"))
    assert (
        error("--runs", str(tmp_path)) == "no runpack or trace artifacts found in provided sources"
    )
