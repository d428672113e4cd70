"""Signed approval and delegation tokens (trace.md §6.1, §6.2).

Tokens are plain JSON records signed with the record scheme of trace.md §3.
Times stay as RFC 3339 text (nanoseconds kept) so reference tokens verify.
Validation returns an error *code* (the reason code gate eval reports) rather
than raising: a bad token is an input to the decision, not a crash.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

from gait.errors import InvalidInput, VerificationFailed
from gait.intent._text import is_sha256_hex
from gait.signing import (
    KeyPair,
    format_rfc3339,
    now_rfc3339,
    parse_rfc3339,
    sign_record,
    verify_record,
)

APPROVAL_SCHEMA = "gait.gate.approval_token"
DELEGATION_SCHEMA = "gait.gate.delegation_token"
TOKEN_VERSION = "1.0.0"


class _Token(msgspec.Struct, kw_only=True, omit_defaults=True, gc=False):
    """A token's signed fields in written order; ``?`` fields (a default) are left out when empty."""


class ApprovalToken(_Token, kw_only=True):
    """``gait.gate.approval_token`` (trace.md §6.1), normalized, without its signature."""

    schema_id: str
    schema_version: str
    created_at: str
    producer_version: str = ""
    token_id: str
    approver_identity: str
    reason_code: str
    intent_digest: str
    policy_digest: str
    delegation_binding_digest: str = ""
    scope: list[str]
    max_targets: int = 0
    max_ops: int = 0
    expires_at: str


class DelegationToken(_Token, kw_only=True):
    """``gait.gate.delegation_token`` (trace.md §6.2), normalized, without its signature."""

    schema_id: str
    schema_version: str
    created_at: str
    producer_version: str = ""
    token_id: str
    delegator_identity: str
    delegate_identity: str
    scope: list[str]
    scope_class: str = ""
    intent_digest: str = ""
    policy_digest: str = ""
    expires_at: str


APPROVAL_FIELDS = tuple(f.encode_name for f in msgspec.structs.fields(ApprovalToken))
DELEGATION_FIELDS = tuple(f.encode_name for f in msgspec.structs.fields(DelegationToken))


def _signed(token: _Token, key: KeyPair) -> dict[str, Any]:
    return sign_record(msgspec.to_builtins(token), key)


def norm_scope(values: Iterable[str]) -> list[str]:
    return sorted({v.strip().lower() for v in values if v and v.strip()})


def short_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def approval_token_id(
    intent_digest: str,
    policy_digest: str,
    approver: str,
    reason_code: str,
    scope: Iterable[str],
    max_targets: int,
    max_ops: int,
    expires_at: str,
) -> str:
    return short_hash(
        f"{intent_digest.lower()}:{policy_digest.lower()}:{approver.strip()}:{reason_code.strip()}:"
        f"{','.join(norm_scope(scope))}:{max_targets}:{max_ops}:{expires_at}"
    )


def delegation_token_id(
    delegator: str,
    delegate: str,
    scope: Iterable[str],
    scope_class: str,
    intent_digest: str,
    policy_digest: str,
    expires_at: str,
) -> str:
    return short_hash(
        f"{delegator.strip()}:{delegate.strip()}:{','.join(norm_scope(scope))}:"
        f"{scope_class.strip().lower()}:{intent_digest.lower()}:{policy_digest.lower()}:{expires_at}"
    )


def parse_ttl(text: str) -> int:
    """``--ttl`` as nanoseconds; anything but a positive Go duration is invalid input."""
    from gait.policy.duration import parse_go_duration

    try:
        nanos = parse_go_duration(text) if text.strip() else 0
    except ValueError:
        nanos = 0
    if nanos <= 0:
        raise InvalidInput("invalid --ttl, expected positive duration")
    if nanos >= 2**63:
        # Go durations are int64 nanoseconds (about 292 years)
        raise InvalidInput("invalid --ttl, duration exceeds 2562047h (int64 nanoseconds)")
    return nanos


def write_token(path: str, token: dict[str, Any]) -> str:
    from gait.trace import write_json_record

    return write_json_record(path, token)


def _expires(created: str, ttl_nanos: int) -> str:
    secs, nanos = parse_rfc3339(created)
    total = secs * 1_000_000_000 + nanos + ttl_nanos
    return format_rfc3339(*divmod(total, 1_000_000_000))


def mint_approval(
    key: KeyPair,
    *,
    intent_digest: str,
    policy_digest: str,
    approver: str,
    reason_code: str,
    scope: Iterable[str],
    ttl_nanos: int,
    delegation_binding_digest: str = "",
    max_targets: int = 0,
    max_ops: int = 0,
    now: str | None = None,
) -> dict[str, Any]:
    """A signed approval token bound to one intent and policy digest."""
    from gait import PRODUCER_VERSION

    intent_digest, policy_digest = intent_digest.strip().lower(), policy_digest.strip().lower()
    binding = delegation_binding_digest.strip().lower()
    for name, value in (("intent-digest", intent_digest), ("policy-digest", policy_digest)):
        if not is_sha256_hex(value):
            raise InvalidInput(f"--{name} must be 64 hex characters")
    if binding and not is_sha256_hex(binding):
        raise InvalidInput("--delegation-binding-digest must be 64 hex characters")
    if not approver.strip():
        raise InvalidInput("approver is required")
    if not reason_code.strip():
        raise InvalidInput("reason code is required")
    scopes = norm_scope(scope)
    if not scopes:
        raise InvalidInput("scope is required")
    if ttl_nanos <= 0:
        raise InvalidInput("invalid --ttl, expected positive duration")
    if max_targets < 0 or max_ops < 0:
        raise InvalidInput("--max-targets and --max-ops must be >= 0")
    created = now or now_rfc3339()
    expires = _expires(created, ttl_nanos)
    token = ApprovalToken(
        schema_id=APPROVAL_SCHEMA,
        schema_version=TOKEN_VERSION,
        created_at=created,
        producer_version=PRODUCER_VERSION,
        token_id=approval_token_id(
            intent_digest,
            policy_digest,
            approver,
            reason_code,
            scopes,
            max_targets,
            max_ops,
            expires,
        ),
        approver_identity=approver.strip(),
        reason_code=reason_code.strip(),
        intent_digest=intent_digest,
        policy_digest=policy_digest,
        delegation_binding_digest=binding,
        scope=scopes,
        max_targets=max_targets,
        max_ops=max_ops,
        expires_at=expires,
    )
    return _signed(token, key)


def mint_delegation(
    key: KeyPair,
    *,
    delegator: str,
    delegate: str,
    scope: Iterable[str],
    ttl_nanos: int,
    scope_class: str = "",
    intent_digest: str = "",
    policy_digest: str = "",
    now: str | None = None,
) -> dict[str, Any]:
    from gait import PRODUCER_VERSION

    if not delegator.strip():
        raise InvalidInput("delegator is required")
    if not delegate.strip():
        raise InvalidInput("delegate is required")
    scopes = norm_scope(scope)
    if not scopes:
        raise InvalidInput("scope is required")
    if ttl_nanos <= 0:
        raise InvalidInput("invalid --ttl, expected positive duration")
    intent_digest, policy_digest = intent_digest.strip().lower(), policy_digest.strip().lower()
    for name, value in (("intent-digest", intent_digest), ("policy-digest", policy_digest)):
        if value and not is_sha256_hex(value):
            raise InvalidInput(f"--{name} must be 64 hex characters")
    created = now or now_rfc3339()
    expires = _expires(created, ttl_nanos)
    token = DelegationToken(
        schema_id=DELEGATION_SCHEMA,
        schema_version=TOKEN_VERSION,
        created_at=created,
        producer_version=PRODUCER_VERSION,
        token_id=delegation_token_id(
            delegator, delegate, scopes, scope_class, intent_digest, policy_digest, expires
        ),
        delegator_identity=delegator.strip(),
        delegate_identity=delegate.strip(),
        scope=scopes,
        scope_class=scope_class.strip().lower(),
        intent_digest=intent_digest,
        policy_digest=policy_digest,
        expires_at=expires,
    )
    return _signed(token, key)


MAX_TOKEN_BYTES = 1024 * 1024
"""Largest token file gait reads."""


def read_token(path: str) -> dict[str, Any]:
    """Read a token file; unreadable or unparsable files are invalid input (exit 6)."""
    from gait.fsutil import read_regular_file

    try:
        data = read_regular_file(path, MAX_TOKEN_BYTES)
    except OSError as err:
        raise InvalidInput(f"read token {path}: {err.strerror or err}") from err
    from gait.safejson import loads

    # repeated keys, huge integers and deep nesting are rejected, naming the file
    value = loads(data, f"parse token {path}")
    if not isinstance(value, dict):
        raise InvalidInput(f"parse token {path}: token must be a JSON object")
    return value


# ------------------------------------------------------------ validation ---


class TokenCheck(msgspec.Struct, frozen=True, gc=False):
    """The outcome of checking one token: valid, or the §6 error code."""

    valid: bool
    token_id: str = ""
    error_code: str = ""


def _now_nanos(now: str | None) -> int:
    secs, nanos = parse_rfc3339(now or now_rfc3339())
    return secs * 1_000_000_000 + nanos


def _time_nanos(text: Any) -> int | None:
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        secs, nanos = parse_rfc3339(text.strip())
    except InvalidInput:
        return None
    return secs * 1_000_000_000 + nanos


def _str(token: Mapping[str, Any], key: str) -> str:
    value = token.get(key, "")
    return value.strip() if isinstance(value, str) else ""


def _int(token: Mapping[str, Any], key: str) -> int | None:
    value = token.get(key, 0)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        return None
    return int(value)


def _normalized_approval(token: Mapping[str, Any]) -> ApprovalToken | None:
    """The token as signed (trimmed, digests and scope lowercased), or None when invalid."""
    if _str(token, "schema_id") not in ("", APPROVAL_SCHEMA):
        return None
    if _str(token, "schema_version") not in ("", TOKEN_VERSION):
        return None
    scope = token.get("scope")
    if not isinstance(scope, list) or not all(isinstance(s, str) for s in scope):
        return None
    max_targets, max_ops = _int(token, "max_targets"), _int(token, "max_ops")
    created, expires = token.get("created_at"), token.get("expires_at")
    if (
        max_targets is None
        or max_targets < 0
        or max_ops is None
        or max_ops < 0
        or _time_nanos(created) is None
        or _time_nanos(expires) is None
    ):
        return None
    norm = ApprovalToken(
        schema_id=APPROVAL_SCHEMA,
        schema_version=TOKEN_VERSION,
        created_at=created.strip(),
        producer_version=_str(token, "producer_version"),
        token_id=_str(token, "token_id"),
        approver_identity=_str(token, "approver_identity"),
        reason_code=_str(token, "reason_code"),
        intent_digest=_str(token, "intent_digest").lower(),
        policy_digest=_str(token, "policy_digest").lower(),
        delegation_binding_digest=_str(token, "delegation_binding_digest").lower(),
        scope=norm_scope(scope),
        max_targets=max_targets,
        max_ops=max_ops,
        expires_at=expires.strip(),
    )
    if (
        not norm.token_id
        or not norm.approver_identity
        or not norm.reason_code
        or not is_sha256_hex(norm.intent_digest)
        or not is_sha256_hex(norm.policy_digest)
        or not norm.scope
    ):
        return None
    return norm


def validate_approval(
    token: Mapping[str, Any],
    key: KeyPair | None,
    *,
    intent_digest: str,
    policy_digest: str,
    required_scope: Iterable[str],
    delegation_binding_digest: str = "",
    target_count: int = 0,
    op_count: int = 0,
    now: str | None = None,
) -> TokenCheck:
    """Check one approval token in the order of trace.md §6.1; the first failure wins."""
    norm = _normalized_approval(token)
    if norm is None:
        return TokenCheck(False, _str(token, "token_id"), "approval_token_invalid")
    tid = norm.token_id
    if key is None:
        return TokenCheck(False, tid, "approval_token_signature_invalid")
    signature = token.get("signature")
    if not isinstance(signature, dict) or not signature:
        return TokenCheck(False, tid, "approval_token_signature_missing")
    try:
        verify_record({**msgspec.to_builtins(norm), "signature": signature}, key)
    except (VerificationFailed, InvalidInput):
        return TokenCheck(False, tid, "approval_token_signature_invalid")
    if norm.intent_digest != intent_digest.lower():
        return TokenCheck(False, tid, "approval_token_intent_mismatch")
    if norm.policy_digest != policy_digest.lower():
        return TokenCheck(False, tid, "approval_token_policy_mismatch")
    if delegation_binding_digest and norm.delegation_binding_digest != delegation_binding_digest:
        return TokenCheck(False, tid, "approval_token_delegation_binding_mismatch")
    expires = _time_nanos(norm.expires_at)
    if expires is None or _now_nanos(now) >= expires:
        return TokenCheck(False, tid, "approval_token_expired")
    scopes = set(norm.scope)
    if "*" not in scopes and not set(required_scope) <= scopes:
        return TokenCheck(False, tid, "approval_token_scope_mismatch")
    if norm.max_targets and target_count > norm.max_targets:
        return TokenCheck(False, tid, "approval_token_max_targets_exceeded")
    if norm.max_ops and op_count > norm.max_ops:
        return TokenCheck(False, tid, "approval_token_max_ops_exceeded")
    return TokenCheck(True, tid)


def _normalized_delegation(token: Mapping[str, Any]) -> DelegationToken | None:
    """The token as signed (trimmed, lowercased where §6.2 says), or None when invalid."""
    if _str(token, "schema_id") not in ("", DELEGATION_SCHEMA):
        return None
    if _str(token, "schema_version") not in ("", TOKEN_VERSION):
        return None
    scope = token.get("scope")
    if not isinstance(scope, list) or not all(isinstance(s, str) for s in scope):
        return None
    created, expires = token.get("created_at"), token.get("expires_at")
    if _time_nanos(created) is None or _time_nanos(expires) is None:
        return None
    norm = DelegationToken(
        schema_id=DELEGATION_SCHEMA,
        schema_version=TOKEN_VERSION,
        created_at=created.strip(),
        producer_version=_str(token, "producer_version"),
        token_id=_str(token, "token_id"),
        delegator_identity=_str(token, "delegator_identity"),
        delegate_identity=_str(token, "delegate_identity"),
        scope=norm_scope(scope),
        scope_class=_str(token, "scope_class").lower(),
        intent_digest=_str(token, "intent_digest").lower(),
        policy_digest=_str(token, "policy_digest").lower(),
        expires_at=expires.strip(),
    )
    if (
        not norm.token_id
        or not norm.delegator_identity
        or not norm.delegate_identity
        or not norm.scope
        or (norm.intent_digest and not is_sha256_hex(norm.intent_digest))
        or (norm.policy_digest and not is_sha256_hex(norm.policy_digest))
    ):
        return None
    return norm


def validate_delegation(
    token: Mapping[str, Any],
    key: KeyPair | None,
    *,
    delegator: str = "",
    delegate: str = "",
    required_scope: Iterable[str] = (),
    intent_digest: str = "",
    policy_digest: str = "",
    now: str | None = None,
) -> TokenCheck:
    """Check one delegation token in the order of trace.md §6.2."""
    norm = _normalized_delegation(token)
    if norm is None:
        return TokenCheck(False, _str(token, "token_id"), "delegation_token_invalid")
    tid = norm.token_id
    signature = token.get("signature")
    if not isinstance(signature, dict) or not signature:
        return TokenCheck(False, tid, "delegation_token_signature_missing")
    if key is None:
        return TokenCheck(False, tid, "delegation_token_signature_invalid")
    try:
        verify_record({**msgspec.to_builtins(norm), "signature": signature}, key)
    except (VerificationFailed, InvalidInput):
        return TokenCheck(False, tid, "delegation_token_signature_invalid")
    expires = _time_nanos(norm.expires_at)
    if expires is None or _now_nanos(now) >= expires:
        return TokenCheck(False, tid, "delegation_token_expired")
    if delegator and norm.delegator_identity != delegator:
        return TokenCheck(False, tid, "delegation_token_delegator_mismatch")
    if delegate and norm.delegate_identity != delegate:
        return TokenCheck(False, tid, "delegation_token_delegate_mismatch")
    if intent_digest and norm.intent_digest and norm.intent_digest != intent_digest.lower():
        return TokenCheck(False, tid, "delegation_token_intent_mismatch")
    if policy_digest and norm.policy_digest and norm.policy_digest != policy_digest.lower():
        return TokenCheck(False, tid, "delegation_token_policy_mismatch")
    required = {s.strip().lower() for s in required_scope if s.strip()}
    if required:
        have = set(norm.scope) | ({norm.scope_class} if norm.scope_class else set())
        if "*" not in have and not (have & required):
            return TokenCheck(False, tid, "delegation_token_scope_mismatch")
    return TokenCheck(True, tid)
