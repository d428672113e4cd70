"""scout signal (scout_packs.md §1): fingerprints, families, severity, drivers, drift."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gait.canonical import digest
from gait.errors import InvalidInput
from gait.runpack.demo import build_demo_runpack
from gait.runpack.record import record_runpack, write_runpack
from gait.scout.signal import (
    build_signal_report,
    classify_tool,
    drivers_for,
    regress_reasons,
    trace_reasons,
)
from tests.inproc import run_cli as _cli

DEMO = build_demo_runpack("0.1.0")

DRIFT_POLICY = """\
schema_id: gait.gate.policy
schema_version: 1.0.0
default_verdict: allow
rules:
  - name: block-fetch-after-change
    priority: 10
    effect: block
    match:
      tool_names: [tool.fetch]
    reason_codes: [fetch_blocked_by_policy]
    violations: [external_fetch]
"""


def _records(run_id: str, *, shape_change: bool = False) -> dict:
    """The demo records under a new run_id; optionally with a changed result shape."""
    members = DEMO.members
    run = json.loads(members["run.json"])
    run["run_id"] = run_id
    intents = [json.loads(line) for line in members["intents.jsonl"].splitlines()]
    results = [json.loads(line) for line in members["results.jsonl"].splitlines()]
    refs = json.loads(members["refs.json"])
    for record in (*intents, *results, refs):
        record["run_id"] = run_id
    if shape_change:
        changed = {"items": [{"url": "https://example.local/demo"}], "error": "schema v2"}
        results[1].update(status="error", result=changed, result_digest=digest(changed))
    return {"run": run, "intents": intents, "results": results, "refs": refs}


def _write_run(tmp: Path, run_id: str, **kw: bool) -> Path:
    r = _records(run_id, **kw)
    built = record_runpack(
        r["run"], r["intents"], r["results"], r["refs"], producer_version="0.1.0"
    )
    path = tmp / f"runpack_{run_id}.zip"
    write_runpack(path, built)
    return path


def _policy_trace(tmp: Path, run_id: str) -> Path:
    """A real signed gate trace: the changed policy blocks the run's tool.fetch call."""
    from gait.gate import Gate, GateOptions
    from gait.intent.normalize import normalize_intent

    policy = tmp / "policy_v2.yaml"
    policy.write_text(DRIFT_POLICY)
    gate = Gate.from_policy_file(str(policy), GateOptions(state=str(tmp / "state.json")))
    intent = normalize_intent(
        {
            "schema_id": "gait.gate.intent_request",
            "schema_version": "1.0.0",
            "created_at": "2026-02-05T00:00:01Z",
            "tool_name": "tool.fetch",
            "args": {"url": "https://example.local/demo"},
            "targets": [
                {"kind": "url", "value": "https://example.local/demo", "operation": "read"}
            ],
            "context": {"identity": "demo.user", "workspace": "/tmp/demo", "risk_class": "low"},
        }
    )
    out = tmp / f"trace_{run_id}.json"
    result = gate.decide(intent, trace_out=str(out), correlation_id=f"corr-{run_id}")
    assert result.verdict == "block"
    return out


def test_tool_classes() -> None:
    assert classify_tool("tool.delete_user") == "destructive"
    assert classify_tool("db.update") == "write"
    assert classify_tool("tool.search") == "read"
    assert classify_tool("tool.summarize") == "execute"
    # first group wins: "remove" before "list"
    assert classify_tool("list.remove") == "destructive"


def test_driver_rules() -> None:
    assert drivers_for([]) == ["configuration_change"]
    assert drivers_for(["violation_egress", "trace_verdict_block"]) == ["policy_change"]
    assert drivers_for(["unexpected_diff"]) == ["tool_result_shape_change"]
    assert drivers_for(["receipt_missing"]) == ["reference_set_change"]
    assert drivers_for(["timeout_x", "result_status_error"]) == [
        "configuration_change",
        "tool_result_shape_change",
    ]


def test_trace_run_id_and_reasons() -> None:
    run_id, reasons = trace_reasons(
        {"correlation_id": "x-run_abc-1 y", "verdict": "Require Approval", "violations": ["A b"]}
    )
    assert run_id == "run_abc-1"
    assert reasons == ["trace_verdict_require_approval", "violation_a_b"]
    assert trace_reasons({"trace_id": "abc", "verdict": "block"})[0] == ""


def test_regress_reasons_by_run() -> None:
    result = {
        "graders": [
            {
                "name": "fx/diff",
                "status": "fail",
                "reason_codes": ["unexpected_diff"],
                "details": {"run_id": "run_x"},
            },
            {"name": "run_y/trajectory", "status": "FAIL", "reason_codes": [], "details": {}},
            {"name": "fx/schema_validation", "status": "PASS", "reason_codes": ["z"]},
        ]
    }
    assert regress_reasons(result) == {"run_x": ["unexpected_diff"], "run_y": ["regress_failure"]}


def test_demo_worked_example(tmp_path: Path) -> None:
    path = tmp_path / "runpack_run_demo.zip"
    path.write_bytes(DEMO.zip_bytes)
    report = build_signal_report([str(path)], producer_version="0.1.0")
    fp = report["fingerprints"][0]
    assert fp["tool_classes"] == ["execute", "read"]
    assert fp["target_systems"] == ["demo:tool_fetch", "demo:tool_search", "demo:tool_summarize"]
    assert fp["action_sequence"] == ["tool.search", "tool.fetch", "tool.summarize"]
    assert fp["reason_code_vector"] == [] and "trace_count" not in fp
    family = report["families"][0]
    assert family["severity_score"] == 76 and family["severity_level"] == "medium"
    assert family["drivers"] == ["configuration_change"] and "top_failure_reason" not in family
    assert family["family_id"] == "fam_" + fp["fingerprint"][:12]
    assert report["top_issues"][0]["rank"] == 1


def test_identical_runs_form_one_family(tmp_path: Path) -> None:
    a = _write_run(tmp_path, "run_a")
    b = _write_run(tmp_path, "run_b")
    report = build_signal_report([str(b), str(a), str(a)])
    assert report["run_count"] == 2 and report["family_count"] == 1
    family = report["families"][0]
    assert family["run_ids"] == ["run_a", "run_b"] and family["canonical_run_id"] == "run_a"
    assert family["severity_score"] == 77


def test_drifted_copies_name_the_right_driver(tmp_path: Path) -> None:
    demo = tmp_path / "runpack_run_demo.zip"
    demo.write_bytes(DEMO.zip_bytes)
    policy_run = _write_run(tmp_path, "run_policy_drift")
    shape_run = _write_run(tmp_path, "run_shape_drift", shape_change=True)
    trace = _policy_trace(tmp_path, "run_policy_drift")
    report = build_signal_report(
        [str(demo), str(policy_run), str(shape_run)], trace_paths=[str(trace)]
    )
    assert report["family_count"] == 3
    by_run = {f["canonical_run_id"]: f for f in report["families"]}
    assert by_run["run_demo"]["drivers"] == ["configuration_change"]
    assert by_run["run_policy_drift"]["drivers"] == ["policy_change"]
    assert by_run["run_policy_drift"]["top_failure_reason"] == "trace_verdict_block"
    assert by_run["run_policy_drift"]["suggestions"][0]["kind"] == "policy_fixture"
    assert by_run["run_shape_drift"]["drivers"] == ["tool_result_shape_change"]
    assert by_run["run_shape_drift"]["top_failure_reason"] == "result_status_error"
    fps = {f["run_id"]: f for f in report["fingerprints"]}
    assert fps["run_policy_drift"]["trace_count"] == 1
    assert fps["run_policy_drift"]["reason_code_vector"] == [
        "trace_verdict_block",
        "violation_external_fetch",
    ]
    # No reason names policy/approval/blocked/credential, so no posture: 2*30 + 15 + 2 + 1.
    assert by_run["run_policy_drift"]["severity_score"] == 78
    assert by_run["run_shape_drift"]["severity_score"] == 77
    assert report["top_issues"][0]["canonical_run_id"] == "run_policy_drift"


def test_report_is_byte_reproducible(tmp_path: Path) -> None:
    demo = tmp_path / "runpack_run_demo.zip"
    demo.write_bytes(DEMO.zip_bytes)
    a = tmp_path / "a.json"
    b = tmp_path / "b.json"
    assert _cli("scout", "signal", str(demo), "--out", str(a))[0] == 0
    assert _cli("scout", "signal", "--runs", str(demo), "--out", str(b))[0] == 0
    assert a.read_bytes() == b.read_bytes()
    assert json.loads(a.read_bytes())["created_at"] == "1980-01-01T00:00:00Z"


def test_no_runs_is_exit_6() -> None:
    code, out = _cli("scout", "signal", "--json")
    assert code == 6
    assert json.loads(out)["error"] == "missing required --runs <csv> or positional run sources"
    with pytest.raises(InvalidInput):
        build_signal_report([])


def test_damaged_runpack_is_exit_6(tmp_path: Path) -> None:
    path = tmp_path / "runpack_run_bad.zip"
    data = bytearray(DEMO.zip_bytes)
    data[100] ^= 0xFF
    path.write_bytes(bytes(data))
    code, out = _cli("scout", "signal", str(path), "--out", str(tmp_path / "r.json"), "--json")
    assert code == 6 and "read runpack" in json.loads(out)["error"]


def test_cli_json_and_text(tmp_path: Path) -> None:
    demo = tmp_path / "runpack_run_demo.zip"
    demo.write_bytes(DEMO.zip_bytes)
    out = tmp_path / "r.json"
    code, text = _cli("scout", "signal", str(demo), "--out", str(out), "--json")
    payload = json.loads(text)
    assert code == 0 and payload["top_issues"] == 1 and payload["family_count"] == 1
    assert payload["report"] == json.loads(out.read_text())
    code, text = _cli("scout", "signal", str(demo), "--out", str(out))
    lines = text.splitlines()
    assert lines[0] == "scout signal ok: runs=1 families=1 top_issues=1"
    assert lines[2].startswith("top_issue: family=fam_") and "severity=medium score=76" in lines[2]
