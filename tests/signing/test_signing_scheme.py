"""The §3 signing scheme: digest of the JCS record minus signature, Ed25519 over raw digest bytes."""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest

from gait.canonical import canonical_bytes, digest
from gait.errors import InvalidInput, VerificationFailed
from gait.signing import (
    KeyPair,
    record_digest,
    sign_digest,
    sign_record,
    verify_record,
    verify_signature,
)

RECORD: dict[str, Any] = {
    "schema_id": "gait.gate.approval_token",
    "created_at": "2026-11-24T18:33:26.576588546Z",
    "scope": ["tool:tool.write"],
    "max_ops": 2,
}


def _signed(key: KeyPair) -> dict[str, Any]:
    return sign_record(RECORD, key)


def test_sign_digest_returns_signature_object(fixed_key: KeyPair) -> None:
    d = digest({"a": 1})
    sig = sign_digest(fixed_key, d)
    assert list(sig) == ["alg", "key_id", "sig", "signed_digest"]
    assert sig["alg"] == "ed25519"
    assert sig["key_id"] == fixed_key.key_id
    assert sig["signed_digest"] == d


def test_sig_is_over_raw_digest_bytes_not_hex_text(fixed_key: KeyPair) -> None:
    d = digest({"a": 1})
    raw_sig = base64.b64decode(sign_digest(fixed_key, d)["sig"], validate=True)
    assert len(raw_sig) == 64
    fixed_key.public.verify(raw_sig, bytes.fromhex(d))  # raises if not over the 32 raw bytes


def test_sign_digest_needs_private_key(fixed_key: KeyPair) -> None:
    public_only = KeyPair(fixed_key.public, None, fixed_key.key_id, "derived")
    with pytest.raises(InvalidInput, match="private key is required"):
        sign_digest(public_only, digest({}))


@pytest.mark.parametrize(
    ("bad", "message"), [("zz", "^decode digest: "), ("ab" * 31, "^invalid digest length: 31$")]
)
def test_sign_digest_rejects_non_sha256_hex(fixed_key: KeyPair, bad: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        sign_digest(fixed_key, bad)


def test_signed_digest_is_jcs_digest_of_record_without_signature(fixed_key: KeyPair) -> None:
    signed = _signed(fixed_key)
    assert signed["signature"]["signed_digest"] == digest(RECORD)
    assert record_digest(signed) == digest(RECORD)
    assert canonical_bytes(RECORD).startswith(
        b'{"created_at"'
    )  # keys sorted: JCS, not insertion order


def test_sign_record_returns_new_dict_and_leaves_input_alone(fixed_key: KeyPair) -> None:
    before = copy.deepcopy(RECORD)
    signed = _signed(fixed_key)
    assert RECORD == before
    assert list(signed)[-1] == "signature"
    assert {k: v for k, v in signed.items() if k != "signature"} == RECORD


def test_resigning_replaces_old_signature(fixed_key: KeyPair, other_key: KeyPair) -> None:
    resigned = sign_record(_signed(fixed_key), other_key)
    assert resigned["signature"]["key_id"] == other_key.key_id
    assert resigned["signature"]["signed_digest"] == digest(RECORD)


def test_same_record_same_key_gives_identical_signature(fixed_key: KeyPair) -> None:
    assert canonical_bytes(_signed(fixed_key)) == canonical_bytes(_signed(fixed_key))


def test_verify_roundtrip(fixed_key: KeyPair) -> None:
    verify_record(_signed(fixed_key), fixed_key)


def test_verify_accepts_empty_key_id(fixed_key: KeyPair) -> None:
    signed = _signed(fixed_key)
    signed["signature"]["key_id"] = ""
    verify_record(signed, fixed_key)


def _tampered(key: KeyPair, **changes: Any) -> dict[str, Any]:
    signed = _signed(key)
    for name, value in changes.items():
        if value is None:
            signed["signature"].pop(name)
        else:
            signed["signature"][name] = value
    return signed


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"signed_digest": None}, "missing signed_digest"),
        ({"signed_digest": ""}, "missing signed_digest"),
        ({"signed_digest": "0" * 64}, "signed_digest mismatch"),
        ({"alg": "rsa"}, "unsupported alg: rsa"),
        ({"alg": None}, "unsupported alg: "),
        ({"key_id": "f" * 64}, "key id mismatch"),
        ({"sig": "***"}, "decode sig: "),
        ({"sig": base64.b64encode(b"x" * 63).decode()}, "invalid signature length: 63"),
        ({"sig": base64.b64encode(b"x" * 64).decode()}, "signature verification failed"),
    ],
)
def test_verify_errors(fixed_key: KeyPair, changes: dict[str, Any], message: str) -> None:
    with pytest.raises(VerificationFailed) as info:
        verify_record(_tampered(fixed_key, **changes), fixed_key)
    assert info.value.message.startswith(message)
    assert info.value.exit_code == 2


def test_changed_record_field_is_digest_mismatch(fixed_key: KeyPair) -> None:
    signed = _signed(fixed_key)
    signed["max_ops"] = 3
    with pytest.raises(VerificationFailed, match=r"^signed_digest mismatch$"):
        verify_record(signed, fixed_key)


def test_other_key_without_key_id_fails_on_signature(
    fixed_key: KeyPair, other_key: KeyPair
) -> None:
    signed = _tampered(fixed_key, key_id="")
    with pytest.raises(VerificationFailed, match=r"^signature verification failed$"):
        verify_record(signed, other_key)


def test_record_without_signature(fixed_key: KeyPair) -> None:
    with pytest.raises(VerificationFailed, match=r"^signature missing$"):
        verify_record(dict(RECORD), fixed_key)


def test_verify_signature_against_given_digest(fixed_key: KeyPair) -> None:
    d = digest({"x": [1, 2]})
    verify_signature(sign_digest(fixed_key, d), d, fixed_key)
    with pytest.raises(VerificationFailed, match=r"^signed_digest mismatch$"):
        verify_signature(sign_digest(fixed_key, d), digest({"x": [2, 1]}), fixed_key)


def test_non_string_signature_field_fails(fixed_key: KeyPair) -> None:
    with pytest.raises(VerificationFailed, match="invalid signature field: sig"):
        verify_record(_tampered(fixed_key, sig=123), fixed_key)
