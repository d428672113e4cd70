"""``evaluate_call``: one proxied decision, its trace, runpack and exports (serve_sdk.md §2)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from gait.errors import InvalidInput
from gait.gate import Gate, GateOptions
from gait.intent import intent_digest
from gait.mcp.decode import FALLBACK_CONTEXT_WARNING, decode_tool_call
from gait.mcp.proxy import (
    default_trace_name,
    evaluate_call,
    normalize_run_id,
    resolve_run_id,
)
from gait.policy.compiler import compile_policy
from gait.runpack import verify_runpack
from gait.signing import KeyPair
from gait.trace import read_trace, verify_trace

POLICY = """\
schema_id: gait.gate.policy
schema_version: 1.0.0
default_verdict: block
rules:
  - name: block-destructive
    priority: 10
    effect: block
    match:
      endpoint_classes: [fs.delete, proc.exec]
    reason_codes: [destructive_blocked]
    violations: [destructive_operation]
  - name: review-writes
    priority: 30
    effect: require_approval
    match:
      endpoint_classes: [fs.write]
    reason_codes: [write_requires_approval]
  - name: dry-search
    priority: 40
    effect: dry_run
    match:
      tool_names: [tool.search]
    reason_codes: [search_dry_run]
  - name: allow-reads
    priority: 50
    effect: allow
    match:
      tool_names: [tool.read]
    reason_codes: [read_allowed]
"""

CONTEXT = {"identity": "alice", "workspace": "/repo", "session_id": "sess-1", "risk_class": "low"}
NOW_NS = 1_767_225_600_123_456_789  # 2026-01-01T00:00:00.123456789Z


def _call(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "args": {"path": "/repo/a.txt"}, "context": CONTEXT, **extra}


CALLS = {
    "allow": _call("tool.read"),
    "dry_run": _call("tool.search"),
    "require_approval": _call(
        "tool.write", targets=[{"kind": "path", "value": "/repo/a.txt", "operation": "write"}]
    ),
    "block": _call(
        "tool.delete", targets=[{"kind": "path", "value": "/repo/a.txt", "operation": "delete"}]
    ),
}


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def gate(fixed_key: KeyPair) -> Gate:
    return Gate(compile_policy(POLICY), GateOptions(), signing_key=fixed_key)


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("", ""),
        ("   ", ""),
        ("!!!", ""),
        ("abc", "run_abc"),
        ("run_abc", "run_abc"),
        ("Run X!", "run_Run_X"),
        (" a/b..c ", "run_a_b_c"),
        ("__x__", "run_x"),
        ("run-1", "run_run-1"),
    ],
)
def test_normalize_run_id(raw: str, normalized: str) -> None:
    assert normalize_run_id(raw) == normalized


def test_run_id_precedence() -> None:
    call = decode_tool_call({**CALLS["allow"], "context": {**CONTEXT, "run_id": "from call"}})
    assert resolve_run_id("explicit", call) == "run_explicit"
    assert resolve_run_id("", call) == "run_from_call"
    bare = decode_tool_call(CALLS["allow"])
    assert resolve_run_id(" ", bare) == "run_mcp_" + intent_digest(bare.intent)[:12]


def test_default_trace_name() -> None:
    assert default_trace_name("", NOW_NS) == "trace__20260101T000000.123456789.json"
    assert default_trace_name("My Run", 5) == "trace_run_My_Run_19700101T000000.000000005.json"


@pytest.mark.parametrize(
    ("verdict", "exit_code"),
    [("allow", 0), ("dry_run", 0), ("require_approval", 4), ("block", 3)],
)
def test_verdicts_and_exit_codes(
    gate: Gate, fixed_key: KeyPair, tmp_path: Path, verdict: str, exit_code: int
) -> None:
    call = decode_tool_call(CALLS[verdict])
    result = evaluate_call(gate, call, now_ns=NOW_NS)
    payload = result.payload()
    assert (result.verdict, result.exit_code) == (verdict, exit_code)
    assert payload["ok"] is True and payload["executed"] is False
    assert payload["verdict"] == verdict
    assert payload["adapter"] == "mcp"
    assert payload["tool_name"] == call.intent.tool_name
    assert payload["intent_digest"] == intent_digest(call.intent)
    assert payload["policy_digest"] == gate.compiled.policy_digest
    assert payload["run_id"] == "run_mcp_" + payload["intent_digest"][:12]
    # The default trace name uses the (empty) explicit run id and the clock.
    assert payload["trace_path"] == "trace__20260101T000000.123456789.json"
    trace = read_trace(tmp_path / payload["trace_path"])
    assert verify_trace(trace, fixed_key)["ok"] is True
    assert (trace["verdict"], trace["trace_id"]) == (verdict, payload["trace_id"])


def test_same_decision_as_gate_decide(gate: Gate) -> None:
    for body in CALLS.values():
        call = decode_tool_call(body)
        direct = gate.decide(call.intent, write_trace=False)
        proxied = evaluate_call(gate, call, write_trace=False)
        payload = proxied.payload()
        assert payload["verdict"] == direct.verdict
        assert payload.get("reason_codes", []) == direct.reason_codes
        assert payload.get("violations", []) == direct.violations
        assert payload.get("matched_rule", "") == direct.decision.matched_rule
        assert payload["intent_digest"] == direct.decision.intent_digest
        assert payload["trace_id"] == direct.trace_id


def test_payload_fields_and_omissions(gate: Gate) -> None:
    call = decode_tool_call(
        {**CALLS["block"], "context": {**CONTEXT, "job_id": "job-1", "phase": "apply"}}
    )
    payload = evaluate_call(gate, call, run_id="r 1", trace_path="out/t.json").payload()
    assert payload["run_id"] == "run_r_1"
    assert payload["trace_path"] == "out/t.json"
    assert payload["reason_codes"] == ["destructive_apply_requires_approval", "destructive_blocked"]
    assert payload["violations"] == ["destructive_operation"]
    assert payload["matched_rule"] == "block-destructive"
    assert payload["policy_id"] == "gait.gate.policy"
    assert payload["policy_version"] == "1.0.0"
    assert (payload["job_id"], payload["phase"], payload["session_id"]) == (
        "job-1",
        "apply",
        "sess-1",
    )
    for absent in ("runpack_path", "log_export", "otel_export", "matched_rule_ids", "warnings"):
        assert absent not in payload
    assert Path("out/t.json").is_file()


def test_fallback_context_warning_is_reported(gate: Gate) -> None:
    call = decode_tool_call({"name": "tool.read"})
    assert evaluate_call(gate, call).payload()["warnings"] == [FALLBACK_CONTEXT_WARNING]


def test_dev_key_warning_is_reported() -> None:
    gate = Gate(compile_policy(POLICY), GateOptions(key_mode="dev"))
    warnings = evaluate_call(gate, decode_tool_call(CALLS["allow"])).payload()["warnings"]
    assert any(w.startswith("dev mode: ") for w in warnings)


def test_no_trace_written_when_disabled(gate: Gate, tmp_path: Path) -> None:
    payload = evaluate_call(gate, decode_tool_call(CALLS["allow"]), write_trace=False).payload()
    assert "trace_path" not in payload
    assert payload["trace_id"]
    assert not list(tmp_path.glob("trace_*.json"))


def test_runpack_records_one_intent(gate: Gate, tmp_path: Path) -> None:
    call = decode_tool_call(CALLS["block"])
    result = evaluate_call(gate, call, run_id="rp", runpack_out="packs/rp.zip")
    assert result.runpack_path == "packs/rp.zip"
    report = verify_runpack(tmp_path / "packs/rp.zip")
    assert report.ok and report.run_id == "run_rp"
    with zipfile.ZipFile(tmp_path / "packs/rp.zip") as zf:
        run = json.loads(zf.read("run.json"))
        intents = [json.loads(x) for x in zf.read("intents.jsonl").splitlines()]
        results = [json.loads(x) for x in zf.read("results.jsonl").splitlines()]
        refs = json.loads(zf.read("refs.json"))
        manifest = json.loads(zf.read("manifest.json"))
    assert [e["event"] for e in run["timeline"]] == ["proxy_eval_start", "proxy_eval_finish"]
    assert [(i["intent_id"], i["tool_name"], i["args"]) for i in intents] == [
        ("intent_1", "tool.delete", {"path": "/repo/a.txt"})
    ]
    (res,) = results
    assert res["status"] == "error"
    assert res["result"] == {
        "verdict": "block",
        "reason_codes": ["destructive_apply_requires_approval", "destructive_blocked"],
        "violations": ["destructive_operation"],
        "trace_id": result.gate_result.trace_id,
    }
    assert refs["receipts"] == []
    assert manifest["capture_mode"] == "reference"


def test_runpack_is_deterministic_and_ok_for_allow(gate: Gate, tmp_path: Path) -> None:
    call = decode_tool_call(CALLS["allow"])
    evaluate_call(gate, call, run_id="same", runpack_out="a.zip", now_ns=1)
    evaluate_call(gate, call, run_id="same", runpack_out="b.zip", now_ns=2)
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "a.zip") as zf:
        assert json.loads(zf.read("results.jsonl"))["status"] == "ok"


@pytest.mark.parametrize("where", ["runpack_out", "export_log_out", "export_otel_out"])
def test_traversing_output_paths_are_rejected_before_deciding(
    gate: Gate, tmp_path: Path, where: str
) -> None:
    with pytest.raises(InvalidInput, match="must not traverse parent directories"):
        evaluate_call(gate, decode_tool_call(CALLS["allow"]), **{where: "a/../../x.out"})
    assert not list(tmp_path.glob("trace_*.json"))


def test_exports_append_one_line_per_decision(gate: Gate, tmp_path: Path) -> None:
    for verdict in ("allow", "block"):
        evaluate_call(
            gate,
            decode_tool_call(CALLS[verdict]),
            run_id="exp",
            export_log_out="exports/log.jsonl",
            export_otel_out="exports/otel.jsonl",
        )
    log_lines = (tmp_path / "exports/log.jsonl").read_text().splitlines()
    otel_lines = (tmp_path / "exports/otel.jsonl").read_text().splitlines()
    assert len(log_lines) == len(otel_lines) == 2
    first, second = (json.loads(line) for line in log_lines)
    assert list(first) == sorted(first)  # sorted keys, compact
    assert " " not in log_lines[0].split('"tool_name"')[0].replace("trace_", "")
    assert first["verdict"] == "allow" and second["verdict"] == "block"
    assert first["run_id"] == "run_exp"
    assert first["created_at"] == "1980-01-01T00:00:00Z"
    assert first["session_id"] == "sess-1"
    assert "destructive_blocked" in second["reason_codes"]
    assert {"producer_version", "trace_id", "policy_digest", "intent_digest"} <= set(first)
    otel = json.loads(otel_lines[1])
    assert otel["body"] == "gait.mcp.proxy.decision"
    assert otel["severity_text"] == "INFO"
    assert otel["time_unix_nano"] == 315_532_800 * 10**9
    assert otel["trace_id"] == second["trace_id"]
    attrs = otel["attributes"]
    assert attrs["gait.verdict"] == "block"
    assert attrs["gait.reason_codes"] == second["reason_codes"]
    assert attrs["gait.run_id"] == "run_exp"
    assert attrs["gait.delegation_depth"] == 0


def test_export_time_follows_call_created_at(gate: Gate, tmp_path: Path) -> None:
    call = decode_tool_call({**CALLS["allow"], "created_at": "2026-02-05T00:00:00.5Z"})
    evaluate_call(gate, call, export_otel_out="o.jsonl", export_log_out="l.jsonl")
    otel = json.loads((tmp_path / "o.jsonl").read_text())
    log = json.loads((tmp_path / "l.jsonl").read_text())
    assert otel["time_unix_nano"] == 1_770_249_600_500_000_000
    assert log["created_at"] == "2026-02-05T00:00:00.5Z"


def test_context_envelope_that_does_not_verify_is_refused_not_ignored(
    gate: Gate, tmp_path: Path
) -> None:
    call = decode_tool_call(CALLS["allow"])
    with pytest.raises(InvalidInput, match="read context envelope"):
        evaluate_call(gate, call, context_envelope="env.json")
    in_call = decode_tool_call(
        {**CALLS["allow"], "context": {**CONTEXT, "context_envelope_path": "env.json"}}
    )
    with pytest.raises(InvalidInput, match="read context envelope"):
        evaluate_call(gate, in_call)
    assert not list(tmp_path.glob("trace_*.json"))


def test_job_id_without_a_job_store_is_refused_not_skipped(gate: Gate) -> None:
    call = decode_tool_call({**CALLS["allow"], "context": {**CONTEXT, "job_id": "job-9"}})
    with pytest.raises(InvalidInput, match="emergency-stop"):
        evaluate_call(gate, call, job_root="./gait-out/jobs")
    # Without a job root (library callers that do not ask for the check) it decides.
    assert evaluate_call(gate, call).verdict == "allow"


def _job_status(statuses: dict[str, str]) -> Any:
    def status(job_id: str) -> str:
        if job_id not in statuses:
            raise InvalidInput(f"job not found: {job_id}")
        return statuses[job_id]

    return status


@pytest.mark.parametrize(
    ("job", "verdict", "reason", "warning"),
    [
        ("running", "allow", "", ""),
        ("stopped", "block", "emergency_stop_preempted", ""),
        ("ghost", "block", "emergency_stop_state_unavailable", "job_status_unavailable=job not found: ghost"),
    ],
)  # fmt: skip
def test_emergency_stop(
    gate: Gate, fixed_key: KeyPair, job: str, verdict: str, reason: str, warning: str
) -> None:
    status = _job_status({"running": "running", "stopped": "stopped"})
    call = decode_tool_call({**CALLS["allow"], "context": {**CONTEXT, "job_id": job}})
    result = evaluate_call(gate, call, job_root="jobs", job_status=status, trace_path="t.json")
    payload = result.payload()
    assert (payload["verdict"], result.exit_code) == (verdict, 3 if reason else 0)
    trace = read_trace("t.json")
    assert verify_trace(trace, fixed_key)["ok"] is True
    assert (trace["verdict"], trace["trace_id"]) == (verdict, payload["trace_id"])
    if reason:
        assert reason in payload["reason_codes"]
        assert payload["violations"] == ["emergency_stop_active"]
        assert trace["violations"] == ["emergency_stop_active"]
    else:
        assert "violations" not in payload
    assert (warning in payload.get("warnings", [])) if warning else "warnings" not in payload


def test_emergency_stop_also_blocks_a_call_the_policy_would_block(gate: Gate) -> None:
    call = decode_tool_call({**CALLS["block"], "context": {**CONTEXT, "job_id": "j"}})
    result = evaluate_call(gate, call, job_root="jobs", job_status=lambda _: "stopped")
    assert result.verdict == "block"
    assert {"destructive_blocked", "emergency_stop_preempted"} <= set(
        result.payload()["reason_codes"]
    )
    assert set(result.payload()["violations"]) == {"destructive_operation", "emergency_stop_active"}
