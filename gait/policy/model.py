"""The policy format as strict msgspec structures (spec/policy.md §2–§12).

The same structures hold a policy as written (after strict decoding) and the
normalized policy: normalization returns a new, fully defaulted instance. Every
key of the format is here, core and advanced alike, so nothing is dropped.
"""

# No "from __future__ import annotations": msgspec reads these annotations on
# first use, and evaluating them from strings cost about 3 ms per process.

import msgspec
from msgspec import UNSET, UnsetType

_OPTS = {"kw_only": True, "frozen": True, "forbid_unknown_fields": True}

Strs = tuple[str, ...]


class ToolAnnotations(msgspec.Struct, **_OPTS):
    readOnlyHint: bool | None = None
    destructiveHint: bool | None = None
    idempotentHint: bool | None = None
    openWorldHint: bool | None = None

    def is_set(self) -> bool:
        # Plain boolean chain: called twice per rule on compile, no generator.
        return not (
            self.readOnlyHint is None
            and self.destructiveHint is None
            and self.idempotentHint is None
            and self.openWorldHint is None
        )


class FlowCondition(msgspec.Struct, **_OPTS):
    """One flow predicate (``match.after`` / ``match.not_after``): earlier calls of the session.

    An earlier call counts when it was allowed, falls in the window, names one of
    ``tool_names`` (any tool when empty) and has one target meeting every target
    condition. See docs/flow-rules.md.
    """

    tool_names: Strs = ()
    endpoint_classes: Strs = ()
    sensitivity: Strs = ()
    same_target: bool = False
    within: str = ""
    min_count: int = 1


class Match(msgspec.Struct, **_OPTS):
    tool_name: str = ""
    tool_names: Strs = ()
    risk_classes: Strs = ()
    target_kinds: Strs = ()
    target_values: Strs = ()
    endpoint_class: Strs = ()
    endpoint_classes: Strs = ()
    discovery_method: Strs = ()
    tool_annotations: ToolAnnotations = msgspec.field(default_factory=ToolAnnotations)
    skill_publishers: Strs = ()
    skill_sources: Strs = ()
    data_classes: Strs = ()
    destination_kinds: Strs = ()
    destination_values: Strs = ()
    destination_operations: Strs = ()
    provenance_sources: Strs = ()
    identities: Strs = ()
    workspace_prefixes: Strs = ()
    context_tool_names: Strs = ()
    context_data_classes: Strs = ()
    context_endpoint_classes: Strs = ()
    context_autonomy_levels: Strs = ()
    require_delegation: bool = False
    allowed_delegator_identities: Strs = ()
    allowed_delegate_identities: Strs = ()
    delegation_scopes: Strs = ()
    max_delegation_depth: int | None = None
    # UNSET (not written at all) when empty, so policies without flow rules keep their
    # exact IR encoding; read them as ``m.after or ()``.
    after: tuple[FlowCondition, ...] | UnsetType = UNSET
    not_after: tuple[FlowCondition, ...] | UnsetType = UNSET


class Endpoint(msgspec.Struct, **_OPTS):
    enabled: bool = False
    path_allowlist: Strs = ()
    path_denylist: Strs = ()
    domain_allowlist: Strs = ()
    domain_denylist: Strs = ()
    egress_classes: Strs = ()
    action: str = ""
    destructive_action: str = ""
    reason_code: str = ""
    violation: str = ""


class Limit(msgspec.Struct, **_OPTS):
    requests: int = 0
    window: str = ""
    scope: str = ""


class Dataflow(msgspec.Struct, **_OPTS):
    enabled: bool = False
    tainted_sources: Strs = ()
    destination_kinds: Strs = ()
    destination_values: Strs = ()
    destination_operations: Strs = ()
    action: str = ""
    reason_code: str = ""
    violation: str = ""


class Rule(msgspec.Struct, **_OPTS):
    name: str = ""
    priority: int = 0
    effect: str = ""
    action: str = ""
    match: Match = msgspec.field(default_factory=Match)
    endpoint: Endpoint = msgspec.field(default_factory=Endpoint)
    reason_codes: Strs = ()
    violations: Strs = ()
    min_approvals: int = 0
    require_distinct_approvers: bool = False
    require_context_evidence: bool = False
    required_context_evidence_mode: str = ""
    max_context_age_seconds: int = 0
    require_broker_credential: bool = False
    broker_reference: str = ""
    broker_scopes: Strs = ()
    rate_limit: Limit = msgspec.field(default_factory=Limit)
    destructive_budget: Limit = msgspec.field(default_factory=Limit)
    dataflow: Dataflow = msgspec.field(default_factory=Dataflow)


class FailClosed(msgspec.Struct, **_OPTS):
    enabled: bool = False
    risk_classes: Strs = ()
    required_fields: Strs = ()


class Scripts(msgspec.Struct, **_OPTS):
    max_steps: int = 0
    require_approval_above: int = 0
    block_mixed_risk: bool = False


class McpTrust(msgspec.Struct, **_OPTS):
    enabled: bool = False
    snapshot: str = ""
    action: str = ""
    required_risk_classes: Strs = ()
    min_score: float = 0.0
    max_age: str = ""
    publisher_allowlist: Strs = ()
    require_registry: bool = False


class Policy(msgspec.Struct, **_OPTS):
    schema_id: str = ""
    schema_version: str = ""
    default_verdict: str = ""
    default_action: str = ""
    scripts: Scripts = msgspec.field(default_factory=Scripts)
    fail_closed: FailClosed = msgspec.field(default_factory=FailClosed)
    mcp_trust: McpTrust = msgspec.field(default_factory=McpTrust)
    rules: tuple[Rule, ...] = ()


# Field order of `policy fmt` output (policy.md §15) is the declaration order above.
