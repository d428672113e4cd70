"""``run_gate``: one enforced decision with its signed trace (trace.md §5)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from gait.engine import Decision, evaluate
from gait.errors import InvalidInput
from gait.intent.model import Intent
from gait.policy.compiler import CompiledPolicy

SIMULATE_REASON = "simulate_mode_non_enforcing"


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
    extra: dict[str, Any] = field(default_factory=dict)


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
            if value:
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


def run_gate(req: GateRequest) -> GateResult:
    """Evaluate, enforce, simulate, sign and write the trace."""
    from gait.intent import args_digest
    from gait.signing import resolve_signing_key
    from gait.trace import build_trace_record, default_trace_path, sign_trace, write_trace

    check_profile(req)
    started = time.perf_counter()
    decision = evaluate(req.compiled, req.intent, prepare=True)
    latency_ms = (time.perf_counter() - started) * 1000.0
    verdict = decision.verdict
    reasons = set(decision.reason_codes)
    violations = set(decision.violations)

    key, warnings = resolve_signing_key(
        req.key_mode, private_key=req.private_key, private_key_env=req.private_key_env
    )
    result = GateResult(decision, verdict, [], [], warnings=list(warnings))

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

    intent = decision.intent
    assert intent is not None  # a normalized intent was passed in
    ctx = intent.context
    record = build_trace_record(
        policy_digest=decision.policy_digest,
        intent_digest=decision.intent_digest,
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
        approval_token_ref=req.approval_token_ref,
        skill_provenance=intent.skill_provenance,
    )
    signed = sign_trace(record, key)
    result.trace = signed
    result.trace_id = signed["trace_id"]
    if req.write_trace:
        path = req.trace_out or default_trace_path(result.trace_id)
        result.trace_path = write_trace(path, signed)
    return result
