"""``run_gate``: one enforced decision with its signed trace (trace.md §5.2).

Order: profile checks → evaluate → rate limits / destructive budget → signing
key → delegation tokens → approval tokens → credential broker → simulate →
signed trace and audit records.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from gait.engine import Decision, evaluate
from gait.errors import InvalidInput
from gait.intent.model import Intent
from gait.policy.compiler import CompiledPolicy

SIMULATE_REASON = "simulate_mode_non_enforcing"
UNSUPPORTED_FLAGS = {
    "context_envelope": "--context-envelope",
    "wrkr_inventory": "--wrkr-inventory",
    "approved_script_registry": "--approved-script-registry",
}


@dataclass
class GateRequest:
    """Inputs of one gate evaluation (everything the CLI flags carry)."""

    compiled: CompiledPolicy
    intent: Intent
    profile: str = "standard"
    simulate: bool = False
    key_mode: str = "dev"
    private_key: str | None = None
    private_key_env: str | None = None
    trace_out: str | None = None
    write_trace: bool = True
    correlation_id: str = ""
    approval_token_ref: str = ""
    approval_tokens: list[Any] = field(default_factory=list)
    approval_public_key: str | None = None
    approval_public_key_env: str | None = None
    approval_private_key: str | None = None
    approval_private_key_env: str | None = None
    approval_audit_out: str | None = None
    delegation_tokens: list[Any] = field(default_factory=list)
    delegation_public_key: str | None = None
    delegation_public_key_env: str | None = None
    delegation_private_key: str | None = None
    delegation_private_key_env: str | None = None
    delegation_audit_out: str | None = None
    rate_limit_state: str | None = None
    credential_broker: str = "off"
    credential_env_prefix: str = "GAIT_BROKER_TOKEN_"
    credential_ref: str = ""
    credential_scopes: list[str] = field(default_factory=list)
    credential_command: str = ""
    credential_command_args: list[str] = field(default_factory=list)
    credential_evidence_out: str | None = None
    unsupported: dict[str, str] = field(default_factory=dict)
    now: str | None = None  # RFC 3339 override for token expiry checks (tests)
    signing_key: Any = None  # a resolved KeyPair; None: resolve from key_mode and the key sources
    key_warnings: list[str] = field(default_factory=list)


@dataclass
class GateResult:
    decision: Decision
    verdict: str
    reason_codes: list[str]
    violations: list[str]
    trace_id: str = ""
    trace_path: str = ""
    trace: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)
    simulated_verdict: str = ""
    simulated_reason_codes: list[str] = field(default_factory=list)
    would_have_blocked: bool = False
    outputs: dict[str, Any] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return {"block": 3, "require_approval": 4}.get(self.verdict, 0)

    def to_payload(self, profile: str) -> dict[str, Any]:
        """The JSON object of trace.md §5.5 (empty optional fields omitted)."""
        d = self.decision
        intent = d.intent
        out: dict[str, Any] = {
            "ok": True,
            "profile": profile,
            "verdict": self.verdict,
            "trace_id": self.trace_id,
            "trace_path": self.trace_path,
            "policy_digest": d.policy_digest,
            "intent_digest": d.intent_digest,
            "phase": intent.context.phase if intent is not None else "apply",
        }
        optional: dict[str, Any] = {
            "reason_codes": self.reason_codes,
            "violations": self.violations,
            "matched_rule": d.matched_rule,
            "warnings": sorted(set(self.warnings)),
            "simulate_mode": bool(self.simulated_verdict),
            "would_have_blocked": self.would_have_blocked,
            "simulated_verdict": self.simulated_verdict,
            "simulated_reason_codes": self.simulated_reason_codes,
        }
        if intent is not None:
            ctx = intent.context
            optional["context_set_digest"] = ctx.context_set_digest
            optional["context_evidence_mode"] = ctx.context_evidence_mode
            optional["context_ref_count"] = len(ctx.context_refs)
            if intent.script is not None:
                optional["script"] = True
                optional["step_count"] = len(intent.script)
                optional["script_hash"] = intent.script_hash
                optional["composite_risk_class"] = d.composite_risk_class
                optional["step_verdicts"] = [s.to_dict() for s in d.step_verdicts]
        optional.update(self.outputs)
        for key, value in optional.items():
            if value or (key.endswith("_remaining") and key in self.outputs):
                out[key] = value
        return out


def check_profile(req: GateRequest) -> None:
    if req.profile not in ("standard", "oss-prod"):
        raise InvalidInput(
            f'unsupported --profile value "{req.profile}" (expected standard or oss-prod)'
        )
    if req.profile == "oss-prod":
        if req.simulate:
            raise InvalidInput("oss-prod profile does not allow --simulate")
        if req.key_mode != "prod":
            raise InvalidInput("oss-prod profile requires --key-mode prod")
        if not (req.private_key or req.private_key_env):
            raise InvalidInput("oss-prod profile requires --private-key or --private-key-env")
    for key, flag in UNSUPPORTED_FLAGS.items():
        if req.unsupported.get(key):
            raise InvalidInput(f"{flag} is not supported by this version of gait")


def check_prod_policy(req: GateRequest, broker: str) -> None:
    """oss-prod: high-risk allow/approval rules must require a broker credential, and one must be configured."""
    if req.profile != "oss-prod":
        return
    risky = [
        r
        for r in req.compiled.policy.rules
        if r.effect != "block" and {"high", "critical"} & set(r.match.risk_classes)
    ]
    if any(not r.require_broker_credential for r in risky):
        raise InvalidInput(
            "oss-prod profile requires high-risk allow/approval rules to set require_broker_credential: true"
        )
    if risky and broker == "off":
        raise InvalidInput("oss-prod profile requires --credential-broker for high-risk policies")


def _approval_scope(intent: Intent) -> list[str]:
    scope = {f"tool:{intent.tool_name}"}
    if intent.context.phase == "apply" and any(t.destructive for t in intent.targets):
        scope |= {"destructive:apply", "phase:apply"}
    return sorted(scope)


def _counts(intent: Intent) -> tuple[int, int]:
    if intent.script is not None:
        step_targets = sum(len(s.targets) for s in intent.script)
        return (step_targets or len(intent.targets)), len(intent.script)
    return len(intent.targets), max(len(intent.targets), 1)


def run_gate(req: GateRequest) -> GateResult:
    """Evaluate, enforce, simulate, sign and write the trace (and audit records)."""
    from gait.gate import broker as brokers
    from gait.intent import args_digest, delegation_digest
    from gait.signing import now_rfc3339, resolve_signing_key

    check_profile(req)
    broker_name = brokers.check_broker_config(req.credential_broker, req.credential_command)
    check_prod_policy(req, broker_name)

    started = time.perf_counter()
    decision = evaluate(req.compiled, req.intent, prepare=True)
    latency_ms = (time.perf_counter() - started) * 1000.0
    intent = decision.intent
    if intent is None:
        raise InvalidInput("intent could not be evaluated")
    verdict = decision.verdict
    reasons = set(decision.reason_codes)
    violations = set(decision.violations)
    outputs: dict[str, Any] = {}
    audit_docs: list[tuple[str, str, dict[str, Any]]] = []

    # 9. rate limit / destructive budget (counted even when already blocked)
    state = req.rate_limit_state or ".gait-out/gate_rate_limits.json"
    if decision.rate_limit is not None or decision.destructive_budget is not None:
        from gait.gate.ratelimit import consume

        ctx = intent.context
        if decision.rate_limit is not None:
            use = consume(
                state, decision.rate_limit, tool_name=intent.tool_name, identity=ctx.identity
            )
            outputs.update(
                rate_limit_scope=use.scope,
                rate_limit_key=use.key,
                rate_limit_used=use.used,
                rate_limit_remaining=use.remaining,
            )
            if not use.allowed:
                verdict = "block"
                reasons.add("rate_limit_exceeded")
                violations.add("rate_limit_exceeded")
        if decision.destructive_budget is not None and any(t.destructive for t in intent.targets):
            use = consume(
                state,
                decision.destructive_budget,
                tool_name=f"destructive_budget|{intent.tool_name}",
                identity=ctx.identity,
            )
            outputs.update(
                destructive_budget_scope=use.scope,
                destructive_budget_key=use.key,
                destructive_budget_used=use.used,
                destructive_budget_remaining=use.remaining,
            )
            if not use.allowed:
                verdict = "block"
                reasons.add("destructive_budget_exceeded")
                violations.add("destructive_budget_exceeded")

    # 10. signing key
    if req.signing_key is not None:
        key, warnings = req.signing_key, list(req.key_warnings)
    else:
        key, warnings = resolve_signing_key(
            req.key_mode, private_key=req.private_key, private_key_env=req.private_key_env
        )
    now = req.now or now_rfc3339()
    intent_digest = decision.intent_digest
    policy_digest = decision.policy_digest
    binding = delegation_digest(intent) if intent.delegation is not None else ""
    approval_ref = req.approval_token_ref.strip()
    delegation_ref: dict[str, Any] | None = None

    # 11. delegation
    if decision.require_delegation and intent.delegation is not None:
        from gait.gate.delegation import enforce_delegation

        outcome = enforce_delegation(req, key, decision, intent, now)
        reasons.update(outcome.reason_codes)
        violations.update(outcome.violations)
        if not outcome.granted:
            verdict = "block"
        outputs["delegation_required"] = True
        outputs["valid_delegations"] = outcome.valid_count
        if outcome.ref:
            outputs["delegation_ref"] = outcome.ref
        audit_docs.append(("delegation", req.delegation_audit_out or "", outcome.audit))
    if intent.delegation is not None:
        dg = intent.delegation
        delegation_ref = {
            "delegation_token_ref": outputs.get("delegation_ref", "")
            or (dg.token_refs[0] if dg.token_refs else ""),
            "requester_identity": dg.requester_identity,
            "delegation_depth": len(dg.chain),
            "scope_class": dg.scope_class,
            "chain_digest": binding,
            "reason_codes": sorted(r for r in reasons if r.startswith("delegation_")),
        }
        delegation_ref = {k: v for k, v in delegation_ref.items() if v not in ("", [], None)}

    # 12. approvals
    if verdict == "require_approval":
        from gait.gate.approvals import consume_approvals

        target_count, op_count = _counts(intent)
        outcome = consume_approvals(
            req,
            key,
            decision,
            intent_digest=intent_digest,
            policy_digest=policy_digest,
            binding=binding,
            required_scope=_approval_scope(intent),
            target_count=target_count,
            op_count=op_count,
            now=now,
        )
        reasons.update(outcome.reason_codes)
        violations.update(outcome.violations)
        outputs["required_approvals"] = outcome.required
        outputs["valid_approvals"] = outcome.valid_count
        if outcome.granted:
            verdict = "allow"
            approval_ref = outcome.ref
            outputs["approval_ref"] = outcome.ref
        if outcome.audit is not None:
            audit_docs.append(("approval", req.approval_audit_out or "", outcome.audit))

    # 13. credential broker
    credential = None
    if decision.require_broker_credential and verdict == "allow":
        if broker_name == "off":
            verdict = "block"
            reasons.add("broker_credential_required")
            violations.add("broker_credential_missing")
        elif broker_name == "stub" and req.profile == "oss-prod":
            # A stub credential is not a credential: production never accepts it.
            verdict = "block"
            reasons.add("broker_credential_missing")
            violations.add("broker_credential_missing")
            warnings.append("oss-prod profile does not accept stub broker credentials")
        else:
            ctx = intent.context
            scope = sorted({*decision.broker_scopes, *(s.lower() for s in req.credential_scopes)})
            breq = brokers.BrokerRequest(
                tool_name=intent.tool_name.lower(),
                identity=ctx.identity,
                workspace=ctx.workspace,
                session_id=ctx.session_id,
                request_id=ctx.request_id,
                reference=req.credential_ref.strip() or decision.broker_reference,
                scope=tuple(scope),
            )
            try:
                credential = brokers.issue(
                    broker_name,
                    breq,
                    env_prefix=req.credential_env_prefix,
                    command=req.credential_command.strip(),
                    command_args=tuple(req.credential_command_args),
                )
            except brokers.BrokerFailure as err:
                verdict = "block"
                reasons.add("broker_credential_missing")
                violations.add("broker_credential_missing")
                warnings.append(f"credential broker: {err}")
            else:
                reasons.add("broker_credential_present")
                outputs["credential_issuer"] = credential.issued_by
                outputs["credential_ref"] = credential.credential_ref

    result = GateResult(decision, verdict, [], [], warnings=list(warnings))

    # 14. simulate
    if req.simulate:
        result.simulated_verdict = verdict
        result.simulated_reason_codes = sorted(reasons)
        reasons.add(SIMULATE_REASON)
        if verdict in ("block", "require_approval"):
            result.would_have_blocked = True
            reasons.add(f"simulated_{verdict}")
            violations = set()
            verdict = "allow"

    result.verdict = verdict
    result.reason_codes = sorted(reasons)
    result.violations = sorted(violations)

    # 16. trace + records
    from gait.trace import (
        build_trace_record,
        default_trace_path,
        sign_trace,
        write_json_record,
        write_trace,
    )

    ctx = intent.context
    record = build_trace_record(
        policy_digest=policy_digest,
        intent_digest=intent_digest,
        args_digest=args_digest(intent),
        tool_name=intent.tool_name,
        verdict=verdict,
        created_at=decision.created_at,
        correlation_id=req.correlation_id,
        policy_id=req.compiled.ir.schema_id,
        policy_version=req.compiled.ir.schema_version,
        violations=result.violations,
        context_set_digest=ctx.context_set_digest,
        context_evidence_mode=ctx.context_evidence_mode,
        context_ref_count=len(ctx.context_refs),
        script=intent.script is not None,
        step_count=len(intent.script or ()),
        script_hash=intent.script_hash,
        composite_risk_class=decision.composite_risk_class,
        step_verdicts=[s.to_dict() for s in decision.step_verdicts],
        latency_ms=round(latency_ms, 3),
        approval_token_ref=approval_ref,
        delegation_ref=delegation_ref,
        skill_provenance=intent.skill_provenance,
    )
    signed = sign_trace(record, key)
    result.trace = signed
    trace_id = signed["trace_id"]
    result.trace_id = trace_id
    if req.write_trace:
        path = req.trace_out or default_trace_path(trace_id)
        result.trace_path = write_trace(path, signed)
        for kind, out_path, doc in audit_docs:
            doc = {**doc, "trace_id": trace_id}
            written = write_json_record(
                out_path or f"{kind}_audit_{trace_id}.json", _ordered_audit(doc)
            )
            outputs[f"{kind}_audit_path"] = written
        if credential is not None:
            evidence = _credential_record(trace_id, intent, broker_name, credential, req, decision)
            outputs["credential_evidence_path"] = write_json_record(
                req.credential_evidence_out or f"credential_evidence_{trace_id}.json", evidence
            )
    result.outputs = outputs
    return result


_AUDIT_ORDER = (
    "schema_id",
    "schema_version",
    "created_at",
    "producer_version",
    "trace_id",
    "tool_name",
    "intent_digest",
    "policy_digest",
)


def _ordered_audit(doc: dict[str, Any]) -> dict[str, Any]:
    head = {k: doc[k] for k in _AUDIT_ORDER if k in doc}
    return {**head, **{k: v for k, v in doc.items() if k not in head}}


def _credential_record(
    trace_id: str, intent: Intent, broker: str, cred: Any, req: GateRequest, decision: Decision
) -> dict[str, Any]:
    from gait import PRODUCER_VERSION
    from gait.signing import now_rfc3339

    scope = sorted({*decision.broker_scopes, *(s.lower() for s in req.credential_scopes)})
    doc: dict[str, Any] = {
        "schema_id": "gait.gate.broker_credential_record",
        "schema_version": "1.0.0",
        "created_at": now_rfc3339(),
        "producer_version": PRODUCER_VERSION,
        "trace_id": trace_id,
        "tool_name": intent.tool_name,
        "identity": intent.context.identity,
        "broker": broker,
        "reference": req.credential_ref.strip() or decision.broker_reference,
        "scope": scope,
        "credential_ref": cred.credential_ref,
        "issued_at": cred.issued_at,
        "expires_at": cred.expires_at,
        "ttl_seconds": cred.ttl_seconds,
    }
    return {
        k: v for k, v in doc.items() if v not in ("", [], 0) or k in ("issued_at", "expires_at")
    }
