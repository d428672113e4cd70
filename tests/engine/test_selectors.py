"""Advanced match selectors (policy.md §4, §4.1): delegation, annotations, skills, wrkr context."""

from __future__ import annotations

import pytest


def sel(match: str) -> str:
    return f"default_verdict: block\nrules:\n  - name: r\n    effect: allow\n    match: {match}\n"


def link(delegator: str, delegate: str, scope: str = "") -> dict:
    return {"delegator_identity": delegator, "delegate_identity": delegate, "scope_class": scope}


DELEGATION = {
    "requester_identity": "agent",
    "scope_class": "Write",
    "chain": [link("boss", "lead", "read"), link("lead", "agent", "deploy")],
}


# ------------------------------------------------------------ delegation ---


def test_require_delegation_needs_a_delegation(decide) -> None:
    assert decide(sel("{require_delegation: true}")).verdict == "block"
    assert (
        decide(
            sel("{require_delegation: true}"), delegation={"requester_identity": "agent"}
        ).verdict
        == "allow"
    )


def test_any_delegation_selector_needs_a_delegation(decide) -> None:
    assert decide(sel("{delegation_scopes: [write]}")).verdict == "block"


@pytest.mark.parametrize(
    ("depth", "verdict"), [(2, "allow"), (5, "allow"), (1, "block"), (0, "block")]
)
def test_max_delegation_depth(decide, depth: int, verdict: str) -> None:
    assert (
        decide(sel(f"{{max_delegation_depth: {depth}}}"), delegation=DELEGATION).verdict == verdict
    )


def test_max_delegation_depth_zero_accepts_empty_chain(decide) -> None:
    d = decide(sel("{max_delegation_depth: 0}"), delegation={"requester_identity": "agent"})
    assert d.verdict == "allow"


@pytest.mark.parametrize(
    ("who", "verdict"), [("boss", "allow"), ("lead", "allow"), ("agent", "block")]
)
def test_allowed_delegator_identities(decide, who: str, verdict: str) -> None:
    assert (
        decide(sel(f"{{allowed_delegator_identities: [{who}]}}"), delegation=DELEGATION).verdict
        == verdict
    )


@pytest.mark.parametrize(
    ("who", "verdict"), [("agent", "allow"), ("lead", "allow"), ("boss", "block")]
)
def test_allowed_delegate_identities(decide, who: str, verdict: str) -> None:
    assert (
        decide(sel(f"{{allowed_delegate_identities: [{who}]}}"), delegation=DELEGATION).verdict
        == verdict
    )


@pytest.mark.parametrize(
    ("scope", "verdict"),
    [("write", "allow"), ("READ", "allow"), ("deploy", "allow"), ("admin", "block")],
)
def test_delegation_scopes(decide, scope: str, verdict: str) -> None:
    assert (
        decide(sel(f"{{delegation_scopes: [{scope}]}}"), delegation=DELEGATION).verdict == verdict
    )


def test_delegator_identities_are_case_sensitive(decide) -> None:
    assert (
        decide(sel("{allowed_delegator_identities: [Boss]}"), delegation=DELEGATION).verdict
        == "block"
    )


def test_require_delegation_flag_reported_only_for_the_flag(decide) -> None:
    d = decide(sel("{delegation_scopes: [write]}"), delegation=DELEGATION)
    assert (d.verdict, d.require_delegation) == ("allow", False)


# ------------------------------------------------------------ tool annotations ---


def test_tool_annotation_hint_must_be_on_some_target(decide) -> None:
    policy = sel("{tool_annotations: {destructiveHint: true}}")
    hinted = [
        {"kind": "path", "value": "/a", "operation": "read"},
        {"kind": "path", "value": "/b", "destructive_hint": True},
    ]
    assert decide(policy).verdict == "block"
    assert decide(policy, targets=hinted).verdict != "block"


def test_tool_annotation_false_hint_matches_unset_target_hint(decide) -> None:
    assert decide(sel("{tool_annotations: {readOnlyHint: false}}")).verdict == "allow"


def test_tool_annotations_all_set_hints_must_hold(decide) -> None:
    policy = sel("{tool_annotations: {readOnlyHint: true, openWorldHint: true}}")
    one = [{"kind": "url", "value": "https://x.test", "read_only_hint": True}]
    both = [
        {"kind": "url", "value": "https://x.test", "read_only_hint": True, "open_world_hint": True}
    ]
    assert decide(policy, targets=one).verdict == "block"
    assert decide(policy, targets=both).verdict == "allow"


def test_tool_annotations_fail_without_targets(decide) -> None:
    assert decide(sel("{tool_annotations: {readOnlyHint: false}}"), targets=[]).verdict == "block"


# ------------------------------------------------------------ wrkr context ---


@pytest.mark.parametrize(
    ("key", "selector"),
    [
        ("wrkr.tool_name", "context_tool_names"),
        ("wrkr.data_class", "context_data_classes"),
        ("wrkr.endpoint_class", "context_endpoint_classes"),
        ("wrkr.autonomy_level", "context_autonomy_levels"),
    ],
)
def test_wrkr_selectors_read_auth_context(decide, key: str, selector: str) -> None:
    policy = sel(f"{{{selector}: [Wanted]}}")
    assert decide(policy, context={"auth_context": {key: " WANTED "}}).verdict == "allow"
    assert decide(policy, context={"auth_context": {key: "other"}}).verdict == "block"


def test_wrkr_selector_missing_key_never_matches(decide) -> None:
    assert decide(sel("{context_tool_names: [x]}")).verdict == "block"


def test_wrkr_selector_non_string_never_matches(decide) -> None:
    assert (
        decide(
            sel("{context_tool_names: ['1']}"), context={"auth_context": {"wrkr.tool_name": 1}}
        ).verdict
        == "block"
    )


# ------------------------------------------------------------ skills ---

SKILL = {"skill_name": "s", "source": "Registry", "publisher": "AcmeCorp"}


def test_skill_publisher_compared_lowercased(decide) -> None:
    assert decide(sel("{skill_publishers: [ACMECORP]}"), skill_provenance=SKILL).verdict == "allow"


def test_skill_source_selector(decide) -> None:
    assert decide(sel("{skill_sources: [registry]}"), skill_provenance=SKILL).verdict == "allow"
    assert decide(sel("{skill_sources: [git]}"), skill_provenance=SKILL).verdict == "block"


def test_skill_selectors_need_skill_provenance(decide) -> None:
    assert decide(sel("{skill_publishers: [acmecorp]}")).verdict == "block"


# ------------------------------------------------------------ target selectors ---


def test_data_classes_match_target_sensitivity(decide) -> None:
    targets = [{"kind": "path", "value": "/a", "operation": "read", "sensitivity": "PII"}]
    assert decide(sel("{data_classes: [pii]}"), targets=targets).verdict == "allow"
    assert decide(sel("{data_classes: [pii]}")).verdict == "block"


def test_destination_selectors_match_targets(decide) -> None:
    assert (
        decide(
            sel(
                "{destination_kinds: [path], destination_values: [/repo/a.txt], destination_operations: [read]}"
            )
        ).verdict
        == "allow"
    )
    assert decide(sel("{destination_operations: [write]}")).verdict == "block"


def test_endpoint_class_selector_uses_inferred_class(decide) -> None:
    assert decide(sel("{endpoint_classes: [fs.read]}")).verdict == "allow"
    assert decide(sel("{endpoint_classes: [fs.write]}")).verdict == "block"


def test_discovery_method_defaults_to_unknown(decide) -> None:
    assert decide(sel("{discovery_method: [unknown]}")).verdict == "allow"


def test_discovery_method_spelling_normalized(decide) -> None:
    targets = [{"kind": "url", "value": "https://x.test", "discovery_method": "Dynamic-MCP"}]
    assert decide(sel("{discovery_method: [dynamic_mcp]}"), targets=targets).verdict == "allow"


def test_provenance_sources_any_entry(decide) -> None:
    prov = [{"arg_path": "$.a", "source": "user"}, {"arg_path": "$.b", "source": "External"}]
    assert decide(sel("{provenance_sources: [external]}"), arg_provenance=prov).verdict == "allow"
    assert decide(sel("{provenance_sources: [external]}")).verdict == "block"


def test_risk_classes_selector(decide) -> None:
    assert decide(sel("{risk_classes: [LOW]}")).verdict == "allow"
    assert decide(sel("{risk_classes: [high]}")).verdict == "block"


def test_target_values_are_case_sensitive(decide) -> None:
    assert decide(sel("{target_values: [/REPO/a.txt]}")).verdict == "block"
