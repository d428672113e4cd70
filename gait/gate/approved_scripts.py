"""Approved-script registry entries (trace.md §7): create, sign, read, verify.

An entry pre-approves one script (by ``script_hash``) under one policy (by
``policy_digest``) until ``expires_at``. Entries are signed like traces
(trace.md §3), over the normalized entry. ``tool_sequence`` is stored
lowercased, de-duplicated and sorted, as in the reference. This module holds
the format; matching entries during a decision belongs to the gate pipeline.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import msgspec

from gait.errors import GaitError, InvalidInput

if TYPE_CHECKING:
    from gait.signing import KeyPair

__all__ = [
    "ENTRY_SCHEMA",
    "add_entry",
    "build_entry",
    "normalized_entry",
    "parse_registry",
    "read_registry",
    "verify_entry",
]

ENTRY_SCHEMA = "gait.gate.approved_script_entry"
SCHEMA_VERSION = "1.0.0"
MAX_REGISTRY_BYTES = 16 << 20


def _normalized(entry: dict[str, Any]) -> dict[str, Any]:
    out = {
        "schema_id": entry.get("schema_id") or ENTRY_SCHEMA,
        "schema_version": entry.get("schema_version") or SCHEMA_VERSION,
        "created_at": str(entry.get("created_at") or ""),
        "producer_version": str(entry.get("producer_version") or ""),
        "pattern_id": str(entry.get("pattern_id") or "").strip(),
        "policy_digest": str(entry.get("policy_digest") or "").strip().lower(),
        "script_hash": str(entry.get("script_hash") or "").strip().lower(),
        "tool_sequence": sorted(
            {str(t).strip().lower() for t in entry.get("tool_sequence") or () if str(t).strip()}
        ),
        "approver_identity": str(entry.get("approver_identity") or "").strip(),
        "expires_at": str(entry.get("expires_at") or ""),
    }
    scope = sorted({str(s).strip().lower() for s in entry.get("scope") or () if str(s).strip()})
    if scope:
        out["scope"] = scope
    return out


def _check(entry: dict[str, Any]) -> None:
    from gait.signing import parse_rfc3339

    if entry["schema_id"] != ENTRY_SCHEMA or entry["schema_version"] != SCHEMA_VERSION:
        raise InvalidInput(f"approved script entry must be {ENTRY_SCHEMA} {SCHEMA_VERSION}")
    for key in ("pattern_id", "approver_identity"):
        if not entry[key]:
            raise InvalidInput(f"approved script entry requires {key}")
    for key in ("policy_digest", "script_hash"):
        value = entry[key]
        if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
            raise InvalidInput(f"approved script entry {key} must be 64 hex characters")
    if not entry["tool_sequence"]:
        raise InvalidInput("approved script entry requires a tool_sequence")
    if parse_rfc3339(entry["expires_at"]) <= parse_rfc3339(entry["created_at"]):
        raise InvalidInput("approved script entry expires_at must be after created_at")


def build_entry(
    *,
    pattern_id: str,
    policy_digest: str,
    script_hash: str,
    tool_sequence: list[str],
    approver: str,
    created_at: str,
    expires_at: str,
    scope: list[str],
    producer_version: str,
    key: KeyPair,
) -> dict[str, Any]:
    from gait.signing import sign_record

    entry = _normalized(
        {
            "pattern_id": pattern_id,
            "policy_digest": policy_digest,
            "script_hash": script_hash,
            "tool_sequence": tool_sequence,
            "approver_identity": approver,
            "created_at": created_at,
            "expires_at": expires_at,
            "scope": scope,
            "producer_version": producer_version,
        }
    )
    _check(entry)
    return sign_record(entry, key)


def normalized_entry(entry: dict[str, Any]) -> dict[str, Any]:
    """The entry as signed: trimmed, lowercased, sorted; InvalidInput when malformed."""
    normalized = _normalized(entry)
    _check(normalized)
    return normalized


def verify_entry(entry: dict[str, Any], key: KeyPair) -> dict[str, Any]:
    """The normalized entry; VerificationFailed/InvalidInput unless well-formed and signed by key."""
    from gait.signing import record_digest, verify_signature

    normalized = normalized_entry(entry)
    verify_signature(entry.get("signature"), record_digest(normalized), key)
    return normalized


def read_registry(path: str, *, missing_ok: bool = False) -> list[dict[str, Any]]:
    """Entries of ``{"entries": [...]}`` or a bare array; a missing file is empty if allowed."""
    from gait.fsutil import read_regular_file

    if missing_ok and not os.path.exists(path):
        return []
    try:
        data = read_regular_file(path, MAX_REGISTRY_BYTES)
    except OSError as err:
        raise InvalidInput(f"read approved script registry {path}: {err.strerror or err}") from err
    return parse_registry(data, path)


def parse_registry(data: bytes, path: str) -> list[dict[str, Any]]:
    """Entries of a registry document (not yet normalized or verified)."""
    from gait.safejson import loads

    doc = loads(data, f"parse approved script registry {path}")
    entries = doc.get("entries") if isinstance(doc, dict) else doc
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise InvalidInput(f"approved script registry {path}: entries must be a list of objects")
    return entries


def add_entry(path: str, entry: dict[str, Any]) -> int:
    """Append (or replace by pattern_id) and write the registry atomically; returns entry count."""
    from gait.fsutil import atomic_write

    entries = [
        e
        for e in read_registry(path, missing_ok=True)
        if e.get("pattern_id") != entry["pattern_id"]
    ]
    entries.append(entry)
    entries.sort(key=lambda e: (str(e.get("pattern_id")), str(e.get("created_at"))))
    parent = os.path.dirname(path)
    if parent:
        os.makedirs(parent, mode=0o750, exist_ok=True)
    text = msgspec.json.format(msgspec.json.encode({"entries": entries}), indent=2) + b"\n"
    atomic_write(path, text, 0o600)
    return len(entries)


def entry_status(entry: dict[str, Any], key: KeyPair | None, now_ns: int) -> tuple[str, str]:
    """(status, detail): ``valid``, ``expired``, ``unverified`` (no key) or ``invalid``."""
    from gait.signing import parse_rfc3339

    try:
        normalized = normalized_entry(entry) if key is None else verify_entry(entry, key)
        seconds, nanos = parse_rfc3339(normalized["expires_at"])
    except GaitError as err:
        return "invalid", err.message
    if seconds * 1_000_000_000 + nanos <= now_ns:
        return "expired", ""
    return ("valid" if key is not None else "unverified"), ""
