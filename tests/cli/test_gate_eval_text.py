"""gate eval text lines in the original's order and wording (cmd/gait/gate.go writeGateEvalOutput)."""

from gait.cli.gate_eval import gate_eval_text


def test_every_optional_line_in_order() -> None:
    payload = {
        "verdict": "allow",
        "trace_path": "t.json",
        "simulate_mode": True,
        "would_have_blocked": True,
        "simulated_verdict": "require_approval",
        "reason_codes": ["a", "b"],
        "violations": ["v"],
        "required_approvals": 2,
        "valid_approvals": 1,
        "approval_audit_path": "aa.json",
        "delegation_required": True,
        "valid_delegations": 0,
        "delegation_audit_path": "da.json",
        "credential_ref": "stub:x",
        "credential_issuer": "stub",
        "credential_evidence_path": "ce.json",
        "matched_rule": "r1",
        "warnings": ["w1", "w2"],
    }
    assert gate_eval_text(payload) == [
        "gate eval: verdict=allow",
        "trace: t.json",
        "simulate: would_have_blocked=true simulated_verdict=require_approval",
        "reasons: a,b",
        "violations: v",
        "approvals: 1/2",
        "approval audit: aa.json",
        "delegations: 0",
        "delegation audit: da.json",
        "credential: stub:x (stub)",
        "credential evidence: ce.json",
        "warning: w1",
        "warning: w2",
    ]


def test_minimal_payload_has_verdict_and_trace_only() -> None:
    payload = {"verdict": "allow", "trace_path": "trace_x.json", "required_approvals": 0}
    assert gate_eval_text(payload) == ["gate eval: verdict=allow", "trace: trace_x.json"]
