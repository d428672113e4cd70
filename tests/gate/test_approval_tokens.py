"""Approval tokens: mint, the token_id formula and validation order (trace.md §6.1)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from gait.errors import InvalidInput
from gait.gate.tokens import approval_token_id, mint_approval, read_token, validate_approval
from gait.signing import KeyPair

from .conftest import DIGEST_A, DIGEST_B, DIGEST_C, CliRunner, Keys

CREATED = "2026-11-24T18:33:26.576588546Z"
BEFORE_EXPIRY = "2026-11-24T18:40:00Z"  # created + 6m34s: inside a 30m TTL
AFTER_EXPIRY = "2026-11-24T19:10:00Z"  # past created + 30m
TTL_30M = 30 * 60 * 1_000_000_000


def mint(key: KeyPair, **overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "intent_digest": DIGEST_A,
        "policy_digest": DIGEST_B,
        "approver": "alice",
        "reason_code": "CHG-1",
        "scope": ["tool:tool.write"],
        "ttl_nanos": TTL_30M,
        "now": CREATED,
    }
    args.update(overrides)
    return mint_approval(key, **args)


def check(token: dict[str, Any], key: KeyPair | None, **overrides: Any) -> str:
    """Validate with matching expectations unless overridden; returns the error code."""
    args: dict[str, Any] = {
        "intent_digest": DIGEST_A,
        "policy_digest": DIGEST_B,
        "required_scope": ["tool:tool.write"],
        "target_count": 1,
        "op_count": 1,
        "now": BEFORE_EXPIRY,
    }
    args.update(overrides)
    result = validate_approval(token, key, **args)
    assert result.valid == (result.error_code == "")
    return result.error_code


# --------------------------------------------------------------------- mint ---


def test_minted_token_validates(keys: Keys) -> None:
    token = mint(keys.approver.pair)
    result = validate_approval(
        token,
        keys.approver.pair,
        intent_digest=DIGEST_A,
        policy_digest=DIGEST_B,
        required_scope=["tool:tool.write"],
        now=BEFORE_EXPIRY,
    )
    assert result.valid
    assert result.token_id == token["token_id"]


def test_minted_token_fields_in_spec_order(keys: Keys) -> None:
    token = mint(keys.approver.pair, max_targets=2, max_ops=3, delegation_binding_digest=DIGEST_C)
    assert list(token) == [
        "schema_id",
        "schema_version",
        "created_at",
        "producer_version",
        "token_id",
        "approver_identity",
        "reason_code",
        "intent_digest",
        "policy_digest",
        "delegation_binding_digest",
        "scope",
        "max_targets",
        "max_ops",
        "expires_at",
        "signature",
    ]
    assert token["schema_id"] == "gait.gate.approval_token"
    assert token["schema_version"] == "1.0.0"
    assert token["signature"]["key_id"] == keys.approver.pair.key_id


def test_absent_max_fields_are_omitted(keys: Keys) -> None:
    token = mint(keys.approver.pair)
    assert "max_targets" not in token and "max_ops" not in token
    assert "delegation_binding_digest" not in token


def test_token_id_formula_built_by_hand(keys: Keys) -> None:
    token = mint(
        keys.approver.pair,
        intent_digest=DIGEST_A.upper(),
        policy_digest=DIGEST_B.upper(),
        approver="  alice ",
        reason_code="CHG-1",
        scope=["Tool:Tool.Write", "phase:apply", "tool:tool.write", " destructive:apply "],
        max_targets=5,
    )
    expires = token["expires_at"]
    text = (
        f"{DIGEST_A}:{DIGEST_B}:alice:CHG-1:"
        "destructive:apply,phase:apply,tool:tool.write:5:0:" + expires
    )
    assert token["token_id"] == hashlib.sha256(text.encode()).hexdigest()[:24]
    assert token["scope"] == ["destructive:apply", "phase:apply", "tool:tool.write"]
    assert token["approver_identity"] == "alice"
    assert token["intent_digest"] == DIGEST_A


def test_token_id_uses_nanosecond_expiry_text() -> None:
    expires = "2036-11-21T18:33:26.576588546Z"
    by_hand = hashlib.sha256(
        f"{DIGEST_A}:{DIGEST_B}:alice:change_ticket_42:tool:tool.write:0:0:{expires}".encode()
    ).hexdigest()[:24]
    got = approval_token_id(
        DIGEST_A, DIGEST_B, "alice", "change_ticket_42", ["tool:tool.write"], 0, 0, expires
    )
    assert got == by_hand
    # A microsecond rendering of the same instant is a different id.
    assert got != approval_token_id(
        DIGEST_A,
        DIGEST_B,
        "alice",
        "change_ticket_42",
        ["tool:tool.write"],
        0,
        0,
        "2036-11-21T18:33:26.576588Z",
    )


def test_expires_at_keeps_nanoseconds(keys: Keys) -> None:
    token = mint(keys.approver.pair, ttl_nanos=1_000_000_000)
    assert token["created_at"] == CREATED
    assert token["expires_at"] == "2026-11-24T18:33:27.576588546Z"


def test_nanosecond_expiry_survives_file_round_trip(tmp_path: Path, keys: Keys) -> None:
    token = mint(keys.approver.pair)
    path = tmp_path / "tok.json"
    path.write_text(json.dumps(token, indent=2))
    loaded = read_token(str(path))
    assert loaded["expires_at"] == "2026-11-24T19:03:26.576588546Z"
    assert check(loaded, keys.approver.pair) == ""


def test_expiry_is_compared_to_the_nanosecond(keys: Keys) -> None:
    token = mint(keys.approver.pair, ttl_nanos=1_000_000_000)
    assert check(token, keys.approver.pair, now="2026-11-24T18:33:27.576588545Z") == ""
    assert (
        check(token, keys.approver.pair, now="2026-11-24T18:33:27.576588546Z")
        == "approval_token_expired"
    )


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"intent_digest": "abc"}, "--intent-digest must be 64 hex characters"),
        ({"policy_digest": "z" * 64}, "--policy-digest must be 64 hex characters"),
        ({"approver": "  "}, "approver is required"),
        ({"reason_code": ""}, "reason code is required"),
        ({"scope": [" ", ""]}, "scope is required"),
        ({"ttl_nanos": 0}, "invalid --ttl, expected positive duration"),
    ],
)
def test_mint_rejects_bad_input(keys: Keys, override: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        mint(keys.approver.pair, **override)


# --------------------------------------------------------- rejection codes ---


def _drop(token: dict[str, Any], field: str) -> dict[str, Any]:
    return {k: v for k, v in token.items() if k != field}


@pytest.mark.parametrize(
    "broken",
    [
        {"approver_identity": ""},
        {"reason_code": " "},
        {"token_id": ""},
        {"intent_digest": "abc"},
        {"policy_digest": "0" * 63},
        {"scope": []},
        {"scope": "tool:tool.write"},
        {"max_targets": -1},
        {"max_ops": 1.5},
        {"expires_at": "tomorrow"},
        {"created_at": ""},
        {"schema_id": "gait.gate.delegation_token"},
        {"schema_version": "2.0.0"},
    ],
)
def test_malformed_token_is_invalid(keys: Keys, broken: dict[str, Any]) -> None:
    token = {**mint(keys.approver.pair), **broken}
    assert check(token, keys.approver.pair) == "approval_token_invalid"


def test_invalid_wins_over_missing_key_and_signature(keys: Keys) -> None:
    token = _drop({**mint(keys.approver.pair), "approver_identity": ""}, "signature")
    assert check(token, None) == "approval_token_invalid"


def test_no_verify_key_is_signature_invalid(keys: Keys) -> None:
    # §6.1 step 2: the key check comes before the signature-presence check.
    token = _drop(mint(keys.approver.pair), "signature")
    assert check(token, None) == "approval_token_signature_invalid"


@pytest.mark.parametrize("signature", [None, {}, "sig"])
def test_missing_signature(keys: Keys, signature: Any) -> None:
    token = _drop(mint(keys.approver.pair), "signature")
    if signature is not None:
        token["signature"] = signature
    assert check(token, keys.approver.pair) == "approval_token_signature_missing"


def test_wrong_key_is_signature_invalid(keys: Keys) -> None:
    token = mint(keys.other.pair)
    assert check(token, keys.approver.pair) == "approval_token_signature_invalid"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("approver_identity", "mallory"),
        ("reason_code", "CHG-2"),
        ("scope", ["*"]),
        ("intent_digest", DIGEST_C),
        ("policy_digest", DIGEST_C),
        ("expires_at", "2099-01-01T00:00:00Z"),
        ("created_at", "2026-11-24T18:33:26.576588547Z"),
        ("max_targets", 100),
        ("producer_version", "9.9.9"),
        ("delegation_binding_digest", DIGEST_C),
    ],
)
def test_tampering_one_field_breaks_the_signature(keys: Keys, field: str, value: Any) -> None:
    token = {**mint(keys.approver.pair), field: value}
    assert check(token, keys.approver.pair) == "approval_token_signature_invalid"


def test_unknown_extra_fields_are_not_signed(keys: Keys) -> None:
    # §3: verification projects the token onto its known fields, like the reference.
    token = {**mint(keys.approver.pair), "comment": "added later"}
    assert check(token, keys.approver.pair) == ""


def test_normalizable_differences_keep_the_signature(keys: Keys) -> None:
    # The signature covers the normalized token: case and order of scope do not matter.
    token = mint(keys.approver.pair, scope=["tool:tool.write", "phase:apply"])
    token["scope"] = ["PHASE:apply", " tool:tool.write"]
    token["intent_digest"] = token["intent_digest"].upper()
    assert check(token, keys.approver.pair) == ""


def test_tampered_signature_bytes_are_rejected(keys: Keys) -> None:
    token = mint(keys.approver.pair)
    sig = token["signature"]["sig"]
    flipped = ("B" if sig[0] == "A" else "A") + sig[1:]
    token["signature"] = {**token["signature"], "sig": flipped}
    assert check(token, keys.approver.pair) == "approval_token_signature_invalid"


def test_replayed_for_another_intent(keys: Keys) -> None:
    token = mint(keys.approver.pair)
    assert check(token, keys.approver.pair, intent_digest=DIGEST_C) == (
        "approval_token_intent_mismatch"
    )


def test_policy_changed_since_approval(keys: Keys) -> None:
    token = mint(keys.approver.pair)
    assert check(token, keys.approver.pair, policy_digest=DIGEST_C) == (
        "approval_token_policy_mismatch"
    )


def test_delegation_binding_mismatch(keys: Keys) -> None:
    token = mint(keys.approver.pair, delegation_binding_digest=DIGEST_C)
    assert check(token, keys.approver.pair, delegation_binding_digest=DIGEST_C) == ""
    assert check(token, keys.approver.pair, delegation_binding_digest=DIGEST_A) == (
        "approval_token_delegation_binding_mismatch"
    )


def test_unbound_token_fails_a_binding_check(keys: Keys) -> None:
    token = mint(keys.approver.pair)
    assert check(token, keys.approver.pair, delegation_binding_digest=DIGEST_A) == (
        "approval_token_delegation_binding_mismatch"
    )


def test_expired(keys: Keys) -> None:
    assert check(mint(keys.approver.pair), keys.approver.pair, now=AFTER_EXPIRY) == (
        "approval_token_expired"
    )


def test_scope_mismatch(keys: Keys) -> None:
    token = mint(keys.approver.pair)
    assert check(token, keys.approver.pair, required_scope=["tool:tool.delete"]) == (
        "approval_token_scope_mismatch"
    )


def test_scope_must_cover_every_required_entry(keys: Keys) -> None:
    token = mint(keys.approver.pair, scope=["tool:tool.write", "phase:apply"])
    required = ["destructive:apply", "phase:apply", "tool:tool.write"]
    assert check(token, keys.approver.pair, required_scope=required) == (
        "approval_token_scope_mismatch"
    )
    full = mint(keys.approver.pair, scope=required)
    assert check(full, keys.approver.pair, required_scope=required) == ""


def test_wildcard_scope_covers_everything(keys: Keys) -> None:
    token = mint(keys.approver.pair, scope=["*"])
    assert check(token, keys.approver.pair, required_scope=["tool:x", "phase:apply"]) == ""


def test_max_targets_exceeded(keys: Keys) -> None:
    token = mint(keys.approver.pair, max_targets=2)
    assert check(token, keys.approver.pair, target_count=2) == ""
    assert check(token, keys.approver.pair, target_count=3) == (
        "approval_token_max_targets_exceeded"
    )


def test_max_ops_exceeded(keys: Keys) -> None:
    token = mint(keys.approver.pair, max_ops=1)
    assert check(token, keys.approver.pair, op_count=2) == "approval_token_max_ops_exceeded"


def test_first_failure_wins_in_spec_order(keys: Keys) -> None:
    """Every expectation wrong, then fixed one at a time: codes appear in §6.1 order."""
    token = mint(keys.approver.pair, delegation_binding_digest=DIGEST_C, max_targets=1, max_ops=1)
    expect: dict[str, Any] = {
        "intent_digest": DIGEST_C,
        "policy_digest": DIGEST_C,
        "delegation_binding_digest": DIGEST_A,
        "now": AFTER_EXPIRY,
        "required_scope": ["tool:other"],
        "target_count": 2,
        "op_count": 2,
    }
    assert check(token, keys.other.pair, **expect) == "approval_token_signature_invalid"
    fixes = [
        ("intent_digest", DIGEST_A, "approval_token_intent_mismatch"),
        ("policy_digest", DIGEST_B, "approval_token_policy_mismatch"),
        ("delegation_binding_digest", DIGEST_C, "approval_token_delegation_binding_mismatch"),
        ("now", BEFORE_EXPIRY, "approval_token_expired"),
        ("required_scope", ["tool:tool.write"], "approval_token_scope_mismatch"),
        ("target_count", 1, "approval_token_max_targets_exceeded"),
        ("op_count", 1, "approval_token_max_ops_exceeded"),
    ]
    seen = []
    for field, good, _code in fixes:
        seen.append(check(token, keys.approver.pair, **expect))
        expect[field] = good
    assert seen == [code for _f, _g, code in fixes]
    assert check(token, keys.approver.pair, **expect) == ""


# ---------------------------------------------------------- gait approve ---


def test_gait_approve_token_file_validates(cli: CliRunner, keys: Keys) -> None:
    code, out = cli(
        "approve",
        "--intent-digest",
        DIGEST_A,
        "--policy-digest",
        DIGEST_B,
        "--ttl",
        "1h30m",
        "--scope",
        "tool:tool.write,PHASE:apply",
        "--approver",
        "alice",
        "--reason-code",
        "CHG-1042",
        "--max-targets",
        "3",
        "--key-mode",
        "prod",
        "--private-key",
        keys.approver.private,
        "--out",
        "approvals/alice.json",
        "--json",
    )
    assert code == 0, out
    assert out["ok"] is True
    assert out["token_path"] == "approvals/alice.json"
    assert out["scope"] == ["phase:apply", "tool:tool.write"]
    assert out["max_targets"] == 3 and "max_ops" not in out
    assert out["key_id"] == keys.approver.pair.key_id
    assert out["description"] == "signed approval token created"
    assert "warnings" not in out
    token = read_token("approvals/alice.json")
    assert token["token_id"] == out["token_id"]
    assert Path("approvals/alice.json").stat().st_mode & 0o777 == 0o600
    result = validate_approval(
        token,
        keys.approver.pair,
        intent_digest=DIGEST_A,
        policy_digest=DIGEST_B,
        required_scope=["tool:tool.write", "phase:apply"],
        target_count=3,
    )
    assert result.valid, result.error_code


def test_gait_approve_output_expiry_is_whole_seconds(cli: CliRunner, keys: Keys) -> None:
    code, out = cli(
        "approve",
        "--intent-digest",
        DIGEST_A,
        "--policy-digest",
        DIGEST_B,
        "--ttl",
        "2h",
        "--scope",
        "tool:tool.write",
        "--approver",
        "alice",
        "--reason-code",
        "r",
        "--key-mode",
        "prod",
        "--private-key",
        keys.approver.private,
        "--json",
    )
    assert code == 0
    assert out["token_path"] == f"approval_{out['token_id']}.json"
    assert Path(out["token_path"]).is_file()
    assert len(out["expires_at"]) == len("2026-01-01T00:00:00Z")
    assert out["expires_at"].endswith("Z")


def test_gait_approve_dev_mode_warns(cli: CliRunner) -> None:
    code, out = cli(
        "approve",
        "--intent-digest",
        DIGEST_A,
        "--policy-digest",
        DIGEST_B,
        "--ttl",
        "5m",
        "--scope",
        "tool:tool.write",
        "--approver",
        "alice",
        "--reason-code",
        "r",
        "--json",
    )
    assert code == 0
    assert out["warnings"] == [
        "dev mode: signed with this user's dev key, not a production key; "
        "signatures verify only where this dev key is"
    ]


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--ttl", "0s", "--scope", "tool:x"], "invalid --ttl, expected positive duration"),
        (["--ttl", "1d", "--scope", "tool:x"], "invalid --ttl, expected positive duration"),
        (["--ttl", "10m", "--scope", " , "], "scope is required"),
    ],
)
def test_gait_approve_rejects_bad_ttl_and_scope(
    cli: CliRunner, flags: list[str], message: str
) -> None:
    code, out = cli(
        "approve",
        "--intent-digest",
        DIGEST_A,
        "--policy-digest",
        DIGEST_B,
        "--approver",
        "alice",
        "--reason-code",
        "r",
        *flags,
        "--json",
    )
    assert code == 6
    assert out["error"] == message
    assert out["error_code"] == "invalid_input"
