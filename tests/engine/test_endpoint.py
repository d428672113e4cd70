"""Endpoint constraints (policy.md §6): path/domain globs, egress classes, destructive action."""

from __future__ import annotations

import pytest

from gait.engine.matchers import domain_match, glob_match, path_match


def ep_policy(endpoint: str, effect: str = "allow") -> str:
    return f"rules:\n  - name: r\n    effect: {effect}\n    endpoint: {endpoint}\n"


def path_target(value: str, operation: str = "read") -> list[dict]:
    return [{"kind": "path", "value": value, "operation": operation}]


def url_target(value: str) -> list[dict]:
    return [{"kind": "url", "value": value, "operation": "get"}]


# ------------------------------------------------------------ path rules ---


def test_path_denylist_hit_blocks_with_codes(decide) -> None:
    d = decide(ep_policy("{path_denylist: ['/etc/**']}"), targets=path_target("/etc/passwd"))
    assert d.verdict == "block"
    assert d.reason_codes == (
        "endpoint_constraint_violation",
        "endpoint_path_denied",
        "matched_rule_r",
    )
    assert d.violations == ("endpoint_constraint_violation", "endpoint_path_denied")


def test_path_allowlist_miss_is_not_allowlisted(decide) -> None:
    d = decide(ep_policy("{path_allowlist: ['/repo/**']}"), targets=path_target("/tmp/x"))
    assert d.verdict == "block"
    assert "endpoint_path_not_allowlisted" in d.reason_codes
    assert "endpoint_path_not_allowlisted" in d.violations


def test_path_allowlist_hit_leaves_rule_effect(decide) -> None:
    d = decide(ep_policy("{path_allowlist: ['/repo/**']}"), targets=path_target("/repo/a/b.txt"))
    assert (d.verdict, d.reason_codes, d.violations) == ("allow", ("matched_rule_r",), ())


def test_path_rules_apply_only_to_path_targets(decide) -> None:
    d = decide(ep_policy("{path_allowlist: ['/repo/**']}"), targets=url_target("https://x.test/"))
    assert d.verdict == "allow"


def test_endpoint_action_require_approval(decide) -> None:
    d = decide(
        ep_policy("{path_denylist: [/secret], action: require_approval}"),
        targets=path_target("/secret"),
    )
    assert (d.verdict, d.min_approvals) == ("require_approval", 1)


def test_endpoint_effect_never_lowers_a_block_rule(decide) -> None:
    policy = ep_policy("{path_denylist: [/secret], action: require_approval}", effect="block")
    assert decide(policy, targets=path_target("/secret")).verdict == "block"


def test_custom_endpoint_reason_and_violation_are_added(decide) -> None:
    policy = ep_policy("{path_denylist: [/s], reason_code: no_s, violation: s_hit}")
    d = decide(policy, targets=path_target("/s"))
    assert d.reason_codes == ("endpoint_path_denied", "matched_rule_r", "no_s")
    assert d.violations == ("endpoint_path_denied", "s_hit")


def test_endpoint_without_targets_is_not_triggered(decide) -> None:
    assert decide(ep_policy("{path_allowlist: [/repo]}"), targets=[]).verdict == "allow"


def test_endpoint_of_a_non_matching_rule_is_ignored(decide) -> None:
    policy = (
        "default_verdict: allow\nrules:\n  - name: r\n    effect: allow\n    match: {tool_names: [x]}\n"
        "    endpoint: {path_denylist: [/repo/a.txt]}\n"
    )
    assert decide(policy).reason_codes == ("default_allow",)


def test_backslash_path_value_kept_as_written(decide) -> None:
    policy = ep_policy("{path_denylist: ['C:\\Secret\\key.pem']}")
    assert decide(policy, targets=path_target("C:\\Secret\\key.pem")).verdict == "block"


# ------------------------------------------------------------ path globs ---


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("/repo/**", "/repo", True),
        ("/repo/**", "/repo/a", True),
        ("/repo/**", "/repo/a/b/c", True),
        ("/repo/**", "/repository", False),
        ("/repo/**", "/repo2/a", False),
        ("/repo/*", "/repo/a", True),
        ("/repo/*", "/repo/a/b", False),
        ("/repo/?.txt", "/repo/a.txt", True),
        ("/repo/?.txt", "/repo/ab.txt", False),
        ("/repo/?", "/repo//", False),
        ("/repo/[ab].txt", "/repo/b.txt", True),
        ("/repo/[ab].txt", "/repo/c.txt", False),
        ("/repo/[^ab].txt", "/repo/c.txt", True),
        ("/repo/[a-c].txt", "/repo/b.txt", True),
        ("/repo/exact", "/repo/exact", True),
        ("/Repo/x", "/repo/x", False),
        ("/repo/\\*", "/repo/*", True),
        ("/repo/\\*", "/repo/a", False),
    ],
)
def test_path_pattern(pattern: str, value: str, expected: bool) -> None:
    assert path_match(pattern, value) is expected


@pytest.mark.parametrize("pattern", ["/repo/[abc", "/repo/[", "/repo/\\", "[z-a]", "/x/[]"])
def test_malformed_glob_never_matches(pattern: str) -> None:
    assert glob_match(pattern, "/repo/a") is False
    assert glob_match(pattern, pattern) is False


def test_malformed_glob_in_denylist_denies_nothing(decide) -> None:
    assert (
        decide(ep_policy("{path_denylist: ['/repo/[a']}"), targets=path_target("/repo/a")).verdict
        == "allow"
    )


def test_malformed_glob_in_allowlist_allows_nothing(decide) -> None:
    d = decide(ep_policy("{path_allowlist: ['/repo/[a']}"), targets=path_target("/repo/a"))
    assert "endpoint_path_not_allowlisted" in d.reason_codes


def test_malformed_glob_still_matches_by_equality(decide) -> None:
    d = decide(ep_policy("{path_denylist: ['/repo/[a']}"), targets=path_target("/repo/[a"))
    assert d.verdict == "block"


# ------------------------------------------------------------ domains ---


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("example.com", "EXAMPLE.com", True),
        ("*.example.com", "api.example.com", True),
        ("*.example.com", "a.b.example.com", True),
        ("*.example.com", "example.com", False),
        ("*.example.com", "badexample.com", False),
        ("api.*.com", "api.example.com", True),
        ("evil.test", "notevil.test", False),
    ],
)
def test_domain_pattern(pattern: str, value: str, expected: bool) -> None:
    assert domain_match(pattern, value) is expected


def test_domain_denylist_uses_inferred_url_host(decide) -> None:
    d = decide(
        ep_policy("{domain_denylist: ['*.evil.test']}"),
        targets=url_target("https://Up.EVIL.test:8443/x"),
    )
    assert d.verdict == "block"
    assert "endpoint_domain_denied" in d.reason_codes


def test_domain_wildcard_does_not_match_apex(decide) -> None:
    d = decide(
        ep_policy("{domain_denylist: ['*.evil.test']}"), targets=url_target("https://evil.test/x")
    )
    assert d.verdict == "allow"


def test_domain_allowlist_miss(decide) -> None:
    d = decide(
        ep_policy("{domain_allowlist: [good.test]}"), targets=url_target("https://bad.test/")
    )
    assert d.reason_codes == (
        "endpoint_constraint_violation",
        "endpoint_domain_not_allowlisted",
        "matched_rule_r",
    )


def test_domain_allowlist_hit(decide) -> None:
    d = decide(
        ep_policy("{domain_allowlist: [good.test]}"), targets=url_target("https://GOOD.test/p")
    )
    assert d.verdict == "allow"


def test_explicit_endpoint_domain_on_host_target(decide) -> None:
    targets = [{"kind": "host", "value": "whatever", "endpoint_domain": "Blocked.Test"}]
    assert (
        decide(ep_policy("{domain_denylist: [blocked.test]}"), targets=targets).verdict == "block"
    )


def test_target_without_domain_skips_domain_rules(decide) -> None:
    assert (
        decide(ep_policy("{domain_allowlist: [good.test]}"), targets=path_target("/x")).verdict
        == "allow"
    )


# ------------------------------------------------------------ egress ---


def test_network_class_outside_egress_classes(decide) -> None:
    d = decide(ep_policy("{egress_classes: [net.dns]}"), targets=url_target("https://x.test/"))
    assert d.reason_codes == (
        "endpoint_constraint_violation",
        "endpoint_egress_class_not_allowed",
        "matched_rule_r",
    )


def test_network_class_inside_egress_classes(decide) -> None:
    assert (
        decide(
            ep_policy("{egress_classes: [net.http]}"), targets=url_target("https://x.test/")
        ).verdict
        == "allow"
    )


def test_egress_classes_ignore_non_network_targets(decide) -> None:
    assert (
        decide(ep_policy("{egress_classes: [net.dns]}"), targets=path_target("/x")).verdict
        == "allow"
    )


# ------------------------------------------------------------ destructive ---


def test_destructive_action_escalates_and_adds_codes(decide) -> None:
    policy = ep_policy("{destructive_action: block}")
    d = decide(policy, targets=path_target("/repo/x", "delete"))
    assert d.verdict == "block"
    assert d.reason_codes == (
        "destructive_apply_requires_approval",
        "endpoint_constraint_violation",
        "endpoint_destructive_operation",
        "matched_rule_r",
    )
    assert d.violations == ("destructive_operation", "endpoint_constraint_violation")


def test_destructive_action_uses_most_restrictive_of_action_and_destructive_action(decide) -> None:
    policy = ep_policy("{destructive_action: require_approval, action: block}")
    assert decide(policy, targets=path_target("/repo/x", "delete")).verdict == "block"


def test_destructive_action_only_on_destructive_targets(decide) -> None:
    policy = ep_policy("{destructive_action: block}")
    assert decide(policy, targets=path_target("/repo/x", "read")).verdict == "allow"


def test_endpoint_action_applies_to_destructive_target_with_other_codes(decide) -> None:
    policy = ep_policy(
        "{destructive_action: require_approval, path_denylist: ['/repo/**'], action: require_approval}"
    )
    d = decide(policy, targets=path_target("/repo/x", "delete"))
    assert d.verdict == "require_approval"
    assert {"endpoint_path_denied", "endpoint_destructive_operation"} <= set(d.reason_codes)
