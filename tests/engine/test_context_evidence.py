"""Context-evidence requirements (policy.md §10) and claim stripping."""

from __future__ import annotations

import pytest

from gait.engine import evaluate

DIGEST = "ab" * 32


def ctx_policy(keys: str) -> str:
    return f"rules:\n  - name: r\n    effect: allow\n    reason_codes: [rule_hit]\n{keys}"


def test_required_evidence_blocks_without_envelope(decide) -> None:
    d = decide(ctx_policy("    require_context_evidence: true\n"))
    assert d.verdict == "block"
    assert d.reason_codes == (
        "context_evidence_missing",
        "context_evidence_mode_mismatch",
        "context_set_digest_missing",
        "rule_hit",
    )
    assert d.violations == ("context_evidence_mode_violation", "missing_context_evidence")


def test_claimed_evidence_is_stripped_without_envelope(decide) -> None:
    claims = {
        "context_set_digest": DIGEST,
        "context_evidence_mode": "required",
        "context_refs": ["r1"],
    }
    d = decide(ctx_policy("    require_context_evidence: true\n"), context=claims)
    assert d.verdict == "block"
    assert "context_set_digest_missing" in d.reason_codes


def test_max_age_alone_blocks_with_freshness_codes(decide) -> None:
    d = decide(
        ctx_policy("    max_context_age_seconds: 60\n"),
        context={"auth_context": {"context_age_seconds": 5}},
    )
    assert d.verdict == "block"
    assert {"context_freshness_exceeded", "context_evidence_missing"} <= set(d.reason_codes)
    assert "context_freshness_violation" in d.violations


def test_context_rules_not_active_when_unset(decide) -> None:
    assert decide(ctx_policy("")).verdict == "allow"


def bound(compile_yaml, intent, keys: str, **context):
    """Evaluate an intent whose evidence a verified envelope already bound (prepare=False)."""
    return evaluate(compile_yaml(ctx_policy(keys)), intent(context=context), prepare=False)


def test_bound_evidence_satisfies_the_rule(compile_yaml, intent) -> None:
    d = bound(
        compile_yaml,
        intent,
        "    require_context_evidence: true\n    max_context_age_seconds: 60\n",
        context_set_digest=DIGEST,
        context_evidence_mode="required",
        auth_context={"context_age_seconds": 60},
    )
    assert (d.verdict, d.reason_codes) == ("allow", ("rule_hit",))


def test_best_effort_mode_is_a_mode_mismatch(compile_yaml, intent) -> None:
    d = bound(
        compile_yaml,
        intent,
        "    required_context_evidence_mode: required\n",
        context_set_digest=DIGEST,
        context_evidence_mode="best_effort",
    )
    assert (d.verdict, d.reason_codes) == ("block", ("context_evidence_mode_mismatch", "rule_hit"))


@pytest.mark.parametrize(
    ("age", "fresh"),
    [
        (30, True),
        (61, False),
        (59.9, True),
        (60.7, True),
        ("45", True),
        ("old", False),
        (-1, False),
        (True, False),
    ],
)
def test_context_age_values(compile_yaml, intent, age: object, fresh: bool) -> None:
    d = bound(
        compile_yaml,
        intent,
        "    max_context_age_seconds: 60\n",
        context_set_digest=DIGEST,
        auth_context={"context_age_seconds": age},
    )
    assert (d.verdict == "allow") is fresh
    assert ("context_freshness_exceeded" in d.reason_codes) is (not fresh)


def test_missing_context_age_is_not_fresh(compile_yaml, intent) -> None:
    d = bound(compile_yaml, intent, "    max_context_age_seconds: 10\n", context_set_digest=DIGEST)
    assert (d.verdict, d.violations) == ("block", ("context_freshness_violation",))
