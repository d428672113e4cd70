"""The compiled policy: an immutable decision table.

``PolicyIR`` is plain data (msgspec), so it can be cached on disk and printed by
``gait policy compile --emit ir``. Rows are in evaluation order (priority, then
name); each row lists only the predicates its rule actually constrains.
"""

from __future__ import annotations

import msgspec
from msgspec import UNSET, UnsetType

from gait.policy.model import Limit, Policy, Scripts

IR_SCHEMA = "gait.policy.ir"
IR_VERSION = "1"

# Predicate subjects. "any target" subjects hold when some target's field is in `values`.
TOOL_NAME = "tool_name"
RISK_CLASS = "context.risk_class"
IDENTITY = "context.identity"
WORKSPACE_PREFIX = "context.workspace_prefix"
TARGET_FIELDS = {
    "target.kind": "kind",
    "target.value": "value",
    "target.endpoint_class": "endpoint_class",
    "target.discovery_method": "discovery_method",
    "target.sensitivity": "sensitivity",
    "target.operation": "operation",
}
PROVENANCE_SOURCE = "arg_provenance.source"
SKILL_PUBLISHER = "skill_provenance.publisher"
SKILL_SOURCE = "skill_provenance.source"
WRKR_PREFIX = "auth_context."  # + wrkr key
TOOL_ANNOTATIONS = "target.annotations"
DELEGATION = "delegation"


# Table structs are frozen and hold only immutable values, so they can never be in a
# reference cycle: gc=False keeps them out of the cyclic collector's scans (a big
# table is otherwise tens of thousands of objects it walks again and again).
class Predicate(msgspec.Struct, frozen=True, kw_only=True, gc=False, omit_defaults=True):
    """One condition of a row: ``subject`` compared against ``values`` (any-of)."""

    subject: str
    values: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()
    hints: tuple[tuple[str, bool], ...] = ()  # (target field, required value)
    source: str = ""  # the match key this came from, for --explain


class DelegationPredicate(msgspec.Struct, frozen=True, kw_only=True, gc=False, omit_defaults=True):
    max_depth: int | None = None
    delegators: frozenset[str] = frozenset()
    delegates: frozenset[str] = frozenset()
    scopes: frozenset[str] = frozenset()


class EndpointIR(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    path_allowlist: tuple[str, ...]
    path_denylist: tuple[str, ...]
    domain_allowlist: tuple[str, ...]
    domain_denylist: tuple[str, ...]
    egress_classes: frozenset[str]
    action: str
    destructive_action: str
    reason_code: str
    violation: str


class DataflowIR(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    tainted_sources: frozenset[str]
    destination_kinds: frozenset[str]
    destination_values: frozenset[str]
    destination_operations: frozenset[str]
    action: str
    reason_code: str
    violation: str


class ContextIR(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    mode_required: bool
    max_age_seconds: int


class FlowPredicateIR(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One flow predicate: which earlier calls of the session count (docs/flow-rules.md)."""

    tool_names: frozenset[str]
    endpoint_classes: frozenset[str]
    sensitivity: frozenset[str]
    same_target: bool
    within_ns: int  # 0 = the whole session journal
    min_count: int


class FlowIR(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A row's flow conditions: every ``after`` must hold and no ``not_after``."""

    after: tuple[FlowPredicateIR, ...]
    not_after: tuple[FlowPredicateIR, ...]


class Row(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    index: int
    name: str
    priority: int
    effect: str
    reasons: tuple[str, ...]  # rule reason_codes, or ("matched_rule_<name>",)
    violations: tuple[str, ...]
    predicates: tuple[Predicate, ...]
    delegation: DelegationPredicate | None = None
    dataflow: DataflowIR | None = None
    endpoint: EndpointIR | None = None
    context: ContextIR | None = None
    min_approvals: int = 0
    require_distinct_approvers: bool = False
    require_broker_credential: bool = False
    broker_reference: str = ""
    broker_scopes: tuple[str, ...] = ()
    require_delegation: bool = False
    delegation_scopes: tuple[str, ...] = ()
    rate_limit: Limit | None = None
    destructive_budget: Limit | None = None
    flow: FlowIR | UnsetType = UNSET  # not encoded when the rule has no flow predicates


class FailClosedIR(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    enabled: bool
    risk_classes: frozenset[str]
    required_fields: tuple[str, ...]


class PolicyIR(msgspec.Struct, frozen=True, kw_only=True):
    schema_id: str
    schema_version: str
    source_digest: str
    policy_digest: str
    default_verdict: str
    fail_closed: FailClosedIR
    scripts: Scripts
    rows: tuple[Row, ...]
    tool_index: tuple[tuple[str, tuple[int, ...]], ...]  # tool name -> rows naming it
    any_tool_rows: tuple[int, ...]  # rows without a tool_name predicate
    policy: Policy  # the normalized policy the table was built from
    ir_schema: str = IR_SCHEMA
    ir_version: str = IR_VERSION
    # rows with flow predicates: the gate reads the session journal only when there are some
    flow_rows: tuple[int, ...] | UnsetType = UNSET
