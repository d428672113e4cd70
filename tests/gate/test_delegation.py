"""Delegation tokens (trace.md §6.2) and chain enforcement in gate eval (§6.3)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from gait.gate import GateResult
from gait.gate.tokens import mint_delegation, validate_delegation
from gait.signing import KeyPair

from .conftest import DIGEST_A, DIGEST_B, DIGEST_C, CliRunner, Keys, gate, make_intent, write_json

CREATED = "2026-11-24T18:33:26.576588546Z"
BEFORE_EXPIRY = "2026-11-24T18:40:00Z"
AFTER_EXPIRY = "2026-11-24T20:00:00Z"
HOUR = 3600 * 1_000_000_000

POLICY = """
schema_id: gait.gate.policy
schema_version: 1.0.0
default_verdict: block
rules:
  - name: delegated-deploy
    effect: allow
    match:
      tool_names: [tool.deploy]
      require_delegation: true
      delegation_scopes: [deploy]
"""


def mint(key: KeyPair, **overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "delegator": "alice",
        "delegate": "agent.build",
        "scope": ["deploy"],
        "ttl_nanos": HOUR,
        "now": CREATED,
    }
    args.update(overrides)
    return mint_delegation(key, **args)


def check(token: dict[str, Any], key: KeyPair | None, **overrides: Any) -> str:
    args: dict[str, Any] = {
        "delegator": "alice",
        "delegate": "agent.build",
        "required_scope": ["deploy"],
        "now": BEFORE_EXPIRY,
    }
    args.update(overrides)
    result = validate_delegation(token, key, **args)
    assert result.valid == (result.error_code == "")
    return result.error_code


# ------------------------------------------------------------------ tokens ---


def test_minted_delegation_token_verifies(keys: Keys) -> None:
    token = mint(keys.approver.pair, scope_class="Deploy", intent_digest=DIGEST_A)
    assert token["schema_id"] == "gait.gate.delegation_token"
    assert token["scope_class"] == "deploy"
    assert list(token)[-2:] == ["expires_at", "signature"]
    assert check(token, keys.approver.pair, intent_digest=DIGEST_A) == ""


def test_delegation_token_id_formula(keys: Keys) -> None:
    token = mint(
        keys.approver.pair,
        delegator=" alice ",
        scope=["Deploy", "read", "deploy"],
        scope_class="Prod",
        intent_digest=DIGEST_A.upper(),
        policy_digest=DIGEST_B,
    )
    text = f"alice:agent.build:deploy,read:prod:{DIGEST_A}:{DIGEST_B}:{token['expires_at']}"
    assert token["token_id"] == hashlib.sha256(text.encode()).hexdigest()[:24]
    assert token["expires_at"] == "2026-11-24T19:33:26.576588546Z"


def test_empty_optional_fields_are_omitted(keys: Keys) -> None:
    token = mint(keys.approver.pair)
    assert not {"scope_class", "intent_digest", "policy_digest"} & set(token)
    text = f"alice:agent.build:deploy::::{token['expires_at']}"
    assert token["token_id"] == hashlib.sha256(text.encode()).hexdigest()[:24]


@pytest.mark.parametrize(
    "broken",
    [
        {"delegator_identity": ""},
        {"delegate_identity": " "},
        {"token_id": ""},
        {"scope": []},
        {"expires_at": "soon"},
        {"intent_digest": "xyz"},
        {"schema_id": "gait.gate.approval_token"},
    ],
)
def test_malformed_delegation_token_is_invalid(keys: Keys, broken: dict[str, Any]) -> None:
    token = {**mint(keys.approver.pair), **broken}
    assert check(token, keys.approver.pair) == "delegation_token_invalid"


def test_delegation_signature_missing(keys: Keys) -> None:
    token = {k: v for k, v in mint(keys.approver.pair).items() if k != "signature"}
    assert check(token, keys.approver.pair) == "delegation_token_signature_missing"


def test_delegation_wrong_key(keys: Keys) -> None:
    assert check(mint(keys.other.pair), keys.approver.pair) == (
        "delegation_token_signature_invalid"
    )


def test_delegation_no_key(keys: Keys) -> None:
    assert check(mint(keys.approver.pair), None) == "delegation_token_signature_invalid"


def test_delegation_tampered(keys: Keys) -> None:
    token = {**mint(keys.approver.pair), "delegate_identity": "mallory"}
    assert check(token, keys.approver.pair, delegate="mallory") == (
        "delegation_token_signature_invalid"
    )


def test_delegation_expired(keys: Keys) -> None:
    assert check(mint(keys.approver.pair), keys.approver.pair, now=AFTER_EXPIRY) == (
        "delegation_token_expired"
    )


def test_delegator_mismatch(keys: Keys) -> None:
    assert check(mint(keys.approver.pair), keys.approver.pair, delegator="bob") == (
        "delegation_token_delegator_mismatch"
    )


def test_delegate_mismatch(keys: Keys) -> None:
    assert check(mint(keys.approver.pair), keys.approver.pair, delegate="agent.other") == (
        "delegation_token_delegate_mismatch"
    )


def test_intent_mismatch_only_when_both_set(keys: Keys) -> None:
    bound = mint(keys.approver.pair, intent_digest=DIGEST_A)
    assert check(bound, keys.approver.pair, intent_digest=DIGEST_C) == (
        "delegation_token_intent_mismatch"
    )
    unbound = mint(keys.approver.pair)
    assert check(unbound, keys.approver.pair, intent_digest=DIGEST_C) == ""
    assert check(bound, keys.approver.pair, intent_digest="") == ""


def test_policy_mismatch_only_when_both_set(keys: Keys) -> None:
    bound = mint(keys.approver.pair, policy_digest=DIGEST_B)
    assert check(bound, keys.approver.pair, policy_digest=DIGEST_C) == (
        "delegation_token_policy_mismatch"
    )
    assert check(mint(keys.approver.pair), keys.approver.pair, policy_digest=DIGEST_C) == ""


def test_scope_mismatch(keys: Keys) -> None:
    assert check(mint(keys.approver.pair), keys.approver.pair, required_scope=["admin"]) == (
        "delegation_token_scope_mismatch"
    )


def test_scope_any_required_entry_or_scope_class_or_wildcard(keys: Keys) -> None:
    token = mint(keys.approver.pair, scope=["read"], scope_class="deploy")
    assert check(token, keys.approver.pair, required_scope=["admin", "read"]) == ""
    assert check(token, keys.approver.pair, required_scope=["deploy"]) == ""
    star = mint(keys.approver.pair, scope=["*"])
    assert check(star, keys.approver.pair, required_scope=["anything"]) == ""


def test_delegation_first_failure_wins_in_spec_order(keys: Keys) -> None:
    token = mint(keys.approver.pair, intent_digest=DIGEST_A, policy_digest=DIGEST_B)
    expect: dict[str, Any] = {
        "now": AFTER_EXPIRY,
        "delegator": "bob",
        "delegate": "someone",
        "intent_digest": DIGEST_C,
        "policy_digest": DIGEST_C,
        "required_scope": ["admin"],
    }
    assert check(token, keys.other.pair, **expect) == "delegation_token_signature_invalid"
    fixes = [
        ("now", BEFORE_EXPIRY, "delegation_token_expired"),
        ("delegator", "alice", "delegation_token_delegator_mismatch"),
        ("delegate", "agent.build", "delegation_token_delegate_mismatch"),
        ("intent_digest", DIGEST_A, "delegation_token_intent_mismatch"),
        ("policy_digest", DIGEST_B, "delegation_token_policy_mismatch"),
        ("required_scope", ["deploy"], "delegation_token_scope_mismatch"),
    ]
    seen = []
    for field, good, _code in fixes:
        seen.append(check(token, keys.approver.pair, **expect))
        expect[field] = good
    assert seen == [code for _f, _g, code in fixes]
    assert check(token, keys.approver.pair, **expect) == ""


# --------------------------------------------------------- delegate CLI ---


def test_delegate_mint_and_verify_cli(cli: CliRunner, keys: Keys) -> None:
    code, out = cli(
        "delegate", "mint", "--delegator", "alice", "--delegate", "agent.build",
        "--scope", "deploy", "--scope-class", "prod", "--ttl", "1h",
        "--key-mode", "prod", "--private-key", keys.approver.private, "--json",
    )  # fmt: skip
    assert code == 0, out
    assert out["token_path"] == f"delegation_{out['token_id']}.json"
    assert out["delegator_identity"] == "alice"
    assert out["scope_class"] == "prod"
    assert out["key_id"] == keys.approver.pair.key_id
    code, ver = cli(
        "delegate", "verify", "--token", out["token_path"], "--public-key", keys.approver.public,
        "--delegator", "alice", "--delegate", "agent.build", "--scope", "deploy", "--json",
    )  # fmt: skip
    assert code == 0, ver
    assert ver["ok"] is True and ver["token_id"] == out["token_id"]


def test_delegate_verify_exits_2_on_invalid(cli: CliRunner, keys: Keys) -> None:
    path = write_json("d.json", mint(keys.other.pair))
    code, out = cli(
        "delegate", "verify", "--token", path, "--public-key", keys.approver.public, "--json"
    )
    assert code == 2
    assert out["ok"] is False
    assert out["error_code"] == "delegation_token_signature_invalid"
    assert out["error"]


def test_delegate_verify_exits_2_on_wrong_delegate(cli: CliRunner, keys: Keys) -> None:
    path = write_json("d.json", mint(keys.approver.pair, ttl_nanos=HOUR * 24 * 365 * 20))
    code, out = cli(
        "delegate", "verify", "--token", path, "--public-key", keys.approver.public,
        "--delegate", "mallory",
    )  # fmt: skip
    assert code == 2
    assert "delegation_token_delegate_mismatch" in out


def test_delegate_verify_without_key_is_invalid_input(
    cli: CliRunner, keys: Keys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GAIT_STATE_DIR", str(tmp_path / "no-dev-key"))
    path = write_json("d.json", mint(keys.approver.pair))
    code, out = cli("delegate", "verify", "--token", path, "--json")
    assert code == 6
    assert out["error"] == "public key not configured"


# -------------------------------------------------- enforcement (§6.3) ---


def delegated_intent(chain: list[tuple[str, str]] | None = None) -> dict[str, Any]:
    links = [
        {"delegator_identity": a, "delegate_identity": b, "scope_class": "deploy"}
        for a, b in (chain if chain is not None else [("alice", "agent.build")])
    ]
    return make_intent(
        "tool.deploy",
        targets=[{"kind": "host", "value": "prod.example", "operation": "write"}],
        identity="agent.build",
        delegation={"requester_identity": "agent.build", "scope_class": "deploy", "chain": links},
    )


def token_path(name: str, key: KeyPair, delegator: str, delegate: str, **kw: Any) -> str:
    token = mint_delegation(
        key, delegator=delegator, delegate=delegate, scope=["deploy"], ttl_nanos=HOUR, **kw
    )
    return write_json(Path(f"{name}.json"), token)


def enforce(keys: Keys, tokens: list[str], chain: Any = None, **kw: Any) -> GateResult:
    return gate(
        POLICY,
        delegated_intent(chain),
        keys,
        delegation_tokens=tokens,
        delegation_public_key=keys.approver.public,
        **kw,
    )


def test_complete_chain_is_granted(keys: Keys) -> None:
    tok = token_path("d1", keys.approver.pair, "alice", "agent.build")
    result = enforce(keys, [tok])
    assert result.verdict == "allow"
    assert result.exit_code == 0
    assert "delegation_granted" in result.reason_codes
    token_id = json.loads(Path(tok).read_text())["token_id"]
    assert result.outputs["delegation_ref"] == token_id
    assert result.outputs["valid_delegations"] == 1
    ref = result.trace["delegation_ref"]  # type: ignore[index]
    assert ref["delegation_token_ref"] == token_id
    assert ref["requester_identity"] == "agent.build"
    assert ref["delegation_depth"] == 1
    assert ref["reason_codes"] == ["delegation_granted"]


def test_two_link_chain_needs_a_token_per_link(keys: Keys) -> None:
    chain = [("alice", "bob"), ("bob", "agent.build")]
    first = token_path("d1", keys.approver.pair, "alice", "bob")
    second = token_path("d2", keys.approver.pair, "bob", "agent.build")
    partial = enforce(keys, [first], chain)
    assert partial.verdict == "block"
    assert "delegation_chain_insufficient" in partial.reason_codes
    assert "delegation_token_missing" in partial.reason_codes
    full = enforce(keys, [second, first], chain)
    assert full.verdict == "allow"
    ids = sorted(json.loads(Path(p).read_text())["token_id"] for p in (first, second))
    assert full.outputs["delegation_ref"] == ",".join(ids)


def test_missing_delegation_token_blocks(keys: Keys) -> None:
    result = enforce(keys, [])
    assert result.verdict == "block"
    assert result.exit_code == 3
    assert "delegation_token_missing" in result.reason_codes
    assert "delegation_chain_insufficient" not in result.reason_codes
    assert result.violations == ["delegation_not_granted"]


def test_wrong_delegate_is_chain_insufficient(keys: Keys) -> None:
    tok = token_path("d1", keys.approver.pair, "alice", "mallory")
    result = enforce(keys, [tok])
    assert result.verdict == "block"
    assert result.exit_code == 3
    assert "delegation_chain_insufficient" in result.reason_codes
    assert "delegation_token_delegate_mismatch" in result.reason_codes
    assert "delegation_granted" not in result.reason_codes
    assert result.violations == ["delegation_not_granted"]


def test_wrong_key_delegation_token_blocks(keys: Keys) -> None:
    tok = token_path("d1", keys.other.pair, "alice", "agent.build")
    result = enforce(keys, [tok])
    assert result.verdict == "block"
    assert "delegation_token_signature_invalid" in result.reason_codes


def test_token_bound_to_another_intent_blocks(keys: Keys) -> None:
    tok = token_path("d1", keys.approver.pair, "alice", "agent.build", intent_digest=DIGEST_C)
    result = enforce(keys, [tok])
    assert result.verdict == "block"
    assert "delegation_token_intent_mismatch" in result.reason_codes


def test_no_chain_means_one_link_to_the_requester(keys: Keys) -> None:
    tok = token_path("d1", keys.approver.pair, "anyone", "agent.build")
    assert enforce(keys, [tok], chain=[]).verdict == "allow"


def test_delegation_audit_record(keys: Keys) -> None:
    good = token_path("d1", keys.approver.pair, "alice", "agent.build")
    spare = token_path("d2", keys.approver.pair, "carol", "agent.build")
    result = enforce(keys, [good, spare], delegation_audit_out="audit/d.json")
    assert result.verdict == "allow"
    assert result.outputs["delegation_audit_path"] == "audit/d.json"
    audit = json.loads(Path("audit/d.json").read_text())
    assert audit["schema_id"] == "gait.gate.delegation_audit_record"
    assert audit["trace_id"] == result.trace_id
    assert audit["delegation_required"] is True
    assert audit["valid_delegations"] == 1
    assert audit["delegated"] is True
    entries = audit["entries"]
    assert [e["delegator_identity"] for e in entries] == ["alice", "carol"]
    assert entries[0]["valid"] is True
    assert entries[1] == {
        **entries[1],
        "valid": False,
        "error_code": "delegation_token_chain_mismatch",
    }


def test_delegation_falls_back_to_approval_key(keys: Keys) -> None:
    tok = token_path("d1", keys.approver.pair, "alice", "agent.build")
    result = gate(
        POLICY,
        delegated_intent(),
        keys,
        delegation_tokens=[tok],
        approval_public_key=keys.approver.public,
    )
    assert result.verdict == "allow"


def test_delegation_defaults_to_trace_key(keys: Keys) -> None:
    tok = token_path("d1", keys.signer.pair, "alice", "agent.build")
    assert gate(POLICY, delegated_intent(), keys, delegation_tokens=[tok]).verdict == "allow"


def test_text_mode_prints_the_dev_key_warning_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from gait.cli.main import main

    out = str(tmp_path / "d.json")
    code = main(
        [
            "delegate",
            "mint",
            "--delegator",
            "a",
            "--delegate",
            "b",
            "--scope",
            "x",
            "--ttl",
            "1h",
            "--out",
            out,
        ]
    )
    captured = capsys.readouterr()
    assert code == 0
    assert "warning: dev mode: signed with this user's dev key" in captured.err
    assert "warning:" not in captured.out


def test_json_mode_keeps_warnings_in_the_object_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json as jsonlib

    from gait.cli.main import main

    out = str(tmp_path / "d.json")
    code = main(
        [
            "delegate",
            "mint",
            "--delegator",
            "a",
            "--delegate",
            "b",
            "--scope",
            "x",
            "--ttl",
            "1h",
            "--out",
            out,
            "--json",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0
    assert captured.err == ""
    assert jsonlib.loads(captured.out)["warnings"][0].startswith("dev mode:")
