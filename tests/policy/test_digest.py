"""``policy_digest`` (policy.md §14): spec vectors, payload shape and invariances."""

from __future__ import annotations

from pathlib import Path

import pytest

from gait.canonical import canonical_bytes
from gait.policy import compile_policy, load_policy_file, load_policy_source
from gait.policy.digest import digest_payload, policy_digest

REPO = Path(__file__).resolve().parents[2]
RUNNING = REPO / "tests" / "engine" / "data" / "running_example"
EVERY_KEY = Path(__file__).parent / "data" / "every_key.yaml"

VECTOR_PAYLOAD = (
    b'{"DefaultVerdict":"require_approval","FailClosed":{"Enabled":false,"RequiredFields":[],'
    b'"RiskClasses":[]},"Rules":[],"SchemaID":"gait.gate.policy","SchemaVersion":"1.0.0"}'
)
VECTOR_DIGEST = "07a528a879e4f0e0cd5a0e2ca801924746b47dac624862207ef21d4ec266f8f9"
CANDIDATE_DIGEST = "0fab29967ba110e13ffe615190d7a15ad80deb278a76c91c591990dd77bae96f"
BASELINE_DIGEST = "2753de3311806ddce3d3947d04df18628c87d2466d42fa1a7ffd7080cd3712c5"


def digest_of(text: str) -> str:
    return policy_digest(load_policy_source(text.encode("utf-8"), "p.yaml", "yaml"))


def payload_of(text: str) -> dict:
    return digest_payload(load_policy_source(text.encode("utf-8"), "p.yaml", "yaml"))


def test_spec_vector_payload_is_byte_exact() -> None:
    assert canonical_bytes(payload_of("default_verdict: require_approval\n")) == VECTOR_PAYLOAD


def test_spec_vector_digest() -> None:
    assert digest_of("default_verdict: require_approval\n") == VECTOR_DIGEST


def test_empty_policy_has_the_vector_digest() -> None:
    assert digest_of("") == VECTOR_DIGEST


def test_running_example_candidate_digest() -> None:
    assert policy_digest(load_policy_file(RUNNING / "policy.yaml")) == CANDIDATE_DIGEST


def test_running_example_baseline_digest() -> None:
    assert policy_digest(load_policy_file(RUNNING / "baseline.yaml")) == BASELINE_DIGEST


def test_compiled_policy_carries_the_same_digest() -> None:
    data = (RUNNING / "policy.yaml").read_bytes()
    assert compile_policy(data, use_cache=False).policy_digest == CANDIDATE_DIGEST


# ------------------------------------------------------------ invariance ---

BASE = """
default_verdict: block
rules:
  - name: read
    priority: 20
    effect: allow
    match:
      tool_names: [fs.read]
      target_kinds: [path, url]
  - name: deny
    priority: 10
    effect: block
    match:
      provenance_sources: [external]
    reason_codes: [a, b]
"""


def test_key_order_does_not_change_digest() -> None:
    reordered = """
rules:
  - match:
      target_kinds: [path, url]
      tool_names: [fs.read]
    effect: allow
    priority: 20
    name: read
  - reason_codes: [a, b]
    effect: block
    match:
      provenance_sources: [external]
    name: deny
    priority: 10
default_verdict: block
"""
    assert digest_of(reordered) == digest_of(BASE)


def test_rule_order_does_not_change_digest() -> None:
    swapped = """
default_verdict: block
rules:
  - name: deny
    priority: 10
    effect: block
    match:
      provenance_sources: [external]
    reason_codes: [a, b]
  - name: read
    priority: 20
    effect: allow
    match:
      tool_names: [fs.read]
      target_kinds: [path, url]
"""
    assert digest_of(swapped) == digest_of(BASE)


def test_list_order_duplicates_and_case_do_not_change_digest() -> None:
    messy = BASE.replace("[path, url]", "[URL, path, Path, url]").replace(
        "reason_codes: [a, b]", "reason_codes: [b, a, ' a ', '']"
    )
    assert digest_of(messy) == digest_of(BASE)


def test_tool_name_alias_spelling_does_not_change_digest() -> None:
    alias = BASE.replace("tool_names: [fs.read]", "tool_name: FS.Read")
    assert digest_of(alias) == digest_of(BASE)


def test_endpoint_class_alias_does_not_change_digest() -> None:
    one = "rules:\n  - {name: r, effect: block, match: {endpoint_class: [fs.delete]}}\n"
    two = "rules:\n  - {name: r, effect: block, match: {endpoint_classes: [FS.Delete]}}\n"
    assert digest_of(one) == digest_of(two)


def test_default_action_alias_does_not_change_digest() -> None:
    assert digest_of(BASE.replace("default_verdict", "default_action")) == digest_of(BASE)


def test_rule_action_alias_does_not_change_digest() -> None:
    alias = BASE.replace("effect: allow", "action: allow")
    assert digest_of(alias) == digest_of(BASE)


def test_effect_case_does_not_change_digest() -> None:
    assert digest_of(BASE.replace("effect: allow", "effect: ' ALLOW'")) == digest_of(BASE)


def test_case_sensitive_list_case_changes_digest() -> None:
    one = "rules:\n  - {name: r, effect: block, match: {identities: [bob]}}\n"
    two = "rules:\n  - {name: r, effect: block, match: {identities: [Bob]}}\n"
    assert digest_of(one) != digest_of(two)


def test_priority_changes_digest() -> None:
    assert digest_of(BASE.replace("priority: 20", "priority: 21")) != digest_of(BASE)


def test_explicit_defaults_do_not_change_digest() -> None:
    explicit = """
schema_id: gait.gate.policy
schema_version: 1.0.0
default_verdict: require_approval
fail_closed: {enabled: false, risk_classes: [], required_fields: []}
scripts: {max_steps: 0, require_approval_above: 0, block_mixed_risk: false}
rules: []
"""
    assert digest_of(explicit) == VECTOR_DIGEST


# ------------------------------------------------------------ payload shape ---


def test_minimal_rule_payload_has_only_always_present_keys() -> None:
    payload = payload_of("rules:\n  - {name: r, effect: allow}\n")
    assert payload["Rules"] == [
        {
            "Name": "r",
            "Priority": 0,
            "Effect": "allow",
            "Match": {
                "ToolNames": [],
                "RiskClasses": [],
                "TargetKinds": [],
                "TargetValues": [],
                "ProvenanceSources": [],
                "Identities": [],
                "WorkspacePrefixes": [],
            },
            "ReasonCodes": [],
            "Violations": [],
        }
    ]


def test_max_delegation_depth_zero_is_in_payload() -> None:
    payload = payload_of("rules:\n  - {name: r, effect: allow, match: {max_delegation_depth: 0}}\n")
    assert payload["Rules"][0]["Match"]["MaxDelegationDepth"] == 0


def test_tool_annotations_payload_has_only_set_hints() -> None:
    payload = payload_of(
        "rules:\n  - {name: r, effect: allow, match: {tool_annotations: {openWorldHint: false}}}\n"
    )
    assert payload["Rules"][0]["Match"]["ToolAnnotations"] == {"OpenWorldHint": False}


def test_scripts_absent_when_all_zero_and_present_otherwise() -> None:
    assert "Scripts" not in payload_of("scripts: {max_steps: 0}\n")
    assert payload_of("scripts: {block_mixed_risk: true}\n")["Scripts"] == {
        "MaxSteps": 0,
        "RequireApprovalAbove": 0,
        "BlockMixedRisk": True,
    }


def test_fail_closed_payload_has_defaulted_risk_classes() -> None:
    assert payload_of("fail_closed: {enabled: true}\n")["FailClosed"] == {
        "Enabled": True,
        "RiskClasses": ["critical", "high"],
        "RequiredFields": [],
    }


def test_every_key_policy_payload_shape() -> None:
    payload = digest_payload(load_policy_file(EVERY_KEY))
    assert set(payload) == {
        "SchemaID",
        "SchemaVersion",
        "DefaultVerdict",
        "FailClosed",
        "Rules",
        "Scripts",
        "MCPTrust",
    }
    assert payload["MCPTrust"] == {
        "Enabled": True,
        "SnapshotPath": "trust/snapshot.json",
        "Action": "require_approval",
        "RequiredRiskClasses": ["high"],
        "MinScore": 0.75,
        "MaxAge": "1h30m0s",
        "PublisherAllowlist": ["acme", "example"],
        "RequireRegistry": True,
    }
    first = payload["Rules"][0]
    assert set(first) == {
        "Name",
        "Priority",
        "Effect",
        "Match",
        "ReasonCodes",
        "Violations",
        "MinApprovals",
        "RequireDistinctApprovers",
        "RequireContextEvidence",
        "RequiredContextEvidenceMode",
        "MaxContextAgeSeconds",
        "RequireBrokerCredential",
        "BrokerReference",
        "BrokerScopes",
        "RateLimit",
        "DestructiveBudget",
        "Dataflow",
        "Endpoint",
    }
    assert set(first["Match"]) == {
        "ToolNames",
        "RiskClasses",
        "TargetKinds",
        "TargetValues",
        "ProvenanceSources",
        "Identities",
        "WorkspacePrefixes",
        "EndpointClasses",
        "DiscoveryMethods",
        "ToolAnnotations",
        "SkillPublishers",
        "SkillSources",
        "DataClasses",
        "DestinationKinds",
        "DestinationValues",
        "DestinationOps",
        "ContextToolNames",
        "ContextDataClasses",
        "ContextEndpointClasses",
        "ContextAutonomyLevels",
        "RequireDelegation",
        "AllowedDelegatorIdentities",
        "AllowedDelegateIdentities",
        "DelegationScopes",
        "MaxDelegationDepth",
    }
    assert first["RateLimit"] == {"Requests": 10, "Window": "hour", "Scope": "identity"}
    assert first["Dataflow"] == {
        "Enabled": True,
        "TaintedSources": ["external"],
        "Action": "block",
        "ReasonCode": "tainted_upload",
        "Violation": "tainted_upload_violation",
        "DestinationKinds": ["url"],
        "DestinationValues": ["https://Upload.example.com"],
        "DestinationOperations": ["post"],
    }


def test_endpoint_payload_always_has_destructive_action() -> None:
    payload = payload_of("rules:\n  - {name: r, effect: allow, endpoint: {path_denylist: [/x]}}\n")
    assert payload["Rules"][0]["Endpoint"] == {
        "Enabled": True,
        "PathAllowlist": [],
        "PathDenylist": ["/x"],
        "DomainAllowlist": [],
        "DomainDenylist": [],
        "EgressClasses": [],
        "Action": "block",
        "DestructiveAction": "",
        "ReasonCode": "endpoint_constraint_violation",
        "Violation": "endpoint_constraint_violation",
    }


@pytest.mark.parametrize("alias_key", ["default_action", "action", "tool_name", "endpoint_class"])
def test_alias_keys_never_appear_in_payload(alias_key: str) -> None:
    text = (
        "default_action: block\nrules:\n  - name: r\n    action: allow\n"
        "    match: {tool_name: X, endpoint_class: [fs.read]}\n"
    )
    assert alias_key not in canonical_bytes(payload_of(text)).decode()


def test_digest_is_lowercase_hex() -> None:
    value = digest_of(BASE)
    assert len(value) == 64 and value == value.lower() and int(value, 16) >= 0
