"""Dataflow / prompt-injection constraints (policy.md §7)."""

from __future__ import annotations

import pytest

EXTERNAL = [{"arg_path": "$.body", "source": "external"}]
USER = [{"arg_path": "$.body", "source": "user"}]
URL = [{"kind": "url", "value": "https://out.test/u", "operation": "post"}]


def df_policy(dataflow: str, effect: str = "allow") -> str:
    return f"rules:\n  - name: r\n    effect: {effect}\n    reason_codes: [rule_hit]\n    dataflow: {dataflow}\n"


def test_tainted_egress_triggers_default_action_and_codes(decide) -> None:
    d = decide(df_policy("{enabled: true}"), targets=URL, arg_provenance=EXTERNAL)
    assert (d.verdict, d.reason_codes, d.violations, d.dataflow_triggered) == (
        "require_approval",
        ("dataflow_tainted_destination", "rule_hit"),
        ("tainted_dataflow",),
        True,
    )


def test_dataflow_action_replaces_a_block_effect(decide) -> None:
    d = decide(df_policy("{enabled: true}", effect="block"), targets=URL, arg_provenance=EXTERNAL)
    assert d.verdict == "require_approval"


def test_dataflow_block_action(decide) -> None:
    d = decide(df_policy("{enabled: true, action: block}"), targets=URL, arg_provenance=EXTERNAL)
    assert d.verdict == "block"


def test_untainted_source_does_not_trigger(decide) -> None:
    d = decide(df_policy("{enabled: true}"), targets=URL, arg_provenance=USER)
    assert (d.verdict, d.dataflow_triggered) == ("allow", False)


def test_tool_output_is_tainted_by_default(decide) -> None:
    prov = [{"arg_path": "$.body", "source": "tool_output"}]
    assert (
        decide(df_policy("{enabled: true}"), targets=URL, arg_provenance=prov).verdict
        == "require_approval"
    )


def test_custom_tainted_sources(decide) -> None:
    policy = df_policy("{tainted_sources: [user]}")
    assert decide(policy, targets=URL, arg_provenance=USER).verdict == "require_approval"
    assert decide(policy, targets=URL, arg_provenance=EXTERNAL).verdict == "allow"


def test_no_targets_does_not_trigger(decide) -> None:
    assert (
        decide(df_policy("{enabled: true}"), targets=[], arg_provenance=EXTERNAL).verdict == "allow"
    )


@pytest.mark.parametrize("kind", ["host", "url", "bucket", "queue", "topic"])
def test_default_destinations_are_egress_kinds(decide, kind: str) -> None:
    targets = [{"kind": kind, "value": "x.test"}]
    assert decide(
        df_policy("{enabled: true}"), targets=targets, arg_provenance=EXTERNAL
    ).verdict == ("require_approval")


@pytest.mark.parametrize("kind", ["path", "repo", "table", "other"])
def test_non_egress_kinds_do_not_trigger_by_default(decide, kind: str) -> None:
    targets = [{"kind": kind, "value": "x"}]
    assert (
        decide(df_policy("{enabled: true}"), targets=targets, arg_provenance=EXTERNAL).verdict
        == "allow"
    )


def test_destination_lists_must_hold_for_a_single_target(decide) -> None:
    policy = df_policy("{destination_kinds: [path], destination_operations: [write]}")
    split = [
        {"kind": "path", "value": "/a", "operation": "read"},
        {"kind": "url", "value": "https://x.test", "operation": "write"},
    ]
    assert decide(policy, targets=split, arg_provenance=EXTERNAL).verdict == "allow"
    single = [{"kind": "path", "value": "/a", "operation": "write"}]
    assert decide(policy, targets=single, arg_provenance=EXTERNAL).verdict == "require_approval"


def test_destination_values_are_case_sensitive(decide) -> None:
    policy = df_policy("{destination_values: [/Out]}")
    targets = [{"kind": "path", "value": "/out", "operation": "write"}]
    assert decide(policy, targets=targets, arg_provenance=EXTERNAL).verdict == "allow"
    targets = [{"kind": "path", "value": "/Out", "operation": "write"}]
    assert decide(policy, targets=targets, arg_provenance=EXTERNAL).verdict == "require_approval"


def test_custom_reason_and_violation(decide) -> None:
    d = decide(
        df_policy("{enabled: true, reason_code: taint, violation: taint_v}"),
        targets=URL,
        arg_provenance=EXTERNAL,
    )
    assert (d.reason_codes, d.violations) == (("rule_hit", "taint"), ("taint_v",))


def test_dataflow_then_endpoint_merges_most_restrictive(decide) -> None:
    policy = (
        "rules:\n  - name: r\n    effect: allow\n    dataflow: {enabled: true}\n"
        "    endpoint: {domain_denylist: [out.test]}\n"
    )
    d = decide(policy, targets=URL, arg_provenance=EXTERNAL)
    assert d.verdict == "block"
    assert {"dataflow_tainted_destination", "endpoint_domain_denied"} <= set(d.reason_codes)
