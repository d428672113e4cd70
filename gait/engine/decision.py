"""The result of one evaluation."""

# No "from __future__ import annotations": msgspec reads these annotations when it
# first decodes a type, and evaluating them from strings compiles each one.

from typing import Any

import msgspec

from gait.intent.model import Intent
from gait.policy.model import Limit

DEFAULT_CREATED_AT = "1980-01-01T00:00:00Z"


class StepVerdict(msgspec.Struct, frozen=True, gc=False):
    """One script step's outcome (positional fields, as the engine builds it)."""

    index: int
    tool_name: str
    verdict: str
    reason_codes: tuple[str, ...]
    violations: tuple[str, ...]
    matched_rules: tuple[str, ...]

    @property
    def matched_rule(self) -> str:
        """The deciding rule names joined with ``,`` (for rendering only)."""
        return ",".join(self.matched_rules)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "index": self.index,
            "tool_name": self.tool_name,
            "verdict": self.verdict,
        }
        if self.reason_codes:
            out["reason_codes"] = list(self.reason_codes)
        if self.violations:
            out["violations"] = list(self.violations)
        if self.matched_rule:
            out["matched_rule"] = self.matched_rule
        return out


class Decision(msgspec.Struct, gc=False, repr_omit_defaults=True):
    """Verdict plus everything later stages need (approvals, budgets, brokers, traces).

    A msgspec Struct: built on every decision, so construction must be cheap.
    ``intent_digest`` is computed on first access: digests are not needed to decide.
    """

    verdict: str
    reason_codes: tuple[str, ...]
    violations: tuple[str, ...]
    matched_rules: tuple[str, ...]
    policy_digest: str
    intent: Intent | None
    min_approvals: int = 0
    require_distinct_approvers: bool = False
    require_broker_credential: bool = False
    require_delegation: bool = False
    required_delegation_scopes: tuple[str, ...] = ()
    broker_reference: str = ""
    broker_scopes: tuple[str, ...] = ()
    rate_limit: Limit | None = None
    destructive_budget: Limit | None = None
    dataflow_triggered: bool = False
    step_verdicts: tuple[StepVerdict, ...] = ()
    composite_risk_class: str = ""
    digest_cache: str = ""
    flow_refs: tuple[str, ...] = ()  # ids of the earlier session calls flow rules matched

    @property
    def matched_rule(self) -> str:
        """The deciding rule names joined with ``,`` (for rendering only: a rule
        name may itself contain a comma, so code reads :attr:`matched_rules`)."""
        return ",".join(self.matched_rules)

    @property
    def intent_digest(self) -> str:
        if not self.digest_cache and self.intent is not None:
            from gait.intent import intent_digest

            self.digest_cache = intent_digest(self.intent)
        return self.digest_cache

    @property
    def created_at(self) -> str:
        if self.intent is not None and self.intent.created_at:
            return self.intent.created_at
        return DEFAULT_CREATED_AT

    @property
    def is_script(self) -> bool:
        return self.intent is not None and self.intent.script is not None

    def to_dict(self) -> dict[str, Any]:
        """Plain-data view (empty optional fields omitted), for JSON output."""
        out: dict[str, Any] = {
            "verdict": self.verdict,
            "reason_codes": list(self.reason_codes),
            "violations": list(self.violations),
            "policy_digest": self.policy_digest,
        }
        if self.intent is not None:
            out["intent_digest"] = self.intent_digest
        optional: dict[str, Any] = {
            "matched_rule": self.matched_rule,
            "min_approvals": self.min_approvals,
            "require_distinct_approvers": self.require_distinct_approvers,
            "require_broker_credential": self.require_broker_credential,
            "require_delegation": self.require_delegation,
            "required_delegation_scopes": list(self.required_delegation_scopes),
            "broker_reference": self.broker_reference,
            "broker_scopes": list(self.broker_scopes),
            "dataflow_triggered": self.dataflow_triggered,
            "composite_risk_class": self.composite_risk_class,
            "flow_refs": list(self.flow_refs),
        }
        for key, value in optional.items():
            if value:
                out[key] = value
        for key, limit in (
            ("rate_limit", self.rate_limit),
            ("destructive_budget", self.destructive_budget),
        ):
            if limit is not None:
                out[key] = {
                    "requests": limit.requests,
                    "window": limit.window,
                    "scope": limit.scope,
                }
        if self.is_script and self.intent is not None:
            out["script"] = True
            out["step_count"] = len(self.intent.script or ())
            out["script_hash"] = self.intent.script_hash
            out["step_verdicts"] = [s.to_dict() for s in self.step_verdicts]
        return out
