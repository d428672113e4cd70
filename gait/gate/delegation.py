"""Delegation-token enforcement for rules with ``require_delegation`` (trace.md §6.3)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import msgspec

from gait.gate.tokens import read_token, validate_delegation

if TYPE_CHECKING:
    from gait.engine import Decision
    from gait.intent.model import Intent
    from gait.signing import KeyPair


DELEGATION_AUDIT_SCHEMA = "gait.gate.delegation_audit_record"


class DelegationAuditEntry(msgspec.Struct, kw_only=True, omit_defaults=True, gc=False):
    """A presented token's line in the delegation audit (trace.md §5.9).

    Empty ``token_id``/identities/``error_code`` are left out; ``scope`` and
    ``expires_at`` are always written.
    """

    token_id: str = ""
    delegator_identity: str = ""
    delegate_identity: str = ""
    scope: list[str]
    expires_at: str
    valid: bool
    error_code: str = ""


class MissingLinkEntry(msgspec.Struct, kw_only=True, omit_defaults=True, gc=False):
    """A chain link no token matched (``delegation_token_missing``), in gait's written order."""

    delegator_identity: str = ""
    delegate_identity: str = ""
    valid: bool
    error_code: str = ""
    expires_at: str


class DelegationAudit(msgspec.Struct, kw_only=True, omit_defaults=True, gc=False):
    """``gait.gate.delegation_audit_record`` v1.0.0 (trace.md §5.9), in written order.

    ``trace_id`` is filled in by whoever writes the record (it names the signed trace).
    """

    schema_id: str
    schema_version: str
    created_at: str
    producer_version: str
    trace_id: str = ""
    tool_name: str
    intent_digest: str
    policy_digest: str
    delegation_required: bool
    valid_delegations: int
    delegated: bool
    entries: list[DelegationAuditEntry | MissingLinkEntry]
    delegation_ref: str = ""


@dataclass
class DelegationOutcome:
    granted: bool = False
    valid_count: int = 0
    ref: str = ""
    reason_codes: set[str] = field(default_factory=set)
    violations: set[str] = field(default_factory=set)
    audit: dict[str, Any] = field(default_factory=dict)


def enforce_delegation(
    tokens_in: Sequence[Any],
    verify_key: Callable[[], KeyPair],
    decision: Decision,
    intent: Intent,
    now: str,
) -> DelegationOutcome:
    """Match tokens to the delegation chain's links; the key is resolved only if tokens exist."""
    from gait import PRODUCER_VERSION

    dg = intent.delegation
    assert dg is not None
    out = DelegationOutcome()
    links: list[tuple[str, str, str]] = [
        (link.delegator_identity, link.delegate_identity, link.scope_class) for link in dg.chain
    ] or [("", dg.requester_identity, dg.scope_class)]
    paths = sorted({p.strip() for p in tokens_in if isinstance(p, str) and p.strip()})
    inline = [dict(t) for t in tokens_in if not isinstance(t, str)]
    entries: list[DelegationAuditEntry | MissingLinkEntry] = []
    if not paths and not inline:
        out.reason_codes.add("delegation_token_missing")
        out.violations.add("delegation_not_granted")
    else:
        key = verify_key()
        tokens = [read_token(p) for p in paths] + inline
        used: set[int] = set()
        matched: list[bool] = []
        valid_ids: list[str] = []

        def check(token: dict[str, Any], link: tuple[str, str, str]) -> Any:
            return validate_delegation(
                token,
                key,
                delegator=link[0],
                delegate=link[1],
                required_scope=decision.required_delegation_scopes,
                intent_digest=decision.intent_digest,
                policy_digest=decision.policy_digest,
                now=now,
            )

        for link in links:
            hit = False
            for i, token in enumerate(tokens):
                if i in used:
                    continue
                result = check(token, link)
                if result.valid:
                    used.add(i)
                    valid_ids.append(result.token_id)
                    entries.append(_entry(token, result.token_id, True, ""))
                    hit = True
                    break
            matched.append(hit)
            if not hit:
                entries.append(
                    MissingLinkEntry(
                        delegator_identity=link[0],
                        delegate_identity=link[1],
                        valid=False,
                        error_code="delegation_token_missing",
                        expires_at="",
                    )
                )
        unmatched = [link for link, ok in zip(links, matched, strict=True) if not ok]
        for i, token in enumerate(tokens):
            if i in used:
                continue
            code = (
                check(token, unmatched[0]).error_code
                if unmatched
                else "delegation_token_chain_mismatch"
            )
            entries.append(_entry(token, str(token.get("token_id", "")), False, code))
        out.valid_count = len(valid_ids)
        if unmatched:
            for e in entries:
                if not e.valid and e.error_code:
                    out.reason_codes.add(e.error_code)
            out.reason_codes.add("delegation_chain_insufficient")
            out.violations.add("delegation_not_granted")
        else:
            out.granted = True
            out.reason_codes.add("delegation_granted")
            out.ref = ",".join(sorted(valid_ids))
    entries.sort(
        key=lambda e: (e.delegator_identity, e.delegate_identity, getattr(e, "token_id", ""))
    )
    audit = DelegationAudit(
        schema_id=DELEGATION_AUDIT_SCHEMA,
        schema_version="1.0.0",
        created_at=now,
        producer_version=PRODUCER_VERSION,
        tool_name=intent.tool_name,
        intent_digest=decision.intent_digest,
        policy_digest=decision.policy_digest,
        delegation_required=True,
        valid_delegations=out.valid_count,
        delegated=out.valid_count > 0,
        entries=entries,
        delegation_ref=out.ref,
    )
    out.audit = msgspec.to_builtins(audit)
    return out


def _entry(token: dict[str, Any], token_id: str, valid: bool, code: str) -> DelegationAuditEntry:
    scope = token.get("scope") if isinstance(token.get("scope"), list) else []
    return DelegationAuditEntry(
        token_id=token_id,
        delegator_identity=str(token.get("delegator_identity", "")).strip(),
        delegate_identity=str(token.get("delegate_identity", "")).strip(),
        scope=sorted({str(s).strip().lower() for s in scope if str(s).strip()}),
        expires_at=str(token.get("expires_at", "")).strip(),
        valid=valid,
        error_code=code,
    )
