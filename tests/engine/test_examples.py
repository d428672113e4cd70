"""Shipped examples get the verdicts the README and the issue promise."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gait.cli.main import main
from gait.engine import evaluate
from gait.policy import compile_policy_file

REPO = Path(__file__).resolve().parents[2]
EX = REPO / "examples"
INTENTS = EX / "policy" / "intents"


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:
    code = main([*argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_high_risk_policy_blocks_delete_with_exit_3(capsys) -> None:
    code, out = run_json(
        capsys,
        "policy",
        "test",
        str(EX / "policy/base_high_risk.yaml"),
        str(INTENTS / "intent_delete.json"),
    )
    assert (code, out["verdict"], out["matched_rule"]) == (3, "block", "block-destructive")
    assert "destructive_blocked" in out["reason_codes"]


def test_low_risk_policy_allows_read_with_exit_0(capsys) -> None:
    code, out = run_json(
        capsys,
        "policy",
        "test",
        str(EX / "policy/base_low_risk.yaml"),
        str(INTENTS / "intent_read.json"),
    )
    assert (code, out["verdict"], out["reason_codes"]) == (0, "allow", ["read_allowed"])


def test_injected_intent_blocked_for_prompt_injection(capsys) -> None:
    code, out = run_json(
        capsys,
        "policy",
        "test",
        str(EX / "prompt-injection/policy.yaml"),
        str(EX / "prompt-injection/intent_injected.json"),
    )
    assert (code, out["verdict"], out["reason_codes"], out["matched_rule"]) == (
        3,
        "block",
        ["blocked_prompt_injection"],
        "block-injected-egress",
    )
    assert out["violations"] == ["prompt_injection_egress"]


def test_clean_intent_allowed_by_prompt_injection_policy() -> None:
    compiled = compile_policy_file(EX / "prompt-injection/policy.yaml", use_cache=False)
    d = evaluate(compiled, json.loads((EX / "prompt-injection/intent_clean.json").read_text()))
    assert (d.verdict, d.reason_codes) == ("allow", ("read_allowed",))


README_TABLE = {
    "intent_read.json": ("allow", "allow", "allow"),
    "intent_write.json": ("allow", "require_approval", "require_approval"),
    "intent_delete.json": ("require_approval", "block", "block"),
    "intent_tainted_egress.json": ("block", "block", "block"),
}


@pytest.mark.parametrize("intent_name", sorted(README_TABLE))
def test_readme_verdict_table(intent_name: str) -> None:
    raw = json.loads((INTENTS / intent_name).read_text())
    verdicts = tuple(
        evaluate(
            compile_policy_file(EX / "policy" / f"base_{level}_risk.yaml", use_cache=False), raw
        ).verdict
        for level in ("low", "medium", "high")
    )
    assert verdicts == README_TABLE[intent_name]
