"""Plan/apply phase rule for destructive targets (policy.md §13.3 step 5, intent.md §4)."""

from __future__ import annotations

import pytest

ALLOW = "rules:\n  - {name: r, effect: allow, reason_codes: [ok]}\n"
DELETE = [{"kind": "path", "value": "/repo/old.txt", "operation": "delete"}]


def test_plan_phase_destructive_becomes_dry_run(decide) -> None:
    d = decide(ALLOW, targets=DELETE, context={"phase": "plan"})
    assert (d.verdict, d.reason_codes, d.min_approvals) == (
        "dry_run",
        ("ok", "plan_phase_non_destructive"),
        0,
    )


def test_apply_phase_destructive_requires_approval(decide) -> None:
    d = decide(ALLOW, targets=DELETE)
    assert (d.verdict, d.reason_codes, d.min_approvals) == (
        "require_approval",
        ("destructive_apply_requires_approval", "ok"),
        1,
    )


def test_explicit_apply_phase_same_as_default(decide) -> None:
    assert decide(ALLOW, targets=DELETE, context={"phase": " APPLY "}).verdict == "require_approval"


def test_block_rule_stays_block_on_destructive_apply(decide) -> None:
    d = decide("rules:\n  - {name: r, effect: block, reason_codes: [no]}\n", targets=DELETE)
    assert (d.verdict, d.reason_codes) == ("block", ("destructive_apply_requires_approval", "no"))


def test_block_rule_stays_block_in_plan_phase(decide) -> None:
    d = decide("rules:\n  - {name: r, effect: block}\n", targets=DELETE, context={"phase": "plan"})
    assert d.verdict == "block"


def test_require_approval_rule_in_plan_phase_stays_require_approval(decide) -> None:
    d = decide(
        "rules:\n  - {name: r, effect: require_approval}\n",
        targets=DELETE,
        context={"phase": "plan"},
    )
    assert (d.verdict, d.reason_codes) == (
        "require_approval",
        ("matched_rule_r", "plan_phase_non_destructive"),
    )


def test_non_destructive_target_has_no_phase_effect(decide) -> None:
    d = decide(ALLOW, context={"phase": "plan"})
    assert (d.verdict, d.reason_codes) == ("allow", ("ok",))


def test_phase_rule_does_not_touch_the_default_verdict(decide) -> None:
    d = decide("default_verdict: allow\n", targets=DELETE)
    assert (d.verdict, d.reason_codes) == ("allow", ("default_allow",))


@pytest.mark.parametrize(
    "target",
    [
        {"kind": "path", "value": "/x", "destructive": True},
        {"kind": "path", "value": "/x", "destructive_hint": True},
        {"kind": "path", "value": "/x", "operation": "truncate"},
        {"kind": "other", "value": "ls", "operation": "exec"},
        {"kind": "path", "value": "/x", "endpoint_class": "fs.delete"},
        {"kind": "repo", "value": "org/x", "operation": "drop"},
    ],
)
def test_destructive_detection(decide, target: dict) -> None:
    assert decide(ALLOW, targets=[target]).verdict == "require_approval"


def test_destructive_inferred_from_tool_name_hint(decide) -> None:
    d = decide(ALLOW, tool_name="fs.remove", targets=[{"kind": "path", "value": "/x"}])
    assert d.verdict == "require_approval"
