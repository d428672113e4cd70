"""Script intents (policy.md §13.4): per-step evaluation, roll-up, script limits."""

from __future__ import annotations

READ = {
    "tool_name": "tool.read",
    "args": {"path": "/a"},
    "targets": [{"kind": "path", "value": "/a", "operation": "read"}],
}
WRITE = {
    "tool_name": "tool.write",
    "args": {"path": "/b"},
    "targets": [{"kind": "path", "value": "/b", "operation": "write"}],
}
DELETE = {
    "tool_name": "tool.delete",
    "args": {"path": "/c"},
    "targets": [{"kind": "path", "value": "/c", "operation": "delete"}],
}

RULES = """rules:
  - {name: reads, effect: allow, match: {tool_names: [tool.read]}, reason_codes: [read_ok]}
  - {name: writes, effect: require_approval, min_approvals: 2, match: {tool_names: [tool.write]}, reason_codes: [write_review]}
  - {name: deletes, effect: block, match: {tool_names: [tool.delete]}, reason_codes: [no_delete], violations: [deleting]}
"""


def script(*steps: dict) -> dict:
    return {"script": {"steps": list(steps)}, "targets": [], "arg_provenance": []}


def test_each_step_gets_its_own_verdict(decide) -> None:
    d = decide(RULES, **script(READ, WRITE))
    assert [s.to_dict() for s in d.step_verdicts] == [
        {
            "index": 0,
            "tool_name": "tool.read",
            "verdict": "allow",
            "reason_codes": ["read_ok"],
            "matched_rule": "reads",
        },
        {
            "index": 1,
            "tool_name": "tool.write",
            "verdict": "require_approval",
            "reason_codes": ["write_review"],
            "matched_rule": "writes",
        },
    ]


def test_roll_up_is_most_restrictive_with_union_of_codes(decide) -> None:
    d = decide(RULES, **script(READ, WRITE, DELETE))
    assert d.verdict == "block"
    assert d.reason_codes == (
        "destructive_apply_requires_approval",
        "no_delete",
        "read_ok",
        "write_review",
    )
    assert d.violations == ("deleting",)
    assert d.matched_rule == "deletes,reads,writes"


def test_roll_up_min_approvals_is_max_over_steps(decide) -> None:
    d = decide(RULES, **script(READ, WRITE))
    assert (d.verdict, d.min_approvals, d.require_distinct_approvers) == (
        "require_approval",
        2,
        True,
    )


def test_steps_with_no_rule_use_the_default(decide) -> None:
    step = {"tool_name": "tool.other", "args": {}}
    d = decide("default_verdict: dry_run\n" + RULES, **script(READ, step))
    assert d.verdict == "dry_run"
    assert d.step_verdicts[1].reason_codes == ("default_dry_run",)


def test_steps_share_context(decide) -> None:
    policy = "default_verdict: block\nrules:\n  - {name: mine, effect: allow, match: {identities: [agent]}}\n"
    assert decide(policy, **script(READ, WRITE)).verdict == "allow"


def test_composite_risk_class_is_highest_step_risk(decide) -> None:
    assert decide(RULES, **script(READ)).composite_risk_class == "low"
    assert decide(RULES, **script(READ, WRITE)).composite_risk_class == "medium"
    assert decide(RULES, **script(WRITE, DELETE)).composite_risk_class == "high"


def test_network_step_is_medium_risk(decide) -> None:
    post = {
        "tool_name": "http.post",
        "args": {},
        "targets": [{"kind": "url", "value": "https://x.test"}],
    }
    assert decide("rules: []\n", **script(post)).composite_risk_class == "medium"


def test_max_steps_exceeded_blocks(decide) -> None:
    d = decide("scripts: {max_steps: 2}\n" + RULES, **script(READ, READ, READ))
    assert d.verdict == "block"
    assert "script_max_steps_exceeded" in d.reason_codes
    assert "script_max_steps_exceeded" in d.violations


def test_max_steps_not_exceeded_at_limit(decide) -> None:
    assert decide("scripts: {max_steps: 2}\n" + RULES, **script(READ, READ)).verdict == "allow"


def test_require_approval_above_threshold(decide) -> None:
    d = decide("scripts: {require_approval_above: 1}\n" + RULES, **script(READ, READ))
    assert (d.verdict, d.min_approvals) == ("require_approval", 1)
    assert "script_step_threshold_approval" in d.reason_codes


def test_require_approval_above_does_not_lower_a_block(decide) -> None:
    d = decide("scripts: {require_approval_above: 1}\n" + RULES, **script(READ, DELETE))
    assert d.verdict == "block"


def test_require_approval_above_not_reached(decide) -> None:
    assert (
        decide("scripts: {require_approval_above: 2}\n" + RULES, **script(READ, READ)).verdict
        == "allow"
    )


def test_block_mixed_risk(decide) -> None:
    d = decide("scripts: {block_mixed_risk: true}\n" + RULES, **script(READ, WRITE))
    assert d.verdict == "block"
    assert "script_mixed_risk_blocked" in d.reason_codes
    assert d.violations == ("script_mixed_risk",)


def test_block_mixed_risk_allows_uniform_risk(decide) -> None:
    assert (
        decide("scripts: {block_mixed_risk: true}\n" + RULES, **script(READ, READ)).verdict
        == "allow"
    )


def test_fail_closed_runs_once_on_the_whole_script(decide) -> None:
    policy = "fail_closed: {enabled: true, required_fields: [arg_provenance]}\n" + RULES
    d = decide(policy, context={"risk_class": "high"}, **script(READ))
    assert (d.verdict, d.reason_codes, d.step_verdicts) == (
        "block",
        ("fail_closed_missing_arg_provenance",),
        (),
    )


def test_fail_closed_sees_targets_collected_from_steps(decide) -> None:
    policy = "fail_closed: {enabled: true, required_fields: [targets]}\n" + RULES
    assert decide(policy, context={"risk_class": "high"}, **script(READ)).verdict == "allow"


def test_script_decision_reports_step_count_and_hash(decide) -> None:
    out = decide(RULES, **script(READ, WRITE)).to_dict()
    assert (out["script"], out["step_count"], len(out["script_hash"])) == (True, 2, 64)
