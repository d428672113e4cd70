"""What one SDK gate decision returns (serve_sdk.md §4 ``GateEvalResult``).

The same fields whether the decision was made in process or by ``mcp serve``
over HTTP. A msgspec Struct because the no-trace in-process path builds one
per tool call and must stay within a couple of microseconds of ``evaluate()``;
``intent_digest`` is therefore computed only when read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

__all__ = ["AdapterOutcome", "GateEvalResult"]

_EXIT = {"block": 3, "require_approval": 4}


class GateEvalResult(msgspec.Struct, frozen=True, kw_only=True):
    """One decision. ``ok`` is false only when gait itself failed (``error`` says why)."""

    ok: bool = True
    exit_code: int = 0
    verdict: str = ""
    reason_codes: tuple[str, ...] = ()
    violations: tuple[str, ...] = ()
    matched_rule: str = ""
    approval_ref: str = ""
    trace_id: str = ""
    trace_path: str = ""
    policy_digest: str = ""
    script: bool = False
    step_count: int = 0
    script_hash: str = ""
    composite_risk_class: str = ""
    pre_approved: bool = False
    pattern_id: str = ""
    registry_reason: str = ""
    step_verdicts: tuple[dict[str, Any], ...] = ()
    warnings: tuple[str, ...] = ()
    error: str = ""
    # Set from a payload; otherwise read lazily from the engine decision.
    digest_text: str = ""
    decision: Any = None

    @property
    def intent_digest(self) -> str:
        if self.digest_text:
            return self.digest_text
        d = self.decision
        return d.intent_digest if d is not None else ""

    @property
    def allowed(self) -> bool:
        return self.ok and self.verdict == "allow"

    @classmethod
    def from_payload(
        cls, payload: Mapping[str, Any], *, exit_code: int | None = None
    ) -> GateEvalResult:
        """From ``gate eval --json`` output or an ``mcp serve`` evaluate response."""
        verdict = str(payload.get("verdict") or "")
        matched = payload.get("matched_rule") or ""
        if not matched:
            matched = ",".join(str(r) for r in payload.get("matched_rule_ids") or ())
        code = payload.get("exit_code")
        if exit_code is None:
            exit_code = code if isinstance(code, int) else _EXIT.get(verdict, 0)
        return cls(
            ok=bool(payload.get("ok", True)),
            exit_code=exit_code,
            verdict=verdict,
            reason_codes=tuple(payload.get("reason_codes") or ()),
            violations=tuple(payload.get("violations") or ()),
            matched_rule=str(matched),
            approval_ref=str(payload.get("approval_ref") or ""),
            trace_id=str(payload.get("trace_id") or ""),
            trace_path=str(payload.get("trace_path") or ""),
            policy_digest=str(payload.get("policy_digest") or ""),
            digest_text=str(payload.get("intent_digest") or ""),
            script=bool(payload.get("script", False)),
            step_count=int(payload.get("step_count") or 0),
            script_hash=str(payload.get("script_hash") or ""),
            composite_risk_class=str(payload.get("composite_risk_class") or ""),
            pre_approved=bool(payload.get("pre_approved", False)),
            pattern_id=str(payload.get("pattern_id") or ""),
            registry_reason=str(payload.get("registry_reason") or ""),
            step_verdicts=tuple(dict(s) for s in payload.get("step_verdicts") or ()),
            warnings=tuple(payload.get("warnings") or ()),
            error=_error_text(payload.get("error")),
        )

    @classmethod
    def failure(cls, error: BaseException | str) -> GateEvalResult:
        """Gait could not decide: fail closed as a ``block`` with reason ``gate_error``."""
        text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        return cls(ok=False, exit_code=3, verdict="block", reason_codes=("gate_error",), error=text)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data, empty optional fields omitted (like ``gate eval --json``)."""
        out: dict[str, Any] = {
            "ok": self.ok,
            "exit_code": self.exit_code,
            "verdict": self.verdict,
        }
        optional: dict[str, Any] = {
            "reason_codes": list(self.reason_codes),
            "violations": list(self.violations),
            "matched_rule": self.matched_rule,
            "approval_ref": self.approval_ref,
            "trace_id": self.trace_id,
            "trace_path": self.trace_path,
            "policy_digest": self.policy_digest,
            "intent_digest": self.intent_digest,
            "script": self.script,
            "step_count": self.step_count,
            "script_hash": self.script_hash,
            "composite_risk_class": self.composite_risk_class,
            "pre_approved": self.pre_approved,
            "pattern_id": self.pattern_id,
            "registry_reason": self.registry_reason,
            "step_verdicts": [dict(s) for s in self.step_verdicts],
            "warnings": list(self.warnings),
            "error": self.error,
        }
        out.update((k, v) for k, v in optional.items() if v)
        return out


def _error_text(value: Any) -> str:
    if not value:
        return ""
    if isinstance(value, Mapping):
        return str(value.get("message") or value.get("code") or value)
    return str(value)


class AdapterOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """``ToolAdapter.execute`` result: the decision, whether the tool ran, what it returned."""

    decision: GateEvalResult
    executed: bool = False
    result: Any = None
