"""Approval-token consumption for ``require_approval`` verdicts (trace.md §5.3, §5.9)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import msgspec

from gait.errors import InvalidInput, StateUnavailable
from gait.signing import KeyPair, parse_rfc3339, resolve_verify_key

if TYPE_CHECKING:
    from gait.engine import Decision

REPLAYED = "approval_token_replayed"
APPROVAL_AUDIT_SCHEMA = "gait.gate.approval_audit_record"


class ApprovalAuditEntry(msgspec.Struct, kw_only=True, omit_defaults=True, gc=False):
    """One token's line in the approval audit (trace.md §5.9); empty fields are left out."""

    token_id: str = ""
    approver_identity: str = ""
    reason_code: str = ""
    scope: list[str] = msgspec.field(default_factory=list)
    expires_at: str = ""
    valid: bool
    error_code: str = ""


class ApprovalAudit(msgspec.Struct, kw_only=True, omit_defaults=True, gc=False):
    """``gait.gate.approval_audit_record`` v1.0.0 (trace.md §5.9), in written order.

    ``trace_id`` is filled in by whoever writes the record (it names the signed
    trace); ``approvers`` follows ``entries``, as gait has always written it.
    """

    schema_id: str
    schema_version: str
    created_at: str
    producer_version: str
    trace_id: str = ""
    tool_name: str
    intent_digest: str
    policy_digest: str
    required_approvals: int
    valid_approvals: int
    approved: bool
    entries: list[ApprovalAuditEntry]
    approvers: list[str] = msgspec.field(default_factory=list)


class ApprovalOutcome(msgspec.Struct):
    required: int
    granted: bool = False
    valid_count: int = 0
    ref: str = ""
    reason_codes: set[str] = msgspec.field(default_factory=set)
    violations: set[str] = msgspec.field(default_factory=set)
    audit: dict[str, Any] | None = None
    state_error: StateUnavailable | None = None  # the replay store could not answer


class VerifyKeySources(msgspec.Struct, frozen=True):
    """Where approval and delegation verify keys come from (files or env vars).

    Resolved when a token is checked, not before: a call that needs no token
    never reads a key.
    """

    approval_public_key: str | None = None
    approval_public_key_env: str | None = None
    approval_private_key: str | None = None
    approval_private_key_env: str | None = None
    delegation_public_key: str | None = None
    delegation_public_key_env: str | None = None
    delegation_private_key: str | None = None
    delegation_private_key_env: str | None = None

    def approval_key(
        self, signing_key: KeyPair, profile: str, names: Mapping[str, str] | None = None
    ) -> KeyPair:
        """Explicit approval key, else (standard profile only) the signing key's public half."""
        sources = (
            self.approval_public_key,
            self.approval_public_key_env,
            self.approval_private_key,
            self.approval_private_key_env,
        )
        if not any(sources):
            if profile == "oss-prod":
                n = names or {}
                flags = [
                    n.get(k, k)
                    for k in (
                        "approval_public_key",
                        "approval_public_key_env",
                        "approval_private_key",
                        "approval_private_key_env",
                    )
                ]
                raise InvalidInput(
                    "oss-prod profile requires explicit approval verify key "
                    f"({flags[0]}, {flags[1]}, {flags[2]} or {flags[3]})"
                )
            return KeyPair(signing_key.public, None, signing_key.key_id, "derived")
        return resolve_verify_key(
            public_key=sources[0],
            public_key_env=sources[1],
            private_key=sources[2],
            private_key_env=sources[3],
        )

    def delegation_key(
        self, signing_key: KeyPair, profile: str, names: Mapping[str, str] | None = None
    ) -> KeyPair:
        """Delegation key, else the approval key, else (standard only) the signing key."""
        sources = (
            (
                self.delegation_public_key,
                self.delegation_public_key_env,
                self.delegation_private_key,
                self.delegation_private_key_env,
            ),
            (
                self.approval_public_key,
                self.approval_public_key_env,
                self.approval_private_key,
                self.approval_private_key_env,
            ),
        )
        for pub, pub_env, priv, priv_env in sources:
            if any((pub, pub_env, priv, priv_env)):
                return resolve_verify_key(
                    public_key=pub,
                    public_key_env=pub_env,
                    private_key=priv,
                    private_key_env=priv_env,
                )
        if profile == "oss-prod":
            raise InvalidInput("oss-prod profile requires explicit delegation verify key")
        return KeyPair(signing_key.public, None, signing_key.key_id, "derived")


def _unix(text: str) -> int:
    try:
        return parse_rfc3339(text)[0]
    except InvalidInput:
        return 0


def consume_approvals(
    tokens_in: Sequence[Any],
    verify_key: Callable[[], KeyPair],
    decision: Decision,
    *,
    intent_digest: str,
    policy_digest: str,
    binding: str,
    required_scope: list[str],
    target_count: int,
    op_count: int,
    now: str,
    claim: Callable[..., set[str]] | None = None,
) -> ApprovalOutcome:
    """Validate the tokens (§5.3, §6.1) and decide whether they grant the call.

    With ``claim`` (a state store's ``claim_tokens``), a granting set of tokens
    is recorded as used, all or none; a token used before is invalid
    (``approval_token_replayed``), so one approval buys one execution, on any server.
    """
    from gait import PRODUCER_VERSION
    from gait.gate.tokens import read_token, validate_approval  # only when tokens are checked

    required = max(decision.min_approvals, 1)
    out = ApprovalOutcome(required=required)
    paths = sorted({p.strip() for p in tokens_in if isinstance(p, str) and p.strip()})
    inline = [dict(t) for t in tokens_in if not isinstance(t, str)]
    entries: list[ApprovalAuditEntry] = []
    approvers: set[str] = set()
    valid_ids: list[str] = []
    by_id: dict[str, ApprovalAuditEntry] = {}
    if not paths and not inline:
        out.reason_codes.add("approval_token_missing")
        out.violations.add("approval_not_granted")
    else:
        key = verify_key()
        tokens = [read_token(p) for p in paths] + inline
        seen_ids: set[str] = set()
        for token in tokens:
            check = validate_approval(
                token,
                key,
                intent_digest=intent_digest,
                policy_digest=policy_digest,
                required_scope=required_scope,
                delegation_binding_digest=binding,
                target_count=target_count,
                op_count=op_count,
                now=now,
            )
            entry = ApprovalAuditEntry(
                token_id=check.token_id,
                approver_identity=_s(token.get("approver_identity")),
                reason_code=_s(token.get("reason_code")),
                scope=sorted({_s(x).lower() for x in token.get("scope") or [] if _s(x)})
                if isinstance(token.get("scope"), list)
                else [],
                expires_at=_s(token.get("expires_at")),
                valid=check.valid,
            )
            if check.valid and check.token_id in seen_ids:
                check_valid = False
                entry.valid = False
                entry.error_code = "approval_token_duplicate"
            else:
                check_valid = check.valid
            if not check_valid and not entry.error_code:
                entry.error_code = check.error_code
                out.reason_codes.add(check.error_code)
            if check_valid:
                seen_ids.add(check.token_id)
                valid_ids.append(check.token_id)
                by_id[check.token_id] = entry
            entries.append(entry)
        while True:
            approvers = {by_id[t].approver_identity for t in valid_ids}
            out.valid_count = len(valid_ids)
            if out.valid_count < required:
                out.reason_codes.add("approval_chain_insufficient")
                out.violations.add("approval_not_granted")
                break
            if decision.require_distinct_approvers and required > 1 and len(approvers) < required:
                out.reason_codes.add("approval_distinct_approvers_required")
                out.violations.add("approval_not_granted")
                break
            if claim is not None:
                expiry = max(_unix(by_id[t].expires_at) for t in valid_ids)
                try:
                    replayed = claim(valid_ids, expires_at=expiry, now=_unix(now))
                except StateUnavailable as err:
                    out.state_error = err
                    break
                if replayed:
                    for token_id in replayed:
                        by_id[token_id].valid = False
                        by_id[token_id].error_code = REPLAYED
                    out.reason_codes.add(REPLAYED)
                    valid_ids = [t for t in valid_ids if t not in replayed]
                    continue
            out.granted = True
            out.reason_codes.add("approval_granted")
            out.ref = ",".join(sorted(valid_ids))
            break
    intent = decision.intent
    entries.sort(
        key=lambda e: (
            e.token_id,
            e.approver_identity,
            e.reason_code,
            e.expires_at,
            ",".join(e.scope),
        )
    )
    audit = ApprovalAudit(
        schema_id=APPROVAL_AUDIT_SCHEMA,
        schema_version="1.0.0",
        created_at=now,
        producer_version=PRODUCER_VERSION,
        tool_name=intent.tool_name if intent is not None else "",
        intent_digest=intent_digest,
        policy_digest=policy_digest,
        required_approvals=required,
        valid_approvals=out.valid_count,
        approved=out.valid_count >= required and out.granted,
        entries=entries,
        approvers=sorted(approvers) if approvers and out.valid_count else [],
    )
    out.audit = msgspec.to_builtins(audit)
    return out


def _s(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""
