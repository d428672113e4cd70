"""Approval consumption in ``run_gate`` / ``gate eval`` (trace.md §5.3, §5.9).

The policy needs two approvals; every test hands ``run_gate`` one good token
from alice plus the token under test, so a bad token is the only thing
standing between the call and ``allow``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gait.gate import GateResult
from gait.gate.tokens import mint_approval
from gait.intent import Intent
from gait.policy.compiler import CompiledPolicy
from gait.signing import KeyPair, now_rfc3339

from .conftest import CliRunner, Keys, compile_text, gate, make_intent, norm, write_json

POLICY = """
schema_id: gait.gate.policy
schema_version: 1.0.0
default_verdict: block
rules:
  - name: review-writes
    effect: require_approval
    match:
      tool_names: [tool.write]
    reason_codes: [write_requires_approval]
    min_approvals: 2
"""
HOUR = 3600 * 1_000_000_000


@pytest.fixture
def compiled() -> CompiledPolicy:
    return compile_text(POLICY)


@pytest.fixture
def intent() -> Intent:
    return norm(make_intent())


def digests(compiled: CompiledPolicy, intent: Intent, keys: Keys) -> tuple[str, str]:
    probe = gate(compiled, intent, keys, write_trace=False)
    return probe.decision.intent_digest, probe.decision.policy_digest


def token_file(
    name: str,
    key: KeyPair,
    intent_digest: str,
    policy_digest: str,
    *,
    approver: str,
    reason_code: str = "CHG-1",
    ttl_nanos: int = HOUR,
    now: str | None = None,
) -> str:
    token = mint_approval(
        key,
        intent_digest=intent_digest,
        policy_digest=policy_digest,
        approver=approver,
        reason_code=reason_code,
        scope=["tool:tool.write"],
        ttl_nanos=ttl_nanos,
        now=now,
    )
    return write_json(Path(f"{name}.json"), token)


def run(
    compiled: CompiledPolicy, intent: Intent, keys: Keys, tokens: list[str], **kw: Any
) -> GateResult:
    return gate(
        compiled,
        intent,
        keys,
        approval_tokens=tokens,
        approval_public_key=keys.approver.public,
        **kw,
    )


@pytest.fixture
def alice(compiled: CompiledPolicy, intent: Intent, keys: Keys) -> str:
    return token_file(
        "alice", keys.approver.pair, *digests(compiled, intent, keys), approver="alice"
    )


def assert_not_granted(result: GateResult, code: str | None) -> None:
    assert result.verdict == "require_approval"
    assert result.exit_code == 4
    assert "approval_granted" not in result.reason_codes
    assert "approval_not_granted" in result.violations
    if code is not None:
        assert code in result.reason_codes
    trace = result.trace
    assert trace is not None and trace["verdict"] == "require_approval"
    assert "approval_token_ref" not in trace


def test_no_tokens_means_approval_token_missing(
    compiled: CompiledPolicy, intent: Intent, keys: Keys
) -> None:
    result = run(compiled, intent, keys, [])
    assert_not_granted(result, "approval_token_missing")
    assert result.reason_codes == ["approval_token_missing", "write_requires_approval"]
    assert result.outputs["required_approvals"] == 2


def test_one_valid_token_is_not_enough(
    compiled: CompiledPolicy, intent: Intent, keys: Keys, alice: str
) -> None:
    result = run(compiled, intent, keys, [alice])
    assert_not_granted(result, "approval_chain_insufficient")
    assert result.outputs["valid_approvals"] == 1


def test_expired_token_never_allows(
    compiled: CompiledPolicy, intent: Intent, keys: Keys, alice: str
) -> None:
    bob = token_file(
        "bob",
        keys.approver.pair,
        *digests(compiled, intent, keys),
        approver="bob",
        ttl_nanos=1_000_000_000,
        now="2020-01-01T00:00:00Z",
    )
    result = run(compiled, intent, keys, [alice, bob])
    assert_not_granted(result, "approval_token_expired")
    assert "approval_chain_insufficient" in result.reason_codes


def test_token_replayed_for_another_intent_never_allows(
    compiled: CompiledPolicy, intent: Intent, keys: Keys, alice: str
) -> None:
    other = norm(
        make_intent(targets=[{"kind": "path", "value": "/etc/passwd", "operation": "write"}])
    )
    other_digest, policy_digest = digests(compiled, other, keys)
    assert other_digest != digests(compiled, intent, keys)[0]
    bob = token_file("bob", keys.approver.pair, other_digest, policy_digest, approver="bob")
    result = run(compiled, intent, keys, [alice, bob])
    assert_not_granted(result, "approval_token_intent_mismatch")


def test_token_for_another_policy_never_allows(
    compiled: CompiledPolicy, intent: Intent, keys: Keys, alice: str
) -> None:
    intent_digest, _ = digests(compiled, intent, keys)
    bob = token_file("bob", keys.approver.pair, intent_digest, "f" * 64, approver="bob")
    result = run(compiled, intent, keys, [alice, bob])
    assert_not_granted(result, "approval_token_policy_mismatch")


def test_wrong_key_token_never_allows(
    compiled: CompiledPolicy, intent: Intent, keys: Keys, alice: str
) -> None:
    bob = token_file("bob", keys.other.pair, *digests(compiled, intent, keys), approver="bob")
    result = run(compiled, intent, keys, [alice, bob])
    assert_not_granted(result, "approval_token_signature_invalid")


def test_duplicate_approver_never_allows(
    compiled: CompiledPolicy, intent: Intent, keys: Keys, alice: str
) -> None:
    again = token_file(
        "alice2",
        keys.approver.pair,
        *digests(compiled, intent, keys),
        approver="alice",
        reason_code="CHG-2",
    )
    result = run(compiled, intent, keys, [alice, again])
    assert_not_granted(result, "approval_distinct_approvers_required")
    assert result.outputs["valid_approvals"] == 2


def test_same_token_in_two_files_never_allows(
    compiled: CompiledPolicy, intent: Intent, keys: Keys, alice: str
) -> None:
    copy = Path("alice_copy.json")
    copy.write_text(Path(alice).read_text())
    result = run(compiled, intent, keys, [alice, str(copy)])
    assert_not_granted(result, None)


def test_the_same_path_twice_counts_once(
    compiled: CompiledPolicy, intent: Intent, keys: Keys, alice: str
) -> None:
    result = run(compiled, intent, keys, [alice, f" {alice} ", alice])
    assert_not_granted(result, "approval_chain_insufficient")
    assert result.outputs["valid_approvals"] == 1


def test_tokens_signed_by_trace_key_rejected_when_approval_key_given(
    compiled: CompiledPolicy, intent: Intent, keys: Keys
) -> None:
    intent_digest, policy_digest = digests(compiled, intent, keys)
    a = token_file("a", keys.signer.pair, intent_digest, policy_digest, approver="alice")
    b = token_file("b", keys.signer.pair, intent_digest, policy_digest, approver="bob")
    result = run(compiled, intent, keys, [a, b])
    assert_not_granted(result, "approval_token_signature_invalid")


def test_two_distinct_approvers_allow(
    compiled: CompiledPolicy, intent: Intent, keys: Keys, alice: str
) -> None:
    bob = token_file("bob", keys.approver.pair, *digests(compiled, intent, keys), approver="bob")
    result = run(compiled, intent, keys, [bob, alice], trace_out="out/trace.json")
    assert result.verdict == "allow"
    assert result.exit_code == 0
    assert result.reason_codes == ["approval_granted", "write_requires_approval"]
    assert result.violations == []
    ids = sorted(json.loads(Path(p).read_text())["token_id"] for p in (alice, bob))
    assert result.outputs["approval_ref"] == ",".join(ids)
    assert result.outputs["valid_approvals"] == 2
    trace = json.loads(Path("out/trace.json").read_text())
    assert trace["verdict"] == "allow"
    assert trace["approval_token_ref"] == ",".join(ids)


def test_approval_verify_key_defaults_to_trace_key(
    compiled: CompiledPolicy, intent: Intent, keys: Keys
) -> None:
    intent_digest, policy_digest = digests(compiled, intent, keys)
    a = token_file("a", keys.signer.pair, intent_digest, policy_digest, approver="alice")
    b = token_file("b", keys.signer.pair, intent_digest, policy_digest, approver="bob")
    result = gate(compiled, intent, keys, approval_tokens=[a, b])
    assert result.verdict == "allow"


def test_approval_audit_record_lists_every_token(
    compiled: CompiledPolicy, intent: Intent, keys: Keys, alice: str
) -> None:
    intent_digest, policy_digest = digests(compiled, intent, keys)
    bob = token_file("bob", keys.approver.pair, intent_digest, policy_digest, approver="bob")
    carol = token_file("carol", keys.other.pair, intent_digest, policy_digest, approver="carol")
    result = run(compiled, intent, keys, [alice, bob, carol])
    assert result.verdict == "allow"
    path = result.outputs["approval_audit_path"]
    assert path == f"approval_audit_{result.trace_id}.json"
    audit = json.loads(Path(path).read_text())
    assert audit["schema_id"] == "gait.gate.approval_audit_record"
    assert audit["schema_version"] == "1.0.0"
    assert audit["trace_id"] == result.trace_id
    assert audit["tool_name"] == "tool.write"
    assert (audit["intent_digest"], audit["policy_digest"]) == (intent_digest, policy_digest)
    assert audit["required_approvals"] == 2
    assert audit["valid_approvals"] == 2
    assert audit["approved"] is True
    assert audit["approvers"] == ["alice", "bob"]
    entries = audit["entries"]
    assert [e["token_id"] for e in entries] == sorted(e["token_id"] for e in entries)
    by_approver = {e["approver_identity"]: e for e in entries}
    assert set(by_approver) == {"alice", "bob", "carol"}
    assert by_approver["alice"]["valid"] is True and "error_code" not in by_approver["alice"]
    assert by_approver["carol"]["valid"] is False
    assert by_approver["carol"]["error_code"] == "approval_token_signature_invalid"
    assert by_approver["bob"]["scope"] == ["tool:tool.write"]
    assert by_approver["bob"]["reason_code"] == "CHG-1"
    assert by_approver["bob"]["expires_at"]


def test_approval_audit_written_when_no_token_given(
    compiled: CompiledPolicy, intent: Intent, keys: Keys
) -> None:
    result = run(compiled, intent, keys, [], approval_audit_out="audit/a.json")
    assert result.outputs["approval_audit_path"] == "audit/a.json"
    audit = json.loads(Path("audit/a.json").read_text())
    assert audit["approved"] is False
    assert audit["valid_approvals"] == 0
    assert audit["entries"] == []


def test_unreadable_token_is_invalid_input(
    compiled: CompiledPolicy, intent: Intent, keys: Keys
) -> None:
    from gait.errors import InvalidInput

    Path("bad.json").write_text("{not json")
    with pytest.raises(InvalidInput, match=r"parse token bad\.json"):
        run(compiled, intent, keys, ["bad.json"])
    with pytest.raises(InvalidInput, match=r"read token missing\.json"):
        run(compiled, intent, keys, ["missing.json"])


def test_destructive_apply_call_needs_phase_and_destructive_scope(keys: Keys) -> None:
    compiled = compile_text(POLICY.replace("min_approvals: 2", "min_approvals: 1"))
    intent = norm(make_intent(targets=[{"kind": "path", "value": "/w/db", "operation": "delete"}]))
    intent_digest, policy_digest = digests(compiled, intent, keys)

    def with_scope(scope: list[str]) -> GateResult:
        token = mint_approval(
            keys.approver.pair,
            intent_digest=intent_digest,
            policy_digest=policy_digest,
            approver="alice",
            reason_code="r",
            scope=scope,
            ttl_nanos=HOUR,
        )
        return run(compiled, intent, keys, [write_json("t.json", token)])

    narrow = with_scope(["tool:tool.write"])
    assert narrow.verdict == "require_approval"
    assert "approval_token_scope_mismatch" in narrow.reason_codes
    full = with_scope(["tool:tool.write", "phase:apply", "destructive:apply"])
    assert full.verdict == "allow"


def test_max_ops_counts_targets(keys: Keys) -> None:
    compiled = compile_text(POLICY.replace("min_approvals: 2", "min_approvals: 1"))
    intent = norm(
        make_intent(
            targets=[
                {"kind": "path", "value": "/w/a", "operation": "write"},
                {"kind": "path", "value": "/w/b", "operation": "write"},
            ]
        )
    )
    intent_digest, policy_digest = digests(compiled, intent, keys)
    token = mint_approval(
        keys.approver.pair,
        intent_digest=intent_digest,
        policy_digest=policy_digest,
        approver="alice",
        reason_code="r",
        scope=["tool:tool.write"],
        ttl_nanos=HOUR,
        max_ops=1,
    )
    result = run(compiled, intent, keys, [write_json("t.json", token)])
    assert result.verdict == "require_approval"
    assert "approval_token_max_ops_exceeded" in result.reason_codes


def test_request_now_controls_expiry(
    compiled: CompiledPolicy, intent: Intent, keys: Keys, alice: str
) -> None:
    bob = token_file("bob", keys.approver.pair, *digests(compiled, intent, keys), approver="bob")
    later = run(compiled, intent, keys, [alice, bob], now="2099-01-01T00:00:00Z")
    assert_not_granted(later, "approval_token_expired")
    assert run(compiled, intent, keys, [alice, bob], now=now_rfc3339()).verdict == "allow"


# ------------------------------------------------------- through the CLI ---


def test_gate_eval_cli_grants_with_token_and_chain(
    cli: CliRunner, compiled: CompiledPolicy, intent: Intent, keys: Keys, alice: str
) -> None:
    bob = token_file("bob", keys.approver.pair, *digests(compiled, intent, keys), approver="bob")
    Path("policy.yaml").write_text(POLICY)
    write_json("intent.json", make_intent())
    base = [
        "gate", "eval", "--policy", "policy.yaml", "--intent", "intent.json",
        "--key-mode", "prod", "--private-key", keys.signer.private,
        "--approval-public-key", keys.approver.public, "--json",
    ]  # fmt: skip
    code, out = cli(*base)
    assert code == 4
    assert out["verdict"] == "require_approval"
    assert out["ok"] is True
    assert out["required_approvals"] == 2
    code, out = cli(*base, "--approval-token", alice, "--approval-token-chain", f"{bob}, ")
    assert code == 0
    assert out["verdict"] == "allow"
    assert "approval_granted" in out["reason_codes"]
    assert out["valid_approvals"] == 2
    assert out["approval_audit_path"] == f"approval_audit_{out['trace_id']}.json"
    assert Path(out["trace_path"]).is_file()


def test_gate_eval_cli_free_text_ref_is_recorded(
    cli: CliRunner, compiled: CompiledPolicy, keys: Keys
) -> None:
    Path("policy.yaml").write_text(POLICY.replace("tool.write", "tool.read"))
    write_json("intent.json", make_intent())
    code, out = cli(
        "gate", "eval", "--policy", "policy.yaml", "--intent", "intent.json",
        "--approval-token-ref", " CAB-77 ", "--trace-out", "t.json", "--json",
    )  # fmt: skip
    assert code == 3  # default_verdict block
    assert out["verdict"] == "block"
    trace = json.loads(Path("t.json").read_text())
    assert trace["approval_token_ref"] == "CAB-77"


def test_delegated_intent_needs_token_bound_to_the_chain(keys: Keys) -> None:
    from gait.intent import delegation_digest

    compiled = compile_text(POLICY.replace("min_approvals: 2", "min_approvals: 1"))
    intent = norm(
        make_intent(
            delegation={
                "requester_identity": "agent.demo",
                "chain": [{"delegator_identity": "alice", "delegate_identity": "agent.demo"}],
            }
        )
    )
    intent_digest, policy_digest = digests(compiled, intent, keys)
    binding = delegation_digest(intent)

    def with_binding(value: str) -> GateResult:
        token = mint_approval(
            keys.approver.pair,
            intent_digest=intent_digest,
            policy_digest=policy_digest,
            approver="alice",
            reason_code="r",
            scope=["tool:tool.write"],
            ttl_nanos=HOUR,
            delegation_binding_digest=value,
        )
        return run(compiled, intent, keys, [write_json("t.json", token)])

    unbound = with_binding("")
    assert unbound.verdict == "require_approval"
    assert "approval_token_delegation_binding_mismatch" in unbound.reason_codes
    bound = with_binding(binding)
    assert bound.verdict == "allow"
    assert bound.trace is not None
    assert bound.trace["delegation_ref"]["chain_digest"] == binding


@pytest.mark.parametrize(
    ("max_targets", "max_ops", "code"),
    [
        (3, 2, None),
        (2, 2, "approval_token_max_targets_exceeded"),
        (3, 1, "approval_token_max_ops_exceeded"),
    ],
)
def test_script_counts_step_targets_and_steps(
    keys: Keys, max_targets: int, max_ops: int, code: str | None
) -> None:
    compiled = compile_text("default_verdict: require_approval\nrules: []\n")
    raw = make_intent("script")
    raw["script"] = {
        "steps": [
            {
                "tool_name": "tool.write",
                "args": {"n": 1},
                "targets": [
                    {"kind": "path", "value": "/a", "operation": "write"},
                    {"kind": "path", "value": "/b", "operation": "write"},
                ],
            },
            {
                "tool_name": "tool.read",
                "args": {"n": 2},
                "targets": [{"kind": "path", "value": "/c", "operation": "read"}],
            },
        ]
    }
    intent = norm(raw)
    intent_digest, policy_digest = digests(compiled, intent, keys)
    token = mint_approval(
        keys.approver.pair,
        intent_digest=intent_digest,
        policy_digest=policy_digest,
        approver="alice",
        reason_code="r",
        scope=["tool:script"],
        ttl_nanos=HOUR,
        max_targets=max_targets,
        max_ops=max_ops,
    )
    result = run(compiled, intent, keys, [write_json("t.json", token)])
    if code is None:
        assert result.verdict == "allow"
    else:
        assert_not_granted(result, code)
