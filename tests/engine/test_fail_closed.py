"""Fail-closed checks (policy.md §5), run before any rule."""

from __future__ import annotations

import pytest

from gait.engine import evaluate
from gait.errors import GaitError, IntentError

ALLOW_ALL = "rules:\n  - {name: allow-all, effect: allow}\n"


def fc_policy(required: str = "[]", risk: str = "") -> str:
    risk_line = f"  risk_classes: {risk}\n" if risk else ""
    return f"fail_closed:\n  enabled: true\n  required_fields: {required}\n{risk_line}" + ALLOW_ALL


HIGH = {"risk_class": "high"}


def test_disabled_fail_closed_never_blocks(decide) -> None:
    policy = "fail_closed:\n  required_fields: [targets]\n" + ALLOW_ALL
    assert decide(policy, targets=[], context=HIGH).verdict == "allow"


def test_fail_closed_ignores_risk_classes_not_listed(decide) -> None:
    assert (
        decide(fc_policy("[targets]"), targets=[], context={"risk_class": "medium"}).verdict
        == "allow"
    )


def test_default_fail_closed_risk_classes_are_high_and_critical(decide) -> None:
    for risk in ("high", "critical"):
        assert (
            decide(fc_policy("[targets]"), targets=[], context={"risk_class": risk}).verdict
            == "block"
        )


def test_custom_fail_closed_risk_classes(decide) -> None:
    policy = fc_policy("[targets]", "[medium]")
    assert decide(policy, targets=[], context={"risk_class": "medium"}).verdict == "block"
    assert decide(policy, targets=[], context=HIGH).verdict == "allow"


def test_intent_risk_class_compared_after_trim_and_lower(decide) -> None:
    assert (
        decide(fc_policy("[targets]"), targets=[], context={"risk_class": " HIGH "}).verdict
        == "block"
    )


@pytest.mark.parametrize(
    ("field", "overrides", "reason", "violation"),
    [
        ("targets", {"targets": []}, "fail_closed_missing_targets", "missing_targets"),
        (
            "arg_provenance",
            {"arg_provenance": []},
            "fail_closed_missing_arg_provenance",
            "missing_arg_provenance",
        ),
        ("delegation", {}, "fail_closed_missing_delegation", "missing_delegation"),
        ("context_evidence", {}, "context_evidence_missing", "missing_context_evidence"),
    ],
)
def test_each_required_field(
    decide, field: str, overrides: dict, reason: str, violation: str
) -> None:
    d = decide(fc_policy(f"[{field}]"), context=HIGH, **overrides)
    assert (d.verdict, d.reason_codes, d.violations, d.matched_rule) == (
        "block",
        (reason,),
        (violation,),
        "",
    )


def test_required_endpoint_class_adds_its_code_and_the_unknown_class_code(decide) -> None:
    d = decide(
        fc_policy("[endpoint_class]"), context=HIGH, targets=[{"kind": "repo", "value": "org/x"}]
    )
    assert d.reason_codes == (
        "fail_closed_endpoint_class_unknown",
        "fail_closed_missing_endpoint_class",
    )
    assert d.violations == ("endpoint_class_unknown", "missing_endpoint_class")


def test_required_field_present_passes(decide) -> None:
    d = decide(fc_policy("[targets, arg_provenance]"), context=HIGH)
    assert (d.verdict, d.matched_rule) == ("allow", "allow-all")


def test_required_delegation_present_passes(decide) -> None:
    d = decide(fc_policy("[delegation]"), context=HIGH, delegation={"requester_identity": "agent"})
    assert d.verdict == "allow"


def test_context_evidence_claim_is_stripped_so_still_missing(decide) -> None:
    d = decide(fc_policy("[context_evidence]"), context={**HIGH, "context_set_digest": "a" * 64})
    assert d.reason_codes == ("context_evidence_missing",)


def test_context_evidence_accepted_from_a_prepared_intent(compile_yaml, intent) -> None:
    """A verified envelope binds the digest; the engine then sees it (prepare=False)."""
    compiled = compile_yaml(fc_policy("[context_evidence]"))
    d = evaluate(compiled, intent(context={**HIGH, "context_set_digest": "a" * 64}), prepare=False)
    assert d.verdict == "allow"


def test_unknown_endpoint_class_always_blocks_when_fail_closed_applies(decide) -> None:
    d = decide(fc_policy("[]"), context=HIGH, targets=[{"kind": "bucket", "value": "s3://b"}])
    assert (d.verdict, d.reason_codes, d.violations) == (
        "block",
        ("fail_closed_endpoint_class_unknown",),
        ("endpoint_class_unknown",),
    )


def test_explicit_other_endpoint_class_is_unknown(decide) -> None:
    targets = [{"kind": "path", "value": "/x", "endpoint_class": "other"}]
    assert decide(fc_policy("[]"), context=HIGH, targets=targets).verdict == "block"


def test_unknown_endpoint_class_ignored_below_fail_closed_risk(decide) -> None:
    d = decide(fc_policy("[]"), targets=[{"kind": "repo", "value": "org/x"}])
    assert d.verdict == "allow"


def test_all_fail_closed_reasons_are_merged_and_sorted(decide) -> None:
    d = decide(
        fc_policy("[targets, arg_provenance, delegation]"),
        context=HIGH,
        targets=[],
        arg_provenance=[],
    )
    assert d.reason_codes == (
        "fail_closed_missing_arg_provenance",
        "fail_closed_missing_delegation",
        "fail_closed_missing_targets",
    )
    assert d.violations == ("missing_arg_provenance", "missing_delegation", "missing_targets")


def test_fail_closed_block_skips_rules(decide) -> None:
    d = decide(fc_policy("[targets]"), targets=[], context=HIGH)
    assert (d.matched_rule, d.min_approvals) == ("", 0)


# ------------------------------------------------------------ invalid intents ---


def invalid_intent(risk: str) -> dict:
    return {
        "tool_name": "",
        "args": {},
        "context": {"identity": "a", "workspace": "/w", "risk_class": risk},
    }


def test_invalid_intent_blocks_when_fail_closed_applies(compile_yaml) -> None:
    d = evaluate(compile_yaml(fc_policy("[]")), invalid_intent(" High "))
    assert (d.verdict, d.reason_codes, d.violations, d.matched_rule) == (
        "block",
        ("fail_closed_intent_invalid",),
        ("intent_not_evaluable",),
        "",
    )


def test_invalid_intent_raises_when_risk_not_fail_closed(compile_yaml) -> None:
    with pytest.raises(IntentError) as info:
        evaluate(compile_yaml(fc_policy("[]")), invalid_intent("low"))
    assert info.value.message.endswith("tool_name is required")


def test_invalid_intent_raises_when_fail_closed_disabled(compile_yaml) -> None:
    with pytest.raises(GaitError):
        evaluate(compile_yaml(ALLOW_ALL), invalid_intent("high"))
