"""Delegation-token enforcement for rules with ``require_delegation`` (trace.md §6.3)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gait.gate.tokens import read_token, validate_delegation

if TYPE_CHECKING:
    from gait.engine import Decision
    from gait.intent.model import Intent
    from gait.signing import KeyPair


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
    entries: list[dict[str, Any]] = []
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
                    {
                        "delegator_identity": link[0],
                        "delegate_identity": link[1],
                        "valid": False,
                        "error_code": "delegation_token_missing",
                        "expires_at": "",
                    }
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
                if not e["valid"] and e.get("error_code"):
                    out.reason_codes.add(e["error_code"])
            out.reason_codes.add("delegation_chain_insufficient")
            out.violations.add("delegation_not_granted")
        else:
            out.granted = True
            out.reason_codes.add("delegation_granted")
            out.ref = ",".join(sorted(valid_ids))
    entries = [
        {k: v for k, v in e.items() if v not in ("",) or k in ("valid", "expires_at")}
        for e in entries
    ]
    entries.sort(
        key=lambda e: (
            e.get("delegator_identity", ""),
            e.get("delegate_identity", ""),
            e.get("token_id", ""),
        )
    )
    audit: dict[str, Any] = {
        "schema_id": "gait.gate.delegation_audit_record",
        "schema_version": "1.0.0",
        "created_at": now,
        "producer_version": PRODUCER_VERSION,
        "tool_name": intent.tool_name,
        "intent_digest": decision.intent_digest,
        "policy_digest": decision.policy_digest,
        "delegation_required": True,
        "valid_delegations": out.valid_count,
        "delegated": out.valid_count > 0,
        "entries": entries,
    }
    if out.ref:
        audit["delegation_ref"] = out.ref
    out.audit = audit
    return out


def _entry(token: dict[str, Any], token_id: str, valid: bool, code: str) -> dict[str, Any]:
    scope = token.get("scope") if isinstance(token.get("scope"), list) else []
    entry: dict[str, Any] = {
        "token_id": token_id,
        "delegator_identity": str(token.get("delegator_identity", "")).strip(),
        "delegate_identity": str(token.get("delegate_identity", "")).strip(),
        "scope": sorted({str(s).strip().lower() for s in scope if str(s).strip()}),
        "expires_at": str(token.get("expires_at", "")).strip(),
        "valid": valid,
    }
    if code:
        entry["error_code"] = code
    return entry
