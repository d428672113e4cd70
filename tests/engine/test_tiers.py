"""Single-intent evaluation (policy.md §4, §13.2, §13.3): matching, tiers, merging."""

from __future__ import annotations

import pytest

from gait.engine import most_restrictive

READ_URL = [{"kind": "url", "value": "https://x.test/a", "operation": "get"}]


# ------------------------------------------------------------ defaults ---


@pytest.mark.parametrize("verdict", ["allow", "block", "dry_run", "require_approval"])
def test_no_match_gives_default_verdict_and_reason(decide, verdict: str) -> None:
    d = decide(
        f"default_verdict: {verdict}\nrules:\n  - {{name: r, effect: block, match: {{tool_names: [x]}}}}\n"
    )
    assert (d.verdict, d.reason_codes, d.violations, d.matched_rule) == (
        verdict,
        (f"default_{verdict}",),
        (),
        "",
    )


def test_default_require_approval_needs_one_approval(decide) -> None:
    assert decide("rules: []\n").min_approvals == 1


def test_default_block_needs_no_approval(decide) -> None:
    assert decide("default_verdict: block\n").min_approvals == 0


def test_empty_match_matches_every_intent(decide) -> None:
    d = decide("rules:\n  - {name: all, effect: allow}\n", tool_name="anything.at.all")
    assert (d.verdict, d.matched_rule) == ("allow", "all")


# ------------------------------------------------------------ match semantics ---


def test_selectors_are_anded(decide) -> None:
    policy = (
        "default_verdict: block\nrules:\n"
        "  - {name: r, effect: allow, match: {tool_names: [tool.read], risk_classes: [high]}}\n"
    )
    assert decide(policy).verdict == "block"
    assert decide(policy, context={"risk_class": "high"}).verdict == "allow"


def test_list_elements_are_ored(decide) -> None:
    policy = "default_verdict: block\nrules:\n  - {name: r, effect: allow, match: {tool_names: [a.b, tool.read]}}\n"
    assert decide(policy).verdict == "allow"


def test_match_is_exact_equality_not_glob(decide) -> None:
    policy = "default_verdict: block\nrules:\n  - {name: r, effect: allow, match: {tool_names: ['tool.*']}}\n"
    assert decide(policy).verdict == "block"


def test_policy_side_lowercased_list_matches_normalized_intent(decide) -> None:
    policy = "default_verdict: block\nrules:\n  - {name: r, effect: allow, match: {tool_name: TOOL.Read}}\n"
    assert decide(policy, tool_name=" Tool.READ ").verdict == "allow"


def test_identities_are_case_sensitive(decide) -> None:
    policy = "default_verdict: block\nrules:\n  - {name: r, effect: allow, match: {identities: [Agent]}}\n"
    assert decide(policy).verdict == "block"
    assert decide(policy, context={"identity": "Agent"}).verdict == "allow"


def test_workspace_prefix_is_string_prefix(decide) -> None:
    policy = "default_verdict: block\nrules:\n  - {name: r, effect: allow, match: {workspace_prefixes: [/re]}}\n"
    assert decide(policy).verdict == "allow"
    assert decide(policy, context={"workspace": "/other"}).verdict == "block"


def test_workspace_prefix_sees_backslashes_as_slashes(decide) -> None:
    policy = "default_verdict: block\nrules:\n  - {name: r, effect: allow, match: {workspace_prefixes: ['C:/work']}}\n"
    assert decide(policy, context={"workspace": "C:\\work\\repo"}).verdict == "allow"


def test_target_selectors_may_be_satisfied_by_different_targets(decide) -> None:
    policy = (
        "default_verdict: block\nrules:\n"
        "  - {name: r, effect: allow, match: {target_kinds: [url], target_values: [/repo/a.txt]}}\n"
    )
    targets = [*READ_URL, {"kind": "path", "value": "/repo/a.txt", "operation": "read"}]
    assert decide(policy, targets=targets).verdict == "allow"


def test_rule_without_tool_selector_applies_to_unindexed_tools(decide) -> None:
    policy = (
        "default_verdict: block\nrules:\n"
        "  - {name: t, priority: 1, effect: block, match: {tool_names: [other.tool]}}\n"
        "  - {name: any, priority: 2, effect: allow}\n"
    )
    assert decide(policy, tool_name="never.indexed").matched_rule == "any"


# ------------------------------------------------------------ tiers ---


def test_lower_priority_number_wins_outright(decide) -> None:
    policy = (
        "rules:\n  - {name: strict, priority: 20, effect: block}\n"
        "  - {name: lenient, priority: 10, effect: allow}\n"
    )
    d = decide(policy)
    assert (d.verdict, d.matched_rule, d.reason_codes) == (
        "allow",
        "lenient",
        ("matched_rule_lenient",),
    )


def test_negative_priority_runs_first(decide) -> None:
    policy = (
        "rules:\n  - {name: zero, effect: block}\n  - {name: neg, priority: -1, effect: allow}\n"
    )
    assert decide(policy).matched_rule == "neg"


def test_tier_verdict_is_most_restrictive(decide) -> None:
    policy = (
        "rules:\n  - {name: a, priority: 5, effect: allow}\n"
        "  - {name: b, priority: 5, effect: dry_run}\n  - {name: c, priority: 5, effect: require_approval}\n"
    )
    assert decide(policy).verdict == "require_approval"


def test_dry_run_outranks_allow_in_a_tier(decide) -> None:
    policy = "rules:\n  - {name: a, effect: allow}\n  - {name: b, effect: dry_run}\n"
    assert decide(policy).verdict == "dry_run"


def test_reasons_merged_only_from_winning_rules(decide) -> None:
    policy = (
        "rules:\n"
        "  - {name: a, effect: allow, reason_codes: [allow_reason], violations: [allow_violation]}\n"
        "  - {name: b, effect: block, reason_codes: [block_b], violations: [vb]}\n"
        "  - {name: c, effect: block, reason_codes: [block_c, block_b]}\n"
    )
    d = decide(policy)
    assert d.reason_codes == ("block_b", "block_c")
    assert d.violations == ("vb",)


def test_matched_rule_lists_all_tier_rules_sorted(decide) -> None:
    policy = (
        "rules:\n  - {name: zeta, effect: allow}\n  - {name: alpha, effect: block}\n"
        "  - {name: mid, effect: allow}\n  - {name: later, priority: 9, effect: block}\n"
    )
    assert decide(policy).matched_rule == "alpha,mid,zeta"


def test_matched_rule_names_are_unique(decide) -> None:
    policy = "rules:\n  - {name: twin, effect: allow}\n  - {name: twin, effect: block}\n"
    assert decide(policy).matched_rule == "twin"


def test_later_tier_rules_are_not_reported(decide) -> None:
    policy = (
        "rules:\n  - {name: first, priority: 1, effect: allow, match: {tool_names: [tool.read]}}\n"
        "  - {name: second, priority: 2, effect: block}\n"
    )
    d = decide(policy)
    assert (d.matched_rule, d.reason_codes) == ("first", ("matched_rule_first",))


def test_non_matching_rule_in_same_priority_is_not_in_tier(decide) -> None:
    policy = (
        "rules:\n  - {name: a, effect: allow}\n"
        "  - {name: b, effect: block, match: {tool_names: [nope]}}\n"
    )
    assert (decide(policy).verdict, decide(policy).matched_rule) == ("allow", "a")


# ------------------------------------------------------------ reason codes ---


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Allow Safe-Read", "matched_rule_allow_safe_read"),
        ("Deny <All> & Co-Op", "matched_rule_deny_<all>_&_co_op"),
        ('quote"and\\slash', 'matched_rule_quote"and\\slash'),
        ("MiXeD", "matched_rule_mixed"),
    ],
)
def test_rule_without_reason_codes_reports_sanitized_name(decide, name: str, code: str) -> None:
    import json

    assert decide(f"rules:\n  - name: {json.dumps(name)}\n    effect: allow\n").reason_codes == (
        code,
    )


def test_rule_reason_codes_replace_matched_rule_code(decide) -> None:
    d = decide("rules:\n  - {name: r, effect: allow, reason_codes: [mine]}\n")
    assert d.reason_codes == ("mine",)


# ------------------------------------------------------------ approvals and flags ---


def test_require_approval_rule_without_min_needs_one(decide) -> None:
    assert decide("rules:\n  - {name: r, effect: require_approval}\n").min_approvals == 1


def test_min_approvals_is_max_over_winning_rules(decide) -> None:
    policy = (
        "rules:\n  - {name: a, effect: require_approval, min_approvals: 2}\n"
        "  - {name: b, effect: require_approval, min_approvals: 3}\n"
    )
    d = decide(policy)
    assert (d.min_approvals, d.require_distinct_approvers) == (3, True)


def test_min_approvals_of_losing_rule_ignored(decide) -> None:
    policy = (
        "rules:\n  - {name: a, effect: require_approval, min_approvals: 1}\n"
        "  - {name: b, effect: allow, min_approvals: 5}\n"
    )
    assert decide(policy).min_approvals == 1


def test_non_approval_verdict_clears_min_approvals(decide) -> None:
    policy = "rules:\n  - {name: a, effect: block, min_approvals: 3}\n"
    d = decide(policy)
    assert (d.min_approvals, d.require_distinct_approvers) == (0, False)


def test_distinct_approvers_ored_over_winning_rules(decide) -> None:
    policy = (
        "rules:\n  - {name: a, effect: require_approval}\n"
        "  - {name: b, effect: require_approval, require_distinct_approvers: true}\n"
    )
    assert decide(policy).require_distinct_approvers is True


def test_broker_fields_merged_from_winning_rules(decide) -> None:
    policy = (
        "rules:\n"
        "  - {name: a, effect: allow, require_broker_credential: true, broker_reference: ref-b, broker_scopes: [w]}\n"
        "  - {name: b, effect: allow, broker_reference: ref-a, broker_scopes: [r, w]}\n"
        "  - {name: c, effect: allow, broker_reference: ref-b}\n"
    )
    d = decide(policy)
    assert (d.require_broker_credential, d.broker_reference, d.broker_scopes) == (
        True,
        "ref-a,ref-b",
        ("r", "w"),
    )


def test_flags_of_losing_rules_are_not_merged(decide) -> None:
    policy = (
        "rules:\n  - {name: a, effect: allow, require_broker_credential: true, broker_reference: x}\n"
        "  - {name: b, effect: block}\n"
    )
    d = decide(policy)
    assert (d.require_broker_credential, d.broker_reference) == (False, "")


def test_delegation_requirement_and_scopes_from_winning_rules(decide) -> None:
    policy = "rules:\n  - {name: a, effect: allow, match: {require_delegation: true, delegation_scopes: [Write]}}\n"
    delegation = {"requester_identity": "agent", "scope_class": "write"}
    d = decide(policy, delegation=delegation)
    assert (d.require_delegation, d.required_delegation_scopes) == (True, ("write",))


@pytest.mark.parametrize(
    ("a", "b", "winner"),
    [
        ("{requests: 5}", "{requests: 3}", (3, "minute", "tool_identity")),
        (
            "{requests: 3, window: hour}",
            "{requests: 3, window: minute}",
            (3, "minute", "tool_identity"),
        ),
        ("{requests: 3, scope: tool}", "{requests: 3, scope: identity}", (3, "minute", "identity")),
    ],
)
def test_rate_limit_most_restrictive_wins(decide, a: str, b: str, winner: tuple) -> None:
    policy = f"rules:\n  - {{name: a, effect: allow, rate_limit: {a}}}\n  - {{name: b, effect: allow, rate_limit: {b}}}\n"
    rl = decide(policy).rate_limit
    assert (rl.requests, rl.window, rl.scope) == winner


def test_destructive_budget_carried_from_winning_rule(decide) -> None:
    policy = (
        "rules:\n  - {name: a, effect: allow, destructive_budget: {requests: 2, window: hour}}\n"
    )
    db = decide(policy).destructive_budget
    assert (db.requests, db.window, db.scope) == (2, "hour", "tool_identity")


def test_no_limits_when_rules_set_none(decide) -> None:
    d = decide("rules:\n  - {name: a, effect: allow}\n")
    assert (d.rate_limit, d.destructive_budget) == (None, None)


# ------------------------------------------------------------ verdict order ---


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("allow", "dry_run", "dry_run"),
        ("dry_run", "require_approval", "require_approval"),
        ("require_approval", "block", "block"),
        ("block", "allow", "block"),
    ],
)
def test_most_restrictive_order(a: str, b: str, expected: str) -> None:
    assert most_restrictive(a, b) == expected


@pytest.mark.parametrize(("a", "b"), [("bogus", "dry_run"), ("dry_run", "bogus")])
def test_most_restrictive_rejects_unknown_verdicts(a: str, b: str) -> None:
    from gait.engine import UnknownVerdict

    with pytest.raises(UnknownVerdict):
        most_restrictive(a, b)


def test_decision_carries_policy_and_intent_digests(decide) -> None:
    d = decide("rules: []\n")
    assert len(d.policy_digest) == 64 and len(d.intent_digest) == 64
