"""Policy normalization and validation, rule by rule (policy.md §2–§12), exact error wording."""

from __future__ import annotations

import pytest

from gait.errors import PolicyError
from gait.policy import load_policy_source
from gait.policy.model import Policy, Rule
from gait.policy.normalize import normalize_policy


def load(text: str) -> Policy:
    return load_policy_source(text.encode("utf-8"), "p.yaml", "yaml")


def rule(body: str, name: str = "r1", effect: str = "block") -> Rule:
    """The single normalized rule of a policy whose rule has ``body`` (4-space indented keys)."""
    text = f"rules:\n  - name: {name}\n    effect: {effect}\n" + body
    return load(text).rules[0]


def message(text: str) -> str:
    with pytest.raises(PolicyError) as info:
        load(text)
    return info.value.message


def rule_message(body: str, name: str = "r1", effect: str = "block") -> str:
    return message(f"rules:\n  - name: {name}\n    effect: {effect}\n" + body)


# ------------------------------------------------------------ §2 top level ---


def test_schema_id_defaults() -> None:
    assert load("default_verdict: block\n").schema_id == "gait.gate.policy"


def test_schema_version_defaults() -> None:
    assert load("default_verdict: block\n").schema_version == "1.0.0"


def test_unsupported_schema_id_message() -> None:
    assert message("schema_id: gait.other\n") == "unsupported policy schema_id: gait.other"


def test_unsupported_schema_version_message() -> None:
    assert message("schema_version: 2.0.0\n") == "unsupported policy schema_version: 2.0.0"


def test_default_verdict_defaults_to_require_approval() -> None:
    assert load("rules: []\n").default_verdict == "require_approval"


def test_default_verdict_is_trimmed_and_lowercased() -> None:
    assert load("default_verdict: '  BLOCK '\n").default_verdict == "block"


@pytest.mark.parametrize("verdict", ["allow", "block", "dry_run", "require_approval"])
def test_each_verdict_is_a_valid_default(verdict: str) -> None:
    assert load(f"default_verdict: {verdict}\n").default_verdict == verdict


def test_invalid_default_verdict_message() -> None:
    assert message("default_verdict: deny\n") == "invalid default_verdict: deny"


def test_default_action_fills_empty_default_verdict() -> None:
    assert load("default_action: Allow\n").default_verdict == "allow"


def test_default_action_equal_after_trim_lower_is_accepted() -> None:
    assert load("default_verdict: block\ndefault_action: ' BLOCK'\n").default_verdict == "block"


def test_default_action_conflict_message() -> None:
    assert (
        message("default_verdict: block\ndefault_action: allow\n")
        == "default_action must match default_verdict when both are set"
    )


def test_invalid_default_action_reports_invalid_default_verdict() -> None:
    assert message("default_action: nope\n") == "invalid default_verdict: nope"


def test_default_action_is_kept_as_written() -> None:
    assert load("default_action: Allow\n").default_action == "Allow"


# ------------------------------------------------------------ §3 rules ---


def test_rule_name_is_trimmed() -> None:
    assert load("rules:\n  - name: '  spaced  '\n    effect: allow\n").rules[0].name == "spaced"


def test_empty_rule_name_message() -> None:
    assert message("rules:\n  - name: '  '\n    effect: allow\n") == "rule name is required"


def test_missing_rule_name_message() -> None:
    assert message("rules:\n  - effect: allow\n") == "rule name is required"


def test_duplicate_rule_names_are_accepted() -> None:
    policy = load("rules:\n  - name: a\n    effect: allow\n  - name: a\n    effect: block\n")
    assert [r.name for r in policy.rules] == ["a", "a"]


def test_negative_priority_is_allowed() -> None:
    assert rule("    priority: -5\n").priority == -5


def test_effect_is_trimmed_and_lowercased() -> None:
    assert rule("", effect="' Require_Approval '").effect == "require_approval"


def test_missing_effect_message() -> None:
    assert message("rules:\n  - name: r1\n") == "rule effect is required for r1"


def test_invalid_effect_message() -> None:
    assert rule_message("", effect="permit") == 'invalid rule effect "permit" for r1'


def test_invalid_effect_blocked_message() -> None:
    assert (
        rule_message("", name="deny-external-egress", effect="blocked")
        == 'invalid rule effect "blocked" for deny-external-egress'
    )


def test_action_alias_supplies_effect() -> None:
    policy = load("rules:\n  - name: r1\n    action: ALLOW\n")
    assert policy.rules[0].effect == "allow"
    assert policy.rules[0].action == "ALLOW"


def test_action_conflict_message() -> None:
    assert rule_message("    action: allow\n") == "rule action must match effect for r1"


def test_invalid_action_alias_message() -> None:
    assert (
        message("rules:\n  - name: r1\n    action: nope\n") == 'invalid rule effect "nope" for r1'
    )


def test_reason_codes_trimmed_deduped_sorted_case_kept() -> None:
    r = rule("    reason_codes: [' b ', a, '', B, a, '  ']\n")
    assert r.reason_codes == ("B", "a", "b")


def test_violations_trimmed_deduped_sorted_case_kept() -> None:
    assert rule("    violations: [z, ' Y', z, '']\n").violations == ("Y", "z")


def test_negative_min_approvals_message() -> None:
    assert rule_message("    min_approvals: -1\n") == "min_approvals must be >= 0 for r1"


def test_min_approvals_above_one_forces_distinct_approvers() -> None:
    assert rule("    min_approvals: 2\n").require_distinct_approvers is True


def test_min_approvals_one_keeps_distinct_approvers_false() -> None:
    assert rule("    min_approvals: 1\n").require_distinct_approvers is False


def test_explicit_distinct_approvers_is_kept() -> None:
    assert rule("    require_distinct_approvers: true\n").require_distinct_approvers is True


def test_require_context_evidence_sets_mode_required() -> None:
    assert rule("    require_context_evidence: true\n").required_context_evidence_mode == "required"


def test_context_evidence_mode_trimmed_lowercased() -> None:
    r = rule("    required_context_evidence_mode: ' REQUIRED '\n")
    assert r.required_context_evidence_mode == "required"


def test_bad_context_evidence_mode_message() -> None:
    assert (
        rule_message("    required_context_evidence_mode: best_effort\n")
        == "required_context_evidence_mode must be required for r1"
    )


def test_negative_max_context_age_message() -> None:
    assert (
        rule_message("    max_context_age_seconds: -1\n")
        == "max_context_age_seconds must be >= 0 for r1"
    )


def test_broker_reference_trimmed() -> None:
    assert rule("    broker_reference: '  vault:db  '\n").broker_reference == "vault:db"


def test_broker_scopes_trimmed_lowercased_deduped_sorted() -> None:
    assert rule("    broker_scopes: [' Write', read, READ, '']\n").broker_scopes == (
        "read",
        "write",
    )


# ------------------------------------------------------------ §3.1 ordering ---


def test_rules_sorted_by_priority_then_name() -> None:
    policy = load(
        "rules:\n"
        "  - {name: c, effect: allow, priority: 5}\n"
        "  - {name: b, effect: allow, priority: 1}\n"
        "  - {name: a, effect: allow, priority: 5}\n"
        "  - {name: z, effect: allow, priority: -3}\n"
    )
    assert [r.name for r in policy.rules] == ["z", "b", "a", "c"]


def test_rule_name_order_is_byte_order() -> None:
    policy = load(
        "rules:\n  - {name: b, effect: allow}\n  - {name: B, effect: allow}\n"
        "  - {name: é, effect: allow}\n  - {name: a, effect: allow}\n"
    )
    assert [r.name for r in policy.rules] == ["B", "a", "b", "é"]


def test_rule_sort_is_stable_for_equal_keys() -> None:
    policy = load(
        "rules:\n  - {name: same, effect: allow, reason_codes: [first]}\n"
        "  - {name: same, effect: block, reason_codes: [second]}\n"
    )
    assert [r.reason_codes for r in policy.rules] == [("first",), ("second",)]


# ------------------------------------------------------------ §4 match ---


def match(body: str):
    return rule("    match:\n" + body).match


def test_tool_name_alias_folded_into_tool_names_lowercased() -> None:
    m = match("      tool_name: ' FS.Read '\n      tool_names: [fs.write]\n")
    assert m.tool_names == ("fs.read", "fs.write")
    assert m.tool_name == " FS.Read "


def test_tool_names_lowercased_deduped_sorted() -> None:
    assert match("      tool_names: [B.x, a.y, b.X, '']\n").tool_names == ("a.y", "b.x")


def test_risk_classes_lowercased() -> None:
    assert match("      risk_classes: [HIGH, low, High]\n").risk_classes == ("high", "low")


def test_identities_are_case_sensitive() -> None:
    assert match("      identities: [Bob, bob, ' bob ']\n").identities == ("Bob", "bob")


def test_workspace_prefixes_case_kept() -> None:
    assert match("      workspace_prefixes: [/Repo, /repo]\n").workspace_prefixes == (
        "/Repo",
        "/repo",
    )


def test_target_kinds_lowercased() -> None:
    assert match("      target_kinds: [URL, host]\n").target_kinds == ("host", "url")


def test_target_values_case_kept() -> None:
    assert match("      target_values: [/B, /a]\n").target_values == ("/B", "/a")


def test_endpoint_class_and_endpoint_classes_merged_lowercased() -> None:
    m = match("      endpoint_class: [FS.Delete]\n      endpoint_classes: [proc.exec, fs.delete]\n")
    assert m.endpoint_classes == ("fs.delete", "proc.exec")
    assert m.endpoint_class == ("FS.Delete",)


def test_unknown_endpoint_class_message() -> None:
    assert (
        rule_message("    match:\n      endpoint_classes: [fs.nuke]\n")
        == 'unsupported match endpoint_class "fs.nuke" for r1'
    )


def test_unknown_endpoint_class_via_alias_message() -> None:
    assert (
        rule_message("    match:\n      endpoint_class: [Net.FTP]\n")
        == 'unsupported match endpoint_class "net.ftp" for r1'
    )


def test_discovery_method_lowercased() -> None:
    assert match("      discovery_method: [MCP, a2a]\n").discovery_method == ("a2a", "mcp")


def test_unknown_discovery_method_message() -> None:
    assert (
        rule_message("    match:\n      discovery_method: [carrier_pigeon]\n")
        == 'unsupported match discovery_method "carrier_pigeon" for r1'
    )


@pytest.mark.parametrize(
    "key",
    [
        "skill_publishers",
        "skill_sources",
        "data_classes",
        "destination_kinds",
        "destination_operations",
        "provenance_sources",
        "context_tool_names",
        "context_data_classes",
        "context_endpoint_classes",
        "context_autonomy_levels",
        "delegation_scopes",
    ],
)
def test_lowercased_match_lists(key: str) -> None:
    m = match(f"      {key}: [Zed, alpha, ALPHA, '']\n")
    assert getattr(m, key) == ("alpha", "zed")


@pytest.mark.parametrize(
    "key", ["destination_values", "allowed_delegator_identities", "allowed_delegate_identities"]
)
def test_case_kept_match_lists(key: str) -> None:
    assert getattr(match(f"      {key}: [Zed, alpha, ' alpha']\n"), key) == ("Zed", "alpha")


def test_negative_max_delegation_depth_message() -> None:
    assert (
        rule_message("    match:\n      max_delegation_depth: -1\n")
        == "max_delegation_depth must be >= 0 for r1"
    )


def test_max_delegation_depth_zero_is_kept() -> None:
    assert match("      max_delegation_depth: 0\n").max_delegation_depth == 0


def test_max_delegation_depth_absent_is_none() -> None:
    assert match("      tool_names: [x]\n").max_delegation_depth is None


def test_tool_annotations_keep_set_hints_only() -> None:
    ann = match(
        "      tool_annotations: {readOnlyHint: true, openWorldHint: false}\n"
    ).tool_annotations
    assert (ann.readOnlyHint, ann.destructiveHint, ann.idempotentHint, ann.openWorldHint) == (
        True,
        None,
        None,
        False,
    )


# ------------------------------------------------------------ §5 fail_closed ---


def test_fail_closed_enabled_defaults_risk_classes() -> None:
    fc = load("fail_closed:\n  enabled: true\n").fail_closed
    assert fc.risk_classes == ("critical", "high")


def test_fail_closed_disabled_keeps_empty_risk_classes() -> None:
    assert load("fail_closed:\n  required_fields: [targets]\n").fail_closed.risk_classes == ()


def test_fail_closed_risk_classes_lowercased() -> None:
    fc = load("fail_closed:\n  enabled: true\n  risk_classes: [Medium, HIGH]\n").fail_closed
    assert fc.risk_classes == ("high", "medium")


def test_fail_closed_required_fields_lowercased_sorted() -> None:
    fc = load(
        "fail_closed:\n  enabled: true\n  required_fields: [Targets, arg_provenance]\n"
    ).fail_closed
    assert fc.required_fields == ("arg_provenance", "targets")


def test_unknown_fail_closed_required_field_message() -> None:
    assert (
        message("fail_closed:\n  enabled: true\n  required_fields: [Tool_Name]\n")
        == "unsupported fail_closed required_field: tool_name"
    )


# ------------------------------------------------------------ §6 endpoint ---


def endpoint(body: str):
    return rule("    endpoint:\n" + body).endpoint


def test_endpoint_auto_enabled_by_a_list() -> None:
    assert endpoint("      path_denylist: [/etc/**]\n").enabled is True


def test_endpoint_auto_enabled_by_destructive_action() -> None:
    assert endpoint("      destructive_action: block\n").enabled is True


def test_endpoint_untouched_stays_disabled() -> None:
    e = rule("").endpoint
    assert (e.enabled, e.action, e.reason_code, e.violation) == (False, "", "", "")


def test_endpoint_defaults_when_enabled() -> None:
    e = endpoint("      enabled: true\n")
    assert (e.action, e.reason_code, e.violation) == (
        "block",
        "endpoint_constraint_violation",
        "endpoint_constraint_violation",
    )


def test_endpoint_path_lists_trimmed_sorted_case_and_backslashes_kept() -> None:
    e = endpoint("      path_allowlist: [' /B/** ', 'C:\\Work\\*', /a, /a, '']\n")
    assert e.path_allowlist == ("/B/**", "/a", "C:\\Work\\*")


def test_endpoint_domain_lists_lowercased() -> None:
    e = endpoint("      domain_denylist: ['*.Evil.TEST', evil.test]\n")
    assert e.domain_denylist == ("*.evil.test", "evil.test")


def test_endpoint_egress_classes_lowercased() -> None:
    assert endpoint("      egress_classes: [NET.DNS, net.http]\n").egress_classes == (
        "net.dns",
        "net.http",
    )


def test_unknown_egress_class_message() -> None:
    assert (
        rule_message("    endpoint:\n      egress_classes: [net.ftp]\n")
        == 'unsupported endpoint.egress_class "net.ftp" for r1'
    )


def test_non_network_egress_class_message() -> None:
    assert (
        rule_message("    endpoint:\n      egress_classes: [fs.read]\n")
        == "endpoint.egress_class must be network class for r1"
    )


def test_unsupported_endpoint_action_message() -> None:
    assert (
        rule_message("    endpoint:\n      enabled: true\n      action: allow\n")
        == 'unsupported endpoint.action "allow" for r1'
    )


def test_endpoint_action_require_approval_accepted() -> None:
    assert endpoint("      path_denylist: [/x]\n      action: Require_Approval\n").action == (
        "require_approval"
    )


def test_unsupported_endpoint_destructive_action_is_error() -> None:
    msg = rule_message("    endpoint:\n      destructive_action: allow\n")
    assert msg == 'unsupported endpoint.destructive_action "allow" for r1'


def test_endpoint_custom_reason_and_violation_kept() -> None:
    e = endpoint("      path_denylist: [/x]\n      reason_code: ' no_x '\n      violation: x_hit\n")
    assert (e.reason_code, e.violation) == ("no_x", "x_hit")


# ------------------------------------------------------------ §7 dataflow ---


def dataflow(body: str):
    return rule("    dataflow:\n" + body).dataflow


def test_dataflow_enabled_gets_default_sources_action_codes() -> None:
    d = dataflow("      enabled: true\n")
    assert (d.tainted_sources, d.action, d.reason_code, d.violation) == (
        ("external", "tool_output"),
        "require_approval",
        "dataflow_tainted_destination",
        "tainted_dataflow",
    )


def test_dataflow_auto_enabled_by_destination_list() -> None:
    d = dataflow("      destination_kinds: [URL]\n")
    assert (d.enabled, d.destination_kinds, d.tainted_sources) == (
        True,
        ("url",),
        ("external", "tool_output"),
    )


def test_dataflow_destination_values_case_kept_operations_lowered() -> None:
    d = dataflow("      destination_values: [S3://Bucket]\n      destination_operations: [PUT]\n")
    assert (d.destination_values, d.destination_operations) == (("S3://Bucket",), ("put",))


def test_dataflow_tainted_sources_lowercased() -> None:
    assert dataflow("      tainted_sources: [EXTERNAL]\n").tainted_sources == ("external",)


def test_dataflow_untouched_stays_disabled() -> None:
    d = rule("").dataflow
    assert (d.enabled, d.tainted_sources, d.action) == (False, (), "")


def test_unsupported_dataflow_action_is_error() -> None:
    msg = rule_message("    dataflow:\n      enabled: true\n      action: allow\n")
    assert msg == 'unsupported dataflow.action "allow" for r1'


# ------------------------------------------------------------ §8 limits ---


def test_rate_limit_defaults_window_and_scope() -> None:
    rl = rule("    rate_limit: {requests: 5}\n").rate_limit
    assert (rl.requests, rl.window, rl.scope) == (5, "minute", "tool_identity")


def test_rate_limit_window_scope_lowercased() -> None:
    rl = rule("    rate_limit: {requests: 5, window: HOUR, scope: Tool}\n").rate_limit
    assert (rl.window, rl.scope) == ("hour", "tool")


def test_negative_rate_limit_message() -> None:
    assert (
        rule_message("    rate_limit: {requests: -1}\n")
        == "rate_limit.requests must be >= 0 for r1"
    )


def test_rate_limit_bad_window_message() -> None:
    assert (
        rule_message("    rate_limit: {requests: 1, window: day}\n")
        == 'unsupported rate_limit.window "day" for r1'
    )


def test_rate_limit_bad_scope_message() -> None:
    assert (
        rule_message("    rate_limit: {requests: 1, scope: global}\n")
        == 'unsupported rate_limit.scope "global" for r1'
    )


def test_rate_limit_zero_requests_skips_validation() -> None:
    rl = rule("    rate_limit: {requests: 0, window: day}\n").rate_limit
    assert rl.requests == 0


def test_destructive_budget_negative_message() -> None:
    assert (
        rule_message("    destructive_budget: {requests: -2}\n")
        == "destructive_budget.requests must be >= 0 for r1"
    )


def test_destructive_budget_window_without_requests_message() -> None:
    assert (
        rule_message("    destructive_budget: {window: hour}\n")
        == "destructive_budget.requests must be >= 1 for r1"
    )


def test_destructive_budget_defaults() -> None:
    db = rule("    destructive_budget: {requests: 3}\n").destructive_budget
    assert (db.window, db.scope) == ("minute", "tool_identity")


def test_destructive_budget_bad_window_message() -> None:
    assert (
        rule_message("    destructive_budget: {requests: 1, window: week}\n")
        == 'unsupported destructive_budget.window "week" for r1'
    )


def test_destructive_budget_bad_scope_message() -> None:
    assert (
        rule_message("    destructive_budget: {requests: 1, scope: team}\n")
        == 'unsupported destructive_budget.scope "team" for r1'
    )


# ------------------------------------------------------------ §9 scripts ---


def test_negative_max_steps_message() -> None:
    assert message("scripts:\n  max_steps: -1\n") == "scripts.max_steps must be >= 0"


def test_negative_require_approval_above_message() -> None:
    assert (
        message("scripts:\n  require_approval_above: -1\n")
        == "scripts.require_approval_above must be >= 0"
    )


def test_scripts_values_kept() -> None:
    sc = load(
        "scripts:\n  max_steps: 3\n  require_approval_above: 2\n  block_mixed_risk: true\n"
    ).scripts
    assert (sc.max_steps, sc.require_approval_above, sc.block_mixed_risk) == (3, 2, True)


# ------------------------------------------------------------ §12 mcp_trust ---


def test_mcp_trust_unconfigured_stays_disabled() -> None:
    assert load("default_verdict: block\n").mcp_trust.enabled is False


def test_mcp_trust_configured_without_snapshot_message() -> None:
    assert (
        message("mcp_trust:\n  action: block\n")
        == "mcp_trust.snapshot is required when mcp_trust is configured"
    )


def test_mcp_trust_configured_forces_enabled_and_defaults() -> None:
    t = load("mcp_trust:\n  snapshot: ' snap.json '\n  publisher_allowlist: [Acme]\n").mcp_trust
    assert (t.enabled, t.snapshot, t.action, t.required_risk_classes, t.publisher_allowlist) == (
        True,
        "snap.json",
        "block",
        ("critical", "high"),
        ("acme",),
    )


def test_mcp_trust_bad_action_message() -> None:
    assert (
        message("mcp_trust:\n  snapshot: s\n  action: allow\n")
        == 'unsupported mcp_trust.action "allow"'
    )


@pytest.mark.parametrize("score", ["-0.1", "1.5"])
def test_mcp_trust_min_score_range_message(score: str) -> None:
    assert (
        message(f"mcp_trust:\n  snapshot: s\n  min_score: {score}\n")
        == "mcp_trust.min_score must be between 0 and 1"
    )


def test_mcp_trust_bad_max_age_message() -> None:
    assert message("mcp_trust:\n  snapshot: s\n  max_age: soon\n").startswith(
        "parse mcp_trust.max_age: "
    )


def test_mcp_trust_non_positive_max_age_message() -> None:
    assert message("mcp_trust:\n  snapshot: s\n  max_age: 0s\n") == "mcp_trust.max_age must be > 0"


@pytest.mark.parametrize(
    ("given", "canonical"), [("720h", "720h0m0s"), ("90m", "1h30m0s"), ("30m", "30m0s")]
)
def test_mcp_trust_max_age_rendered_in_go_form(given: str, canonical: str) -> None:
    assert load(f"mcp_trust:\n  snapshot: s\n  max_age: {given}\n").mcp_trust.max_age == canonical


# ------------------------------------------------------------ idempotence / locations ---


SAMPLE = """
default_action: Block
fail_closed: {enabled: true}
rules:
  - name: ' b '
    action: ALLOW
    priority: 3
    min_approvals: 2
    match: {tool_name: X.Y, endpoint_class: [FS.READ], max_delegation_depth: 0}
    endpoint: {path_denylist: [/a, /a]}
    dataflow: {destination_kinds: [HOST]}
    rate_limit: {requests: 1}
  - name: a
    effect: block
    reason_codes: [z, a]
mcp_trust: {snapshot: s, max_age: 90m}
"""


def test_normalization_is_idempotent() -> None:
    once = load(SAMPLE)
    assert normalize_policy(once) == once


def test_normalization_error_names_line_column_and_field() -> None:
    with pytest.raises(PolicyError) as info:
        load("rules:\n  - name: r1\n    effect: permit\n")
    loc = info.value.location
    assert loc is not None
    assert (loc.file, loc.line, loc.column, loc.field) == ("p.yaml", 3, 13, "rules[0].effect")
