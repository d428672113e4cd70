"""``policy_digest``: sha256 of the JCS form of the Go-shaped payload of policy.md §14."""

from __future__ import annotations

from typing import Any

from gait.canonical import digest
from gait.policy.model import FlowCondition, Limit, Match, Policy, Rule


def _flow_payload(conds: tuple[FlowCondition, ...]) -> list[dict[str, Any]]:
    out = []
    for c in conds:
        item: dict[str, Any] = {"MinCount": c.min_count}
        if c.tool_names:
            item["ToolNames"] = list(c.tool_names)
        if c.endpoint_classes:
            item["EndpointClasses"] = list(c.endpoint_classes)
        if c.sensitivity:
            item["Sensitivity"] = list(c.sensitivity)
        if c.same_target:
            item["SameTarget"] = True
        if c.within:
            item["Within"] = c.within
        out.append(item)
    return out


def _match_payload(m: Match) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ToolNames": list(m.tool_names),
        "RiskClasses": list(m.risk_classes),
        "TargetKinds": list(m.target_kinds),
        "TargetValues": list(m.target_values),
        "ProvenanceSources": list(m.provenance_sources),
        "Identities": list(m.identities),
        "WorkspacePrefixes": list(m.workspace_prefixes),
    }
    optional = (
        ("EndpointClasses", m.endpoint_classes),
        ("DiscoveryMethods", m.discovery_method),
        ("SkillPublishers", m.skill_publishers),
        ("SkillSources", m.skill_sources),
        ("DataClasses", m.data_classes),
        ("DestinationKinds", m.destination_kinds),
        ("DestinationValues", m.destination_values),
        ("DestinationOps", m.destination_operations),
        ("ContextToolNames", m.context_tool_names),
        ("ContextDataClasses", m.context_data_classes),
        ("ContextEndpointClasses", m.context_endpoint_classes),
        ("ContextAutonomyLevels", m.context_autonomy_levels),
        ("AllowedDelegatorIdentities", m.allowed_delegator_identities),
        ("AllowedDelegateIdentities", m.allowed_delegate_identities),
        ("DelegationScopes", m.delegation_scopes),
    )
    for key, values in optional:
        if values:
            out[key] = list(values)
    ann = m.tool_annotations
    if ann.is_set():
        hints = {
            "ReadOnlyHint": ann.readOnlyHint,
            "DestructiveHint": ann.destructiveHint,
            "IdempotentHint": ann.idempotentHint,
            "OpenWorldHint": ann.openWorldHint,
        }
        out["ToolAnnotations"] = {k: v for k, v in hints.items() if v is not None}
    if m.require_delegation:
        out["RequireDelegation"] = True
    if m.max_delegation_depth is not None:
        out["MaxDelegationDepth"] = m.max_delegation_depth
    # Flow predicates (gait's own): absent when unused, so other digests are unchanged.
    if m.after:
        out["After"] = _flow_payload(tuple(m.after))
    if m.not_after:
        out["NotAfter"] = _flow_payload(tuple(m.not_after))
    return out


def _limit(limit: Limit) -> dict[str, Any]:
    return {"Requests": limit.requests, "Window": limit.window, "Scope": limit.scope}


def _rule_payload(r: Rule) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Name": r.name,
        "Priority": r.priority,
        "Effect": r.effect,
        "Match": _match_payload(r.match),
        "ReasonCodes": list(r.reason_codes),
        "Violations": list(r.violations),
    }
    if r.min_approvals > 0:
        out["MinApprovals"] = r.min_approvals
    if r.require_distinct_approvers:
        out["RequireDistinctApprovers"] = True
    if r.require_context_evidence:
        out["RequireContextEvidence"] = True
    if r.required_context_evidence_mode:
        out["RequiredContextEvidenceMode"] = r.required_context_evidence_mode
    if r.max_context_age_seconds > 0:
        out["MaxContextAgeSeconds"] = r.max_context_age_seconds
    if r.require_broker_credential:
        out["RequireBrokerCredential"] = True
    if r.broker_reference:
        out["BrokerReference"] = r.broker_reference
    if r.broker_scopes:
        out["BrokerScopes"] = list(r.broker_scopes)
    if r.rate_limit.requests > 0:
        out["RateLimit"] = _limit(r.rate_limit)
    if r.destructive_budget.requests > 0:
        out["DestructiveBudget"] = _limit(r.destructive_budget)
    d = r.dataflow
    if d.enabled:
        flow: dict[str, Any] = {
            "Enabled": True,
            "TaintedSources": list(d.tainted_sources),
            "Action": d.action,
            "ReasonCode": d.reason_code,
            "Violation": d.violation,
        }
        if d.destination_kinds:
            flow["DestinationKinds"] = list(d.destination_kinds)
        if d.destination_values:
            flow["DestinationValues"] = list(d.destination_values)
        if d.destination_operations:
            flow["DestinationOperations"] = list(d.destination_operations)
        out["Dataflow"] = flow
    e = r.endpoint
    if e.enabled:
        out["Endpoint"] = {
            "Enabled": True,
            "PathAllowlist": list(e.path_allowlist),
            "PathDenylist": list(e.path_denylist),
            "DomainAllowlist": list(e.domain_allowlist),
            "DomainDenylist": list(e.domain_denylist),
            "EgressClasses": list(e.egress_classes),
            "Action": e.action,
            "DestructiveAction": e.destructive_action,
            "ReasonCode": e.reason_code,
            "Violation": e.violation,
        }
    return out


def digest_payload(policy: Policy) -> dict[str, Any]:
    """The payload hashed into ``policy_digest``; ``policy`` must be normalized."""
    out: dict[str, Any] = {
        "SchemaID": policy.schema_id,
        "SchemaVersion": policy.schema_version,
        "DefaultVerdict": policy.default_verdict,
        "FailClosed": {
            "Enabled": policy.fail_closed.enabled,
            "RiskClasses": list(policy.fail_closed.risk_classes),
            "RequiredFields": list(policy.fail_closed.required_fields),
        },
        "Rules": [_rule_payload(r) for r in policy.rules],
    }
    s = policy.scripts
    if s.max_steps or s.require_approval_above or s.block_mixed_risk:
        out["Scripts"] = {
            "MaxSteps": s.max_steps,
            "RequireApprovalAbove": s.require_approval_above,
            "BlockMixedRisk": s.block_mixed_risk,
        }
    t = policy.mcp_trust
    if t.enabled:
        out["MCPTrust"] = {
            "Enabled": True,
            "SnapshotPath": t.snapshot,
            "Action": t.action,
            "RequiredRiskClasses": list(t.required_risk_classes),
            "MinScore": t.min_score,
            "MaxAge": t.max_age,
            "PublisherAllowlist": list(t.publisher_allowlist),
            "RequireRegistry": t.require_registry,
        }
    return out


def policy_digest(policy: Policy) -> str:
    return digest(digest_payload(policy))
