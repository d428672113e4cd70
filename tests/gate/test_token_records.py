"""Approval and delegation tokens as msgspec Structs: minted bytes, the normalized
(signed) form and validation results are those of the former dict-built records.

tests/gate/golden/token_records.json was produced by the dict-based implementation
(before the Structs) from the corpus below; nothing here may change it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import msgspec
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import gait
from gait.gate import tokens as T
from gait.signing import KeyPair, key_id_for
from gait.trace.store import pretty_json

GOLDEN = json.loads((Path(__file__).parent / "golden" / "token_records.json").read_text())
NOW = "2026-11-24T18:33:26.576588546Z"
MINTS = [
    dict(
        intent_digest="A" * 64,
        policy_digest="b" * 64,
        approver=" alice ",
        reason_code="r",
        scope=["Tool:x", "a", "a"],
        ttl_nanos=3600 * 10**9,
        now=NOW,
    ),
    dict(
        intent_digest="a" * 64,
        policy_digest="b" * 64,
        approver="bob",
        reason_code="r2",
        scope=["*"],
        ttl_nanos=1,
        now="2026-01-01T00:00:00Z",
        delegation_binding_digest="C" * 64,
        max_targets=3,
        max_ops=9,
    ),
    dict(
        intent_digest="a" * 64,
        policy_digest="b" * 64,
        approver="bob",
        reason_code="r2",
        scope=["s"],
        ttl_nanos=10**9,
        now="2026-01-01T00:00:00+02:00",
        max_ops=1,
    ),
]
DELEGATIONS = [
    dict(delegator=" d ", delegate="e", scope=["B", "a"], ttl_nanos=5 * 10**9, now=NOW),
    dict(
        delegator="d",
        delegate="e",
        scope=["x"],
        ttl_nanos=5 * 10**9,
        now=NOW,
        scope_class="Write",
        intent_digest="A" * 64,
        policy_digest="b" * 64,
    ),
]
APPROVAL_VARIANTS: list[dict[str, Any]] = [
    {},
    {"producer_version": ""},
    {"producer_version": None},
    {"max_targets": 3.0},
    {"max_ops": 0},
    {"max_ops": None},
    {"delegation_binding_digest": ""},
    {"approver_identity": "  bob "},
    {"scope": ["*", "*", " S "]},
    {"schema_id": ""},
    {"intent_digest": "A" * 64},
    {"expires_at": " 2026-01-01T00:00:00.000000001Z "},
    {"max_targets": -1},
    {"max_targets": True},
]
DELEGATION_VARIANTS: list[dict[str, Any]] = [
    {},
    {"producer_version": ""},
    {"scope_class": ""},
    {"intent_digest": None},
    {"policy_digest": " B"},
    {"scope": ["Z", "z"]},
    {"delegate_identity": " e "},
]


@pytest.fixture(autouse=True)
def _fixed_producer_version(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gait, "PRODUCER_VERSION", "0.1.0")  # the golden records carry it


@pytest.fixture(scope="module")
def key() -> KeyPair:
    private = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    public = private.public_key()
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return KeyPair(public, private, key_id_for(raw), "test")


def _sha(record: dict[str, Any]) -> str:
    return hashlib.sha256(pretty_json(record)).hexdigest()


@pytest.mark.parametrize("index", range(len(MINTS)))
def test_minted_approval_bytes_unchanged(key: KeyPair, index: int) -> None:
    assert _sha(T.mint_approval(key, **MINTS[index])) == GOLDEN[f"approval{index}"]


@pytest.mark.parametrize("index", range(len(DELEGATIONS)))
def test_minted_delegation_bytes_unchanged(key: KeyPair, index: int) -> None:
    assert _sha(T.mint_delegation(key, **DELEGATIONS[index])) == GOLDEN[f"delegation{index}"]


def _normalized(norm: msgspec.Struct | None) -> str:
    return json.dumps(None if norm is None else msgspec.to_builtins(norm))


@pytest.mark.parametrize("index", range(len(APPROVAL_VARIANTS)))
def test_approval_normalized_form_and_check_unchanged(key: KeyPair, index: int) -> None:
    token = {**T.mint_approval(key, **MINTS[1]), **APPROVAL_VARIANTS[index]}
    assert _normalized(T._normalized_approval(token)) == GOLDEN[f"norm_a{index}"]
    check = T.validate_approval(
        token,
        key,
        intent_digest="a" * 64,
        policy_digest="b" * 64,
        required_scope=["s"],
        now="2026-01-01T00:00:00Z",
    )
    assert repr(check) == GOLDEN[f"check_a{index}"]


@pytest.mark.parametrize("index", range(len(DELEGATION_VARIANTS)))
def test_delegation_normalized_form_and_check_unchanged(key: KeyPair, index: int) -> None:
    token = {**T.mint_delegation(key, **DELEGATIONS[1]), **DELEGATION_VARIANTS[index]}
    assert _normalized(T._normalized_delegation(token)) == GOLDEN[f"norm_d{index}"]
    check = T.validate_delegation(token, key, now="2026-01-01T00:00:00Z")
    assert repr(check) == GOLDEN[f"check_d{index}"]


def test_field_order_is_the_spec_order() -> None:
    assert T.APPROVAL_FIELDS == (
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
    )
    assert T.DELEGATION_FIELDS == (
        "schema_id",
        "schema_version",
        "created_at",
        "producer_version",
        "token_id",
        "delegator_identity",
        "delegate_identity",
        "scope",
        "scope_class",
        "intent_digest",
        "policy_digest",
        "expires_at",
    )
