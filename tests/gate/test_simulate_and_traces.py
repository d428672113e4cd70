"""Simulate mode (trace.md §5.7) and the signed traces gate eval writes (§3, §4)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gait.gate import GateResult
from gait.signing import verify_record
from gait.trace import build_trace_record, sign_trace, write_trace

from .conftest import CliRunner, Keys, gate, make_intent, write_json

POLICY = """
schema_id: gait.gate.policy
schema_version: 1.0.0
default_verdict: allow
rules:
  - name: deny-egress
    effect: block
    match:
      tool_names: [tool.post]
    reason_codes: [blocked_egress]
    violations: [egress]
  - name: review-writes
    effect: require_approval
    match:
      tool_names: [tool.write]
    reason_codes: [write_requires_approval]
"""


def post_intent() -> dict[str, Any]:
    return make_intent(
        "tool.post", targets=[{"kind": "url", "value": "https://x.example/", "operation": "write"}]
    )


def trace_of(result: GateResult) -> dict[str, Any]:
    return json.loads(Path(result.trace_path).read_text())


# ----------------------------------------------------------------- simulate ---


def test_simulated_block_reports_allow(keys: Keys) -> None:
    result = gate(POLICY, post_intent(), keys, simulate=True)
    assert result.verdict == "allow"
    assert result.exit_code == 0
    assert result.would_have_blocked is True
    assert result.simulated_verdict == "block"
    assert result.simulated_reason_codes == ["blocked_egress"]
    assert result.reason_codes == [
        "blocked_egress",
        "simulate_mode_non_enforcing",
        "simulated_block",
    ]
    assert result.violations == []
    payload = result.to_payload("standard")
    assert payload["simulate_mode"] is True
    assert payload["would_have_blocked"] is True
    assert payload["simulated_verdict"] == "block"
    assert payload["simulated_reason_codes"] == ["blocked_egress"]
    assert "violations" not in payload


def test_simulated_trace_records_allow(keys: Keys) -> None:
    result = gate(POLICY, post_intent(), keys, simulate=True)
    trace = trace_of(result)
    assert trace["verdict"] == "allow"
    assert "violations" not in trace
    assert trace["trace_id"] == result.trace_id


def test_simulated_require_approval(keys: Keys) -> None:
    result = gate(POLICY, make_intent(), keys, simulate=True)
    assert result.verdict == "allow"
    assert result.simulated_verdict == "require_approval"
    assert "simulated_require_approval" in result.reason_codes
    assert "approval_token_missing" in result.simulated_reason_codes
    assert result.violations == []


def test_simulated_allow_stays_allow(keys: Keys) -> None:
    intent = make_intent(
        "tool.read", targets=[{"kind": "path", "value": "/a", "operation": "read"}]
    )
    result = gate(POLICY, intent, keys, simulate=True)
    assert result.verdict == "allow"
    assert result.would_have_blocked is False
    assert result.simulated_verdict == "allow"
    assert result.reason_codes == ["default_allow", "simulate_mode_non_enforcing"]
    assert "would_have_blocked" not in result.to_payload("standard")


def test_simulate_cli_exit_0(cli: CliRunner) -> None:
    Path("policy.yaml").write_text(POLICY)
    write_json("intent.json", post_intent())
    args = ["gate", "eval", "--policy", "policy.yaml", "--intent", "intent.json", "--json"]
    code, out = cli(*args)
    assert (code, out["verdict"]) == (3, "block")
    code, out = cli(*args, "--simulate", "--trace-out", "sim.json")
    assert code == 0
    assert out["verdict"] == "allow"
    assert out["would_have_blocked"] is True
    assert out["simulated_verdict"] == "block"
    assert "simulated_block" in out["reason_codes"]
    assert json.loads(Path("sim.json").read_text())["verdict"] == "allow"


# ------------------------------------------------------------------ traces ---


def test_gate_eval_trace_verifies_with_public_key(cli: CliRunner, keys: Keys) -> None:
    Path("policy.yaml").write_text(POLICY)
    write_json("intent.json", post_intent())
    code, out = cli(
        "gate", "eval", "--policy", "policy.yaml", "--intent", "intent.json",
        "--key-mode", "prod", "--private-key", keys.signer.private,
        "--trace-out", "traces/t.json", "--json",
    )  # fmt: skip
    assert code == 3
    assert out["trace_path"] == "traces/t.json"
    code, ver = cli(
        "trace", "verify", "traces/t.json", "--public-key", keys.signer.public, "--json"
    )
    assert code == 0, ver
    assert ver["signature_status"] == "verified"
    assert ver["verdict"] == "block"
    assert ver["trace_id"] == out["trace_id"]


def test_gate_eval_trace_fails_with_another_key(cli: CliRunner, keys: Keys) -> None:
    Path("policy.yaml").write_text(POLICY)
    write_json("intent.json", post_intent())
    code, _ = cli(
        "gate", "eval", "--policy", "policy.yaml", "--intent", "intent.json",
        "--key-mode", "prod", "--private-key", keys.signer.private, "--trace-out", "t.json",
    )  # fmt: skip
    assert code == 3
    code, ver = cli("trace", "verify", "t.json", "--public-key", keys.other.public, "--json")
    assert code == 2
    assert ver["signature_status"] == "failed"


def test_gate_trace_fields(keys: Keys) -> None:
    result = gate(POLICY, post_intent(), keys, correlation_id="c" * 24)
    trace = trace_of(result)
    assert trace["schema_id"] == "gait.gate.trace"
    assert trace["created_at"] == "2026-02-18T00:00:00Z"
    assert trace["tool_name"] == "tool.post"
    assert trace["intent_digest"] == result.decision.intent_digest
    assert trace["policy_digest"] == result.decision.policy_digest
    assert trace["policy_id"] == "gait.gate.policy"
    assert trace["violations"] == ["egress"]
    assert trace["correlation_id"] == "c" * 24
    assert trace["signature"]["key_id"] == keys.signer.pair.key_id
    assert "reason_codes" not in trace
    assert result.trace_path == f"trace_{result.trace_id}.json"
    verify_record(trace, keys.signer.pair)


def test_every_verdict_gets_a_verifiable_trace(keys: Keys) -> None:
    read = make_intent("tool.read", targets=[{"kind": "path", "value": "/a", "operation": "read"}])
    for intent, verdict in ((post_intent(), "block"), (make_intent(), "require_approval"),
                            (read, "allow")):  # fmt: skip
        result = gate(POLICY, intent, keys)
        assert result.verdict == verdict
        trace = trace_of(result)
        assert trace["verdict"] == verdict
        verify_record(trace, keys.signer.pair)


def test_same_decision_same_content(keys: Keys) -> None:
    """Two evaluations of one decision differ only in emission time, event id and latency."""
    volatile = {"observed_at", "event_id", "latency_ms", "signature"}
    first = gate(POLICY, post_intent(), keys, write_trace=False).trace
    second = gate(POLICY, post_intent(), keys, write_trace=False).trace
    assert first is not None and second is not None
    strip = lambda t: {k: v for k, v in t.items() if k not in volatile}  # noqa: E731
    assert strip(first) == strip(second)


def test_same_decision_signed_twice_gives_same_bytes(keys: Keys, tmp_path: Path) -> None:
    trace = gate(POLICY, post_intent(), keys, write_trace=False).trace
    assert trace is not None

    def sign_once(name: str) -> bytes:
        record = build_trace_record(
            policy_digest=trace["policy_digest"],
            intent_digest=trace["intent_digest"],
            args_digest=trace["args_digest"],
            tool_name=trace["tool_name"],
            verdict=trace["verdict"],
            created_at=trace["created_at"],
            observed_at="2026-11-24T18:33:26.576588546Z",
            policy_id=trace["policy_id"],
            policy_version=trace["policy_version"],
            violations=trace["violations"],
            latency_ms=0.25,
        )
        return Path(write_trace(tmp_path / name, sign_trace(record, keys.signer.pair))).read_bytes()

    one, two = sign_once("a.json"), sign_once("b.json")
    assert one == two
    doc = json.loads(one)
    assert doc["observed_at"] == "2026-11-24T18:33:26.576588546Z"
    assert doc["signature"]["sig"] == json.loads(two)["signature"]["sig"]
    assert doc["verdict"] == "block"
