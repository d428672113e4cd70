"""``gait policy test``: one intent, or a fixtures directory (logic in gait.regress).

No click here: ``gait policy test POLICY INTENT`` runs through gait.cli.fast.
"""

from __future__ import annotations

import os
from typing import Any

from gait.cli.common import cap_summary, exit_for_verdict, load_compiled, load_intent
from gait.cli.outcome import Outcome, gc_paused
from gait.errors import EXIT_REGRESS_FAILED, InvalidInput


def _summary_list(values: tuple[str, ...] | list[str]) -> str:
    return ",".join(values) if values else "none"


@gc_paused
def run_policy_test(policy_path: str, intent_path: str, *, why: bool = False) -> Outcome:
    from gait.engine import evaluate

    compiled = load_compiled(policy_path)
    _raw, intent = load_intent(intent_path)
    decision = evaluate(compiled, intent)
    from gait.intent import intent_digest

    payload: dict[str, Any] = {
        "ok": True,
        "schema_id": "gait.policytest.result",
        "schema_version": "1.0.0",
        "created_at": decision.created_at,
        "policy_digest": compiled.policy_digest,
        "intent_digest": intent_digest(intent),
        "verdict": decision.verdict,
    }
    if decision.reason_codes:
        payload["reason_codes"] = list(decision.reason_codes)
    if decision.violations:
        payload["violations"] = list(decision.violations)
    if decision.matched_rule:
        payload["matched_rule"] = decision.matched_rule
    payload["summary"] = cap_summary(
        f"policy test verdict={decision.verdict} reasons={_summary_list(decision.reason_codes)} "
        f"violations={_summary_list(decision.violations)}"
    )
    text = [payload["summary"]]
    if why:
        from gait.engine.explain import explain_rows, render_explanation

        report = explain_rows(compiled, decision.intent or intent)
        payload["explanation"] = report
        text = [*render_explanation(report), payload["summary"]]
    return Outcome(payload, exit_code=exit_for_verdict(decision.verdict), text=text)


def run_policy_test_dir(
    policy_path: str, directory: str, *, junit: str = "", why: bool = False
) -> Outcome:
    """Exit 0 when every fixture passes, 5 when any fails; invalid input raises (exit 6)."""
    from gait.fsutil import atomic_write
    from gait.regress.policytest import run_policy_tests

    if not os.path.isdir(directory):
        raise InvalidInput("--junit requires a fixtures directory as the second argument")
    if why:
        raise InvalidInput("--why applies to a single intent file, not a fixtures directory")
    report = run_policy_tests(policy_path, directory)
    payload = report.to_dict()
    text = report.text_lines()
    if junit:
        from pathlib import Path

        target = Path(junit)
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, report.junit().encode("utf-8"), 0o644)
        payload["junit"] = junit
        text.append(f"junit: {junit}")
    return Outcome(payload, exit_code=0 if report.passed else EXIT_REGRESS_FAILED, text=text)
