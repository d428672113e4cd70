"""Approval-token consumption for ``require_approval`` verdicts (trace.md §5.3, §5.9)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gait.errors import InvalidInput
from gait.gate.tokens import read_token, validate_approval
from gait.signing import KeyPair, resolve_verify_key

if TYPE_CHECKING:
    from gait.engine import Decision
    from gait.gate.pipeline import GateRequest


@dataclass
class ApprovalOutcome:
    required: int
    granted: bool = False
    valid_count: int = 0
    ref: str = ""
    reason_codes: set[str] = field(default_factory=set)
    violations: set[str] = field(default_factory=set)
    audit: dict[str, Any] | None = None


def approval_verify_key(req: GateRequest, signing_key: KeyPair) -> KeyPair:
    explicit = any(
        (
            req.approval_public_key,
            req.approval_public_key_env,
            req.approval_private_key,
            req.approval_private_key_env,
        )
    )
    if not explicit:
        if req.profile == "oss-prod":
            raise InvalidInput(
                "oss-prod profile requires explicit approval verify key "
                "(--approval-public-key, --approval-public-key-env, --approval-private-key or "
                "--approval-private-key-env)"
            )
        return KeyPair(signing_key.public, None, signing_key.key_id, "derived")
    return resolve_verify_key(
        public_key=req.approval_public_key,
        public_key_env=req.approval_public_key_env,
        private_key=req.approval_private_key,
        private_key_env=req.approval_private_key_env,
    )


def consume_approvals(
    req: GateRequest,
    signing_key: KeyPair,
    decision: Decision,
    *,
    intent_digest: str,
    policy_digest: str,
    binding: str,
    required_scope: list[str],
    target_count: int,
    op_count: int,
    now: str,
) -> ApprovalOutcome:
    from gait import PRODUCER_VERSION

    required = max(decision.min_approvals, 1)
    out = ApprovalOutcome(required=required)
    paths = sorted({p.strip() for p in req.approval_tokens if isinstance(p, str) and p.strip()})
    inline = [dict(t) for t in req.approval_tokens if not isinstance(t, str)]
    entries: list[dict[str, Any]] = []
    approvers: set[str] = set()
    valid_ids: list[str] = []
    if not paths and not inline:
        out.reason_codes.add("approval_token_missing")
        out.violations.add("approval_not_granted")
    else:
        key = approval_verify_key(req, signing_key)
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
            entry: dict[str, Any] = {
                "token_id": check.token_id,
                "approver_identity": _s(token.get("approver_identity")),
                "reason_code": _s(token.get("reason_code")),
                "scope": sorted({_s(x).lower() for x in token.get("scope") or [] if _s(x)})
                if isinstance(token.get("scope"), list)
                else [],
                "expires_at": _s(token.get("expires_at")),
                "valid": check.valid,
            }
            if check.valid and check.token_id in seen_ids:
                check_valid = False
                entry["valid"] = False
                entry["error_code"] = "approval_token_duplicate"
            else:
                check_valid = check.valid
            if not check_valid and "error_code" not in entry:
                entry["error_code"] = check.error_code
                out.reason_codes.add(check.error_code)
            if check_valid:
                seen_ids.add(check.token_id)
                valid_ids.append(check.token_id)
                approvers.add(entry["approver_identity"])
            entries.append({k: v for k, v in entry.items() if v not in ("", []) or k == "valid"})
        out.valid_count = len(valid_ids)
        if out.valid_count < required:
            out.reason_codes.add("approval_chain_insufficient")
            out.violations.add("approval_not_granted")
        elif decision.require_distinct_approvers and required > 1 and len(approvers) < required:
            out.reason_codes.add("approval_distinct_approvers_required")
            out.violations.add("approval_not_granted")
        else:
            out.granted = True
            out.reason_codes.add("approval_granted")
            out.ref = ",".join(sorted(valid_ids))
    intent = decision.intent
    entries.sort(
        key=lambda e: (
            e.get("token_id", ""),
            e.get("approver_identity", ""),
            e.get("reason_code", ""),
            e.get("expires_at", ""),
            ",".join(e.get("scope", [])),
        )
    )
    audit: dict[str, Any] = {
        "schema_id": "gait.gate.approval_audit_record",
        "schema_version": "1.0.0",
        "created_at": now,
        "producer_version": PRODUCER_VERSION,
        "tool_name": intent.tool_name if intent is not None else "",
        "intent_digest": intent_digest,
        "policy_digest": policy_digest,
        "required_approvals": required,
        "valid_approvals": out.valid_count,
        "approved": out.valid_count >= required and out.granted,
        "entries": entries,
    }
    if approvers and out.valid_count:
        audit["approvers"] = sorted(approvers)
    out.audit = audit
    return out


def _s(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""
