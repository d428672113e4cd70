"""The signing scheme shared by traces, tokens and approved-script entries (trace.md §3).

``signed_digest`` = sha256 hex of the JCS form of the record without its
``signature``; ``sig`` = Ed25519 over the 32 raw digest bytes (not the hex
text, not the JSON). Signing the digest rather than the JSON lets any JCS
implementation verify, whatever its field order or whitespace.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from gait.canonical import digest
from gait.errors import InvalidInput, VerificationFailed
from gait.signing.keys import KeyPair

__all__ = [
    "ALG_ED25519",
    "record_digest",
    "sign_digest",
    "sign_record",
    "verify_record",
    "verify_signature",
]

ALG_ED25519 = "ed25519"


def _digest_bytes(digest_hex: str, error: type[InvalidInput] | type[VerificationFailed]) -> bytes:
    try:
        raw = bytes.fromhex(digest_hex)
    except (TypeError, ValueError) as err:
        raise error(f"decode digest: {err}") from err
    if len(raw) != 32:
        raise error(f"invalid digest length: {len(raw)}")
    return raw


def record_digest(record: dict[str, Any]) -> str:
    """Digest of ``record`` without its ``signature`` field: what gets signed."""
    return digest({k: v for k, v in record.items() if k != "signature"})


def sign_digest(key: KeyPair, digest_hex: str) -> dict[str, str]:
    """Sign a sha256 hex digest; returns the ``signature`` object of §3."""
    if key.private is None:
        raise InvalidInput("signing private key is required")
    sig = key.private.sign(_digest_bytes(digest_hex, InvalidInput))
    return {
        "alg": ALG_ED25519,
        "key_id": key.key_id,
        "sig": base64.b64encode(sig).decode("ascii"),
        "signed_digest": digest_hex,
    }


def sign_record(record: dict[str, Any], key: KeyPair) -> dict[str, Any]:
    """A copy of ``record`` with ``signature`` over everything else (any old one replaced).

    The record must already follow its format's field rules (omit-empty fields
    left out, times as RFC 3339 text): what is signed is exactly what is given.
    Ed25519 is deterministic, so the same record and key give identical bytes.
    """
    signed = {k: v for k, v in record.items() if k != "signature"}
    signed["signature"] = sign_digest(key, record_digest(record))
    return signed


def verify_signature(signature: Any, digest_hex: str, key: KeyPair) -> None:
    """Check ``signature`` against the recomputed ``digest_hex`` with ``key``.

    Raises :class:`VerificationFailed` with the reference messages, in its
    order: ``missing signed_digest``, ``signed_digest mismatch``,
    ``unsupported alg: X``, ``key id mismatch``, ``decode sig: ...``,
    ``invalid signature length: N``, ``signature verification failed``.
    """
    from cryptography.exceptions import InvalidSignature

    if not isinstance(signature, dict):
        raise VerificationFailed("signature missing")
    fields = {name: signature.get(name) for name in ("alg", "key_id", "sig", "signed_digest")}
    for name, value in fields.items():
        if value is not None and not isinstance(value, str):
            raise VerificationFailed(f"invalid signature field: {name}")
    signed_digest = fields["signed_digest"] or ""
    if not signed_digest:
        raise VerificationFailed("missing signed_digest")
    if signed_digest != digest_hex:
        raise VerificationFailed("signed_digest mismatch")
    message = _digest_bytes(signed_digest, VerificationFailed)
    alg = fields["alg"] or ""
    if alg != ALG_ED25519:
        raise VerificationFailed(f"unsupported alg: {alg}")
    key_id = fields["key_id"] or ""
    if key_id and key_id != key.key_id:
        raise VerificationFailed("key id mismatch")
    sig_text = fields["sig"] or ""
    try:
        raw_sig = base64.b64decode(sig_text.encode("ascii"), validate=True)
    except (binascii.Error, ValueError) as err:
        raise VerificationFailed(f"decode sig: {err}") from err
    if base64.b64encode(raw_sig).decode("ascii") != sig_text:
        # Unused trailing bits would let many texts carry one signature; accept only the one.
        raise VerificationFailed("decode sig: non-canonical base64")
    if len(raw_sig) != 64:
        raise VerificationFailed(f"invalid signature length: {len(raw_sig)}")
    try:
        key.public.verify(raw_sig, message)
    except InvalidSignature as err:
        raise VerificationFailed("signature verification failed") from err


def verify_record(record: dict[str, Any], key: KeyPair) -> None:
    """Verify a record's own ``signature`` over the rest of it (§3)."""
    signature = record.get("signature")
    if signature is None:
        raise VerificationFailed("signature missing")
    verify_signature(signature, record_digest(record), key)
