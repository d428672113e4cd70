"""Approved-script fast path in the gate (trace.md §7, §5.2 step 6)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gait.errors import GaitError, InvalidInput
from gait.gate.approved_scripts import add_entry, build_entry, normalized_entry
from gait.gate.inventory import InputUnavailable
from gait.gate.pipeline import REGISTRY_SKIPPED, REGISTRY_WARNING
from gait.gate.scripts_registry import (
    MATCH,
    NOT_FOUND,
    load_verified_entries,
    match_script,
    pre_approved_decision,
)
from gait.intent import Intent
from gait.signing import KeyPair, verify_signature
from gait.signing.signature import record_digest

from .conftest import Keys, compile_text, gate, make_intent, norm

POLICY = """
default_verdict: require_approval
rules:
  - name: block-delete
    effect: block
    match:
      tool_names: [tool.delete]
"""
CREATED = "2026-01-01T00:00:00Z"
EXPIRES = "2036-01-01T00:00:00Z"
NOW_NS = 1_900_000_000 * 10**9  # 2030


def script(*tools: str, risk: str = "low", workspace: str = "/workspace") -> dict[str, Any]:
    raw = make_intent("script", targets=[], risk_class=risk, workspace=workspace)
    raw["script"] = {
        "steps": [
            {
                "tool_name": t,
                "args": {"n": i},
                "targets": [{"kind": "path", "value": f"/w/{i}", "operation": "write"}],
            }
            for i, t in enumerate(tools)
        ]
    }
    return raw


def entry_for(intent: Intent, key: KeyPair, policy: str = POLICY, **over: Any) -> dict[str, Any]:
    assert intent.script is not None
    fields: dict[str, Any] = {
        "pattern_id": "p1",
        "policy_digest": compile_text(policy).policy_digest,
        "script_hash": intent.script_hash,
        "tool_sequence": [s.tool_name for s in intent.script],
        "approver": "alice",
        "created_at": CREATED,
        "expires_at": EXPIRES,
        "scope": [],
        "producer_version": "test",
    }
    fields.update(over)
    return build_entry(key=key, **fields)


def registry(tmp_path: Path, *entries: dict[str, Any], name: str = "reg.json") -> str:
    path = str(tmp_path / name)
    for e in entries:
        add_entry(path, e)
    return path


# ---------------------------------------------------------------- matching


def test_match_needs_policy_hash_sequence_and_time(keys: Keys) -> None:
    intent = norm(script("tool.a", "tool.b"))
    digest = compile_text(POLICY).policy_digest
    entry = normalized_entry(entry_for(intent, keys.approver.pair))
    hit = match_script(intent, digest, [entry], NOW_NS)
    assert (hit.matched, hit.pattern_id, hit.reason) == (True, "p1", MATCH)
    assert not match_script(intent, "f" * 64, [entry], NOW_NS).matched
    other = norm(script("tool.a", "tool.c"))
    assert match_script(other, digest, [entry], NOW_NS).reason == NOT_FOUND
    after_expiry = 2_100_000_000 * 10**9
    assert not match_script(intent, digest, [entry], after_expiry).matched
    assert match_script(norm(make_intent()), digest, [entry], NOW_NS).reason == "not_script"


def test_only_sorted_step_sequences_can_match(keys: Keys) -> None:
    # entries store tool_sequence sorted and de-duplicated; the intent's is in step order
    digest = compile_text(POLICY).policy_digest
    for tools in (("tool.b", "tool.a"), ("tool.a", "tool.a")):
        intent = norm(script(*tools))
        entry = normalized_entry(entry_for(intent, keys.approver.pair))
        assert entry["tool_sequence"] == sorted(set(tools))
        assert match_script(intent, digest, [entry], NOW_NS).reason == NOT_FOUND


@pytest.mark.parametrize(
    ("scope", "matches"),
    [
        (["risk:low"], True),
        (["risk:high"], False),
        (["tool:script"], True),
        (["tool:tool.a"], False),
        (["workspace_prefix:/workspace"], True),
        (["workspace_prefix:/work"], False),
        (["endpoint:fs.write"], True),
        (["endpoint:net.http"], False),
        (["team:ops"], False),  # unknown scope kinds never match
        (["risk:low", "endpoint:fs.write"], True),
    ],
)
def test_entry_scope_narrows_the_match(keys: Keys, scope: list[str], matches: bool) -> None:
    intent = norm(script("tool.a", "tool.b", workspace="/workspace/sub"))
    entry = normalized_entry(entry_for(intent, keys.approver.pair, scope=scope))
    digest = compile_text(POLICY).policy_digest
    assert match_script(intent, digest, [entry], NOW_NS).matched is matches


def test_pre_approved_decision_allows_every_step() -> None:
    intent = norm(script("tool.a", "tool.b"))
    d = pre_approved_decision(intent, "d" * 64)
    assert (d.verdict, d.reason_codes, d.violations, d.matched_rules) == ("allow", (MATCH,), (), ())
    assert [s.to_dict() for s in d.step_verdicts] == [
        {"index": 0, "tool_name": "tool.a", "verdict": "allow", "reason_codes": [MATCH]},
        {"index": 1, "tool_name": "tool.b", "verdict": "allow", "reason_codes": [MATCH]},
    ]
    assert d.composite_risk_class == "medium"  # fs.write targets


def test_registry_with_a_bad_entry_is_invalid_as_a_whole(tmp_path: Path, keys: Keys) -> None:
    intent = norm(script("tool.a", "tool.b"))
    good = entry_for(intent, keys.approver.pair)
    bad = {**entry_for(intent, keys.approver.pair, pattern_id="p2"), "approver_identity": "eve"}
    path = tmp_path / "reg.json"
    path.write_text(json.dumps({"entries": [good, bad]}))
    with pytest.raises(
        InvalidInput, match="verification failed at entry 1: signed_digest mismatch"
    ):
        load_verified_entries(str(path), keys.approver.pair)
    path.write_text(json.dumps([good]))  # bare array form
    assert [e["pattern_id"] for e in load_verified_entries(str(path), keys.approver.pair)] == ["p1"]
    with pytest.raises(InvalidInput, match="entry 0: key id mismatch"):
        load_verified_entries(str(path), keys.other.pair)


# ---------------------------------------------------------------- in the gate


def approved(tmp_path: Path, keys: Keys, intent_raw: dict[str, Any], **over: Any) -> str:
    return registry(tmp_path, entry_for(norm(intent_raw), keys.approver.pair, **over))


def test_match_allows_without_evaluation_and_is_signed(tmp_path: Path, keys: Keys) -> None:
    raw = script("tool.a", "tool.delete")  # tool.delete would be blocked by the policy
    assert gate(POLICY, raw, keys).verdict == "block"
    reg = approved(tmp_path, keys, raw)
    result = gate(
        POLICY,
        raw,
        keys,
        approved_script_registry=reg,
        approved_script_public_key=keys.approver.public,
    )
    assert result.verdict == "allow" and result.exit_code == 0
    assert result.reason_codes == [MATCH] and result.violations == []
    payload = result.to_payload("standard")
    assert payload["pre_approved"] is True and payload["pattern_id"] == "p1"
    assert payload["registry_reason"] == MATCH
    assert [s["verdict"] for s in payload["step_verdicts"]] == ["allow", "allow"]
    assert "matched_rule" not in payload
    trace = result.trace or {}
    assert (trace["pre_approved"], trace["pattern_id"], trace["registry_reason"]) == (
        True,
        "p1",
        MATCH,
    )
    assert trace["verdict"] == "allow" and "matched_rule_ids" not in trace
    verify_signature(
        trace["signature"],
        record_digest({k: v for k, v in trace.items() if k != "signature"}),
        keys.signer.pair,
    )


def test_no_match_evaluates_normally_with_registry_reason(tmp_path: Path, keys: Keys) -> None:
    reg = approved(tmp_path, keys, script("tool.a", "tool.b"))
    result = gate(
        POLICY,
        script("tool.a", "tool.delete"),
        keys,
        approved_script_registry=reg,
        approved_script_public_key=keys.approver.public,
    )
    assert result.verdict == "block" and result.exit_code == 3
    payload = result.to_payload("standard")
    assert payload["registry_reason"] == NOT_FOUND
    assert "pre_approved" not in payload and "pattern_id" not in payload
    assert (result.trace or {})["registry_reason"] == NOT_FOUND


def test_plain_intents_never_use_the_registry(tmp_path: Path, keys: Keys) -> None:
    reg = approved(tmp_path, keys, script("tool.a", "tool.b"))
    result = gate(
        POLICY,
        make_intent(),
        keys,
        approved_script_registry=reg,
        approved_script_public_key=keys.approver.public,
    )
    payload = result.to_payload("standard")
    assert result.verdict == "require_approval"
    assert not {"registry_reason", "pre_approved", "pattern_id"} & set(payload)


def test_verify_key_falls_back_to_the_approval_key(tmp_path: Path, keys: Keys) -> None:
    raw = script("tool.a", "tool.b")
    reg = approved(tmp_path, keys, raw)
    via_approval = gate(
        POLICY, raw, keys, approved_script_registry=reg, approval_public_key=keys.approver.public
    )
    assert via_approval.verdict == "allow"
    # standard profile without any key: the signing key, which did not sign the entry
    unkeyed = gate(POLICY, raw, keys, approved_script_registry=reg)
    assert unkeyed.verdict == "require_approval"
    assert REGISTRY_WARNING in unkeyed.warnings
    # ... and an entry signed by the signing key verifies that way
    reg2 = registry(tmp_path, entry_for(norm(raw), keys.signer.pair), name="reg2.json")
    assert gate(POLICY, raw, keys, approved_script_registry=reg2).verdict == "allow"


def test_broken_key_source_is_invalid_input(tmp_path: Path, keys: Keys) -> None:
    raw = script("tool.a", "tool.b")
    reg = approved(tmp_path, keys, raw)
    (tmp_path / "bad.key").write_text("not base64!\n")
    with pytest.raises(InvalidInput) as err:
        gate(
            POLICY,
            raw,
            keys,
            approved_script_registry=reg,
            approved_script_public_key=str(tmp_path / "bad.key"),
        )
    assert err.value.exit_code == 6


def _unavailable(tmp_path: Path, keys: Keys, kind: str, raw: dict[str, Any]) -> dict[str, Any]:
    """Options that make the registry unusable in the way ``kind`` names."""
    opts: dict[str, Any] = {"approved_script_public_key": keys.approver.public}
    if kind == "missing":
        opts["approved_script_registry"] = str(tmp_path / "nope.json")
    elif kind == "invalid_json":
        (tmp_path / "bad.json").write_text("{")
        opts["approved_script_registry"] = str(tmp_path / "bad.json")
    elif kind == "tampered":
        entry = {**entry_for(norm(raw), keys.approver.pair), "pattern_id": "forged"}
        (tmp_path / "t.json").write_text(json.dumps({"entries": [entry]}))
        opts["approved_script_registry"] = str(tmp_path / "t.json")
    elif kind == "wrong_key":
        opts["approved_script_registry"] = approved(tmp_path, keys, raw)
        opts["approved_script_public_key"] = keys.other.public
    return opts


KINDS = ["missing", "invalid_json", "tampered", "wrong_key"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("risk", ["high", "critical"])
def test_unavailable_registry_blocks_high_risk(
    tmp_path: Path, keys: Keys, kind: str, risk: str
) -> None:
    raw = script("tool.a", "tool.b", risk=risk)
    with pytest.raises(InputUnavailable) as err:
        gate(POLICY, raw, keys, **_unavailable(tmp_path, keys, kind, raw))
    assert err.value.exit_code == 3
    assert str(err.value).startswith("approved script registry unavailable in fail-closed mode: ")
    assert not list(tmp_path.glob("trace_*.json"))


@pytest.mark.parametrize("kind", KINDS)
def test_unavailable_registry_blocks_under_oss_prod(tmp_path: Path, keys: Keys, kind: str) -> None:
    raw = script("tool.a", "tool.b", risk="low")
    with pytest.raises(InputUnavailable):
        gate(POLICY, raw, keys, profile="oss-prod", **_unavailable(tmp_path, keys, kind, raw))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("risk", ["low", "medium"])
def test_unavailable_registry_warns_otherwise(
    tmp_path: Path, keys: Keys, kind: str, risk: str
) -> None:
    raw = script("tool.a", "tool.b", risk=risk)
    result = gate(POLICY, raw, keys, **_unavailable(tmp_path, keys, kind, raw))
    assert result.verdict == "require_approval"  # normal evaluation, no fast path
    assert REGISTRY_WARNING in result.warnings
    assert any(w.startswith("approved script registry: ") for w in result.warnings)
    assert "registry_reason" not in result.to_payload("standard")


def test_oss_prod_without_explicit_key_blocks(tmp_path: Path, keys: Keys) -> None:
    raw = script("tool.a", "tool.b")
    reg = registry(tmp_path, entry_for(norm(raw), keys.signer.pair))
    with pytest.raises(InputUnavailable, match="verify key not configured"):
        gate(POLICY, raw, keys, profile="oss-prod", approved_script_registry=reg)
    ok = gate(
        POLICY,
        raw,
        keys,
        profile="oss-prod",
        approved_script_registry=reg,
        approved_script_public_key=keys.signer.public,
    )
    assert ok.verdict == "allow" and ok.to_payload("oss-prod")["pre_approved"] is True


def test_unavailable_registry_blocks_plain_high_risk_calls_too(tmp_path: Path, keys: Keys) -> None:
    # the registry is a gate input: a broken one is reported whatever the call
    with pytest.raises(GaitError) as err:
        gate(
            POLICY,
            make_intent(risk_class="high"),
            keys,
            approved_script_registry=str(tmp_path / "nope.json"),
            approved_script_public_key=keys.approver.public,
        )
    assert err.value.exit_code == 3


def test_expired_entries_do_not_invalidate_the_registry(tmp_path: Path, keys: Keys) -> None:
    raw = script("tool.a", "tool.b", risk="high")
    reg = approved(tmp_path, keys, raw, created_at="2020-01-01T00:00:00Z", expires_at=CREATED)
    result = gate(
        POLICY,
        raw,
        keys,
        approved_script_registry=reg,
        approved_script_public_key=keys.approver.public,
    )
    assert result.verdict == "require_approval"
    assert result.to_payload("standard")["registry_reason"] == NOT_FOUND


def test_policies_requiring_context_evidence_skip_the_fast_path(tmp_path: Path, keys: Keys) -> None:
    policy = (
        POLICY
        + """
  - name: needs-evidence
    effect: allow
    require_context_evidence: true
    match:
      tool_names: [tool.b]
"""
    )
    raw = script("tool.a", "tool.b")
    reg = registry(tmp_path, entry_for(norm(raw), keys.approver.pair, policy=policy))
    result = gate(
        policy,
        raw,
        keys,
        approved_script_registry=reg,
        approved_script_public_key=keys.approver.public,
    )
    assert REGISTRY_SKIPPED in result.warnings
    assert result.verdict == "block"  # evaluated: the evidence rule blocks without an envelope
    assert "pre_approved" not in result.to_payload("standard")


def test_same_inputs_same_trace_bytes_apart_from_the_clock(tmp_path: Path, keys: Keys) -> None:
    raw = script("tool.a", "tool.b")
    reg = approved(tmp_path, keys, raw)
    now = "2030-01-01T00:00:00Z"
    runs = [
        gate(
            POLICY,
            raw,
            keys,
            approved_script_registry=reg,
            approved_script_public_key=keys.approver.public,
            now=now,
            write_trace=False,
        )
        for _ in range(2)
    ]
    a, b = (
        {
            k: v
            for k, v in (r.trace or {}).items()
            if k not in ("observed_at", "event_id", "signature", "latency_ms")
        }
        for r in runs
    )
    assert a == b and a["pattern_id"] == "p1"
