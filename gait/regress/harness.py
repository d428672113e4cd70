"""A policy under test: what the ``gait_policy`` pytest fixture hands to a test.

``PolicyUnderTest(path).evaluate(intent)`` runs the one engine exactly like
``gait policy test`` (normalize, strip unverified context-evidence claims,
evaluate) and returns a :class:`PolicyDecision`: a small frozen value with
the fields policy authors assert on, a stable ``repr`` and ``to_dict()`` so
it snapshots cleanly with syrupy. Digests are left out of the snapshot view
on purpose: any edit to a policy changes its digest, and a snapshot should
only change when a decision does.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gait.engine.decision import Decision
    from gait.policy.compiler import CompiledPolicy
    from gait.regress.policytest import PolicyTestReport

__all__ = ["PolicyDecision", "PolicyUnderTest"]

IntentInput = Mapping[str, Any] | str | os.PathLike[str] | bytes


@dataclass(frozen=True)
class PolicyDecision:
    """The decision-relevant part of an engine :class:`~gait.engine.Decision`."""

    verdict: str
    reason_codes: tuple[str, ...]
    violations: tuple[str, ...]
    matched_rule: str
    min_approvals: int = 0

    @classmethod
    def of(cls, decision: Decision) -> PolicyDecision:
        return cls(
            verdict=decision.verdict,
            reason_codes=tuple(decision.reason_codes),
            violations=tuple(decision.violations),
            matched_rule=decision.matched_rule,
            min_approvals=decision.min_approvals,
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain data for snapshots and JSON (always the same keys)."""
        return {
            "verdict": self.verdict,
            "reason_codes": list(self.reason_codes),
            "violations": list(self.violations),
            "matched_rule": self.matched_rule,
            "min_approvals": self.min_approvals,
        }


class PolicyUnderTest:
    """A policy file compiled once; evaluate intents against it in tests."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        from gait.policy import compile_policy_file

        self.path = os.fspath(path)
        self.compiled: CompiledPolicy = compile_policy_file(self.path)

    @property
    def policy_digest(self) -> str:
        return self.compiled.policy_digest

    @property
    def rule_names(self) -> list[str]:
        """Rule names in evaluation order."""
        return [row.name for row in self.compiled.rows]

    def decide(self, intent: IntentInput) -> Decision:
        """The full engine decision (digests, approvals, budgets…) for ``intent``."""
        from gait.engine import evaluate
        from gait.intent import decode_intent_bytes, normalize_intent, read_intent_file

        if isinstance(intent, os.PathLike) or (
            isinstance(intent, str) and not intent.lstrip().startswith("{")
        ):
            raw: Any = read_intent_file(Path(intent))
        elif isinstance(intent, str | bytes):
            raw = decode_intent_bytes(intent)
        elif isinstance(intent, Mapping):
            raw = decode_intent_bytes(json.dumps(dict(intent)))
        else:
            raise TypeError(f"intent must be a mapping, JSON text or a path, not {type(intent)}")
        return evaluate(self.compiled, normalize_intent(raw))

    def evaluate(self, intent: IntentInput) -> PolicyDecision:
        """Decide ``intent`` (a mapping, JSON text, or the path of an intent file)."""
        return PolicyDecision.of(self.decide(intent))

    def run_fixtures(self, directory: str | os.PathLike[str]) -> PolicyTestReport:
        """Run a golden fixtures directory (the ``gait policy test <policy> <DIR>`` report)."""
        from gait.regress.policytest import run_policy_tests_compiled

        return run_policy_tests_compiled(self.compiled, self.path, os.fspath(directory))

    def __repr__(self) -> str:
        return f"PolicyUnderTest({self.path!r})"
