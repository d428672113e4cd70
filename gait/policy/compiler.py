"""Policy compiler: source (YAML or DSL) → normalized policy → canonical DSL → Lark → decision table.

YAML is an authoring format. It is normalized, rendered to canonical DSL text
and parsed back through the grammar, so every policy, whatever its surface,
reaches the table through the one language; the two normalized forms are
checked to agree.

Nothing is cached on disk: a compiled table read back from a user-writable
folder could change a verdict while the policy file, its digest and the signed
trace stay the same (issue 11 A1). Compiling is fast enough not to need it.
"""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING, Any

import msgspec

from gait.canonical import sha256_hex
from gait.errors import InternalFailure, PolicyError
from gait.policy.ir import (
    DELEGATION,
    IDENTITY,
    PROVENANCE_SOURCE,
    RISK_CLASS,
    SKILL_PUBLISHER,
    SKILL_SOURCE,
    TOOL_ANNOTATIONS,
    TOOL_NAME,
    WORKSPACE_PREFIX,
    WRKR_PREFIX,
    ContextIR,
    DataflowIR,
    DelegationPredicate,
    EndpointIR,
    FailClosedIR,
    FlowIR,
    FlowPredicateIR,
    PolicyIR,
    Predicate,
    Row,
)
from gait.policy.model import FlowCondition, Policy, Rule

if TYPE_CHECKING:
    from pathlib import Path  # annotations only: one-shot commands do not load pathlib

# The YAML reader, DSL parser and normalizer are imported inside the functions
# that need them: a DSL-only or YAML-only process loads one reader.

DSL_SUFFIXES = (".gaitpol",)

_HINT_FIELDS = (
    ("readOnlyHint", "read_only_hint"),
    ("destructiveHint", "destructive_hint"),
    ("idempotentHint", "idempotent_hint"),
    ("openWorldHint", "open_world_hint"),
)


class CompiledPolicy:
    """A compiled policy: the immutable table plus runtime matchers built on first use."""

    __slots__ = ("_runtime", "ir")

    def __init__(self, ir: PolicyIR) -> None:
        self.ir = ir
        self._runtime: Any = None

    @property
    def policy_digest(self) -> str:
        return self.ir.policy_digest

    @property
    def policy(self) -> Policy:
        return self.ir.policy

    @property
    def rows(self) -> tuple[Row, ...]:
        return self.ir.rows

    def __repr__(self) -> str:
        return f"CompiledPolicy(digest={self.ir.policy_digest[:12]}, rows={len(self.ir.rows)})"


def source_kind(path: str | Path) -> str:
    return "dsl" if str(path).lower().endswith(DSL_SUFFIXES) else "yaml"


def load_policy_source(data: bytes, path_name: str, kind: str) -> Policy:
    """Decode and normalize a policy source (no table); raises PolicyError with a location."""
    from gait.policy.normalize import normalize_policy
    from gait.policy.source import decode_policy, decode_text, load_yaml, locate

    text = decode_text(data, path_name)
    if kind == "dsl":
        from gait.policy.dsl import parse_dsl_policy

        # the grammar types every value: the parser's transformer builds the model
        decoded, positions = parse_dsl_policy(text, path_name)
    else:
        raw, positions, texts = load_yaml(text, path_name)
        decoded = decode_policy(raw, positions, texts, path_name, kind)
    return normalize_policy(decoded, lambda p: locate(path_name, positions, p))


def load_policy_file(path: str | Path) -> Policy:
    from gait.policy.source import read_policy_bytes

    return load_policy_source(read_policy_bytes(path), str(path), source_kind(path))


def compile_policy(
    source: bytes | str,
    *,
    path: str = "<policy>",
    kind: str | None = None,
    use_cache: bool = True,
) -> CompiledPolicy:
    """Compile policy text (YAML unless ``kind="dsl"`` or a ``.gaitpol`` path).

    ``use_cache`` is accepted for compatibility and ignored: every compile
    starts from the source.
    """
    del use_cache
    data = source.encode("utf-8") if isinstance(source, str) else source
    kind = kind or source_kind(path)
    # Compiling allocates many small objects and frees none of them in cycles; the
    # cyclic collector would rescan them all repeatedly (half the time of a big policy).
    collecting = gc.isenabled()
    gc.disable()
    try:
        policy = load_policy_source(data, path, kind)
        ir = build_ir(_through_dsl(policy, path), sha256_hex(data))
    finally:
        if collecting:
            gc.enable()
    return CompiledPolicy(ir)


def compile_policy_file(path: str | Path, *, use_cache: bool = True) -> CompiledPolicy:
    from gait.policy.source import read_policy_bytes

    return compile_policy(read_policy_bytes(path), path=str(path), use_cache=use_cache)


def _through_dsl(policy: Policy, path_name: str) -> Policy:
    """Render canonical DSL, parse it with the grammar, and check nothing changed."""
    from gait.policy.dsl import parse_canonical_dsl, render_dsl
    from gait.policy.normalize import normalize_policy
    from gait.policy.source import decode_policy

    raw = parse_canonical_dsl(render_dsl(policy))
    # Rendered text of a normalized policy should read back as exactly that policy;
    # checking this first skips the YAML-oriented decoding and a second normalization.
    try:
        exact = msgspec.convert(raw, Policy)
    except msgspec.ValidationError:
        exact = None
    if exact == policy:
        return exact
    decoded = decode_policy(raw, {}, {}, f"{path_name} (canonical dsl)", "dsl")
    again = normalize_policy(decoded)
    if again != policy:
        raise InternalFailure(f"policy compile: canonical DSL of {path_name} does not round-trip")
    return again


def sanitize_rule_name(name: str) -> str:
    return name.replace(" ", "_").replace("-", "_").lower()


# (subject, match field, source) of the plain set-membership predicates, in row order;
# workspace prefixes and tool annotations sit between them (see _predicates).
_SETS_BEFORE_PREFIX = (
    (TOOL_NAME, "tool_names", "tool_names"),
    (RISK_CLASS, "risk_classes", "risk_classes"),
    (IDENTITY, "identities", "identities"),
)
_SETS_BEFORE_HINTS = (
    ("target.kind", "target_kinds", "target_kinds"),
    ("target.value", "target_values", "target_values"),
    ("target.endpoint_class", "endpoint_classes", "endpoint_classes"),
    ("target.discovery_method", "discovery_method", "discovery_method"),
)
_SETS_AFTER_HINTS = (
    (SKILL_PUBLISHER, "skill_publishers", "skill_publishers"),
    (SKILL_SOURCE, "skill_sources", "skill_sources"),
    ("target.sensitivity", "data_classes", "data_classes"),
    ("target.kind", "destination_kinds", "destination_kinds"),
    ("target.value", "destination_values", "destination_values"),
    ("target.operation", "destination_operations", "destination_operations"),
    (PROVENANCE_SOURCE, "provenance_sources", "provenance_sources"),
    (WRKR_PREFIX + "wrkr.tool_name", "context_tool_names", "context_tool_names"),
    (WRKR_PREFIX + "wrkr.data_class", "context_data_classes", "context_data_classes"),
    (
        WRKR_PREFIX + "wrkr.endpoint_class",
        "context_endpoint_classes",
        "context_endpoint_classes",
    ),
    (
        WRKR_PREFIX + "wrkr.autonomy_level",
        "context_autonomy_levels",
        "context_autonomy_levels",
    ),
)


def _predicates(rule: Rule) -> tuple[tuple[Predicate, ...], DelegationPredicate | None]:
    m = rule.match
    preds: list[Predicate] = []
    for subject, attr, source in _SETS_BEFORE_PREFIX:
        if values := getattr(m, attr):
            preds.append(Predicate(subject=subject, values=frozenset(values), source=source))
    if m.workspace_prefixes:
        preds.append(
            Predicate(
                subject=WORKSPACE_PREFIX, prefixes=m.workspace_prefixes, source="workspace_prefixes"
            )
        )
    for subject, attr, source in _SETS_BEFORE_HINTS:
        if values := getattr(m, attr):
            preds.append(Predicate(subject=subject, values=frozenset(values), source=source))
    ann = m.tool_annotations
    if ann.is_set():
        hints = tuple(
            (field, value)
            for attr, field in _HINT_FIELDS
            if (value := getattr(ann, attr)) is not None
        )
        if hints:
            preds.append(
                Predicate(subject=TOOL_ANNOTATIONS, hints=hints, source="tool_annotations")
            )
    for subject, attr, source in _SETS_AFTER_HINTS:
        if values := getattr(m, attr):
            preds.append(Predicate(subject=subject, values=frozenset(values), source=source))
    delegation = None
    if (
        m.require_delegation
        or m.allowed_delegator_identities
        or m.allowed_delegate_identities
        or m.delegation_scopes
        or m.max_delegation_depth is not None
    ):
        delegation = DelegationPredicate(
            max_depth=m.max_delegation_depth,
            delegators=frozenset(m.allowed_delegator_identities),
            delegates=frozenset(m.allowed_delegate_identities),
            scopes=frozenset(m.delegation_scopes),
        )
        preds.append(Predicate(subject=DELEGATION, source="delegation"))
    return tuple(preds), delegation


def _flow_predicate(c: FlowCondition) -> FlowPredicateIR:
    from gait.policy.duration import parse_go_duration

    return FlowPredicateIR(
        tool_names=frozenset(c.tool_names),
        endpoint_classes=frozenset(c.endpoint_classes),
        sensitivity=frozenset(c.sensitivity),
        same_target=c.same_target,
        within_ns=parse_go_duration(c.within) if c.within else 0,
        min_count=c.min_count,
    )


def _flow(rule: Rule) -> FlowIR | msgspec.UnsetType:
    m = rule.match
    if not (m.after or m.not_after):
        return msgspec.UNSET
    return FlowIR(
        after=tuple(_flow_predicate(c) for c in m.after or ()),
        not_after=tuple(_flow_predicate(c) for c in m.not_after or ()),
    )


def _row(index: int, rule: Rule) -> Row:
    preds, delegation = _predicates(rule)
    e, d = rule.endpoint, rule.dataflow
    endpoint = None
    if e.enabled:
        endpoint = EndpointIR(
            path_allowlist=e.path_allowlist,
            path_denylist=e.path_denylist,
            domain_allowlist=e.domain_allowlist,
            domain_denylist=e.domain_denylist,
            egress_classes=frozenset(e.egress_classes),
            action=e.action,
            destructive_action=e.destructive_action,
            reason_code=e.reason_code,
            violation=e.violation,
        )
    dataflow = None
    if d.enabled:
        dataflow = DataflowIR(
            tainted_sources=frozenset(d.tainted_sources),
            destination_kinds=frozenset(d.destination_kinds),
            destination_values=frozenset(d.destination_values),
            destination_operations=frozenset(d.destination_operations),
            action=d.action,
            reason_code=d.reason_code,
            violation=d.violation,
        )
    context = None
    mode_required = rule.required_context_evidence_mode == "required"
    if rule.require_context_evidence or mode_required or rule.max_context_age_seconds > 0:
        context = ContextIR(
            mode_required=mode_required, max_age_seconds=rule.max_context_age_seconds
        )
    return Row(
        index=index,
        name=rule.name,
        priority=rule.priority,
        effect=rule.effect,
        reasons=rule.reason_codes or (f"matched_rule_{sanitize_rule_name(rule.name)}",),
        violations=rule.violations,
        predicates=preds,
        delegation=delegation,
        dataflow=dataflow,
        endpoint=endpoint,
        context=context,
        min_approvals=rule.min_approvals,
        require_distinct_approvers=rule.require_distinct_approvers,
        require_broker_credential=rule.require_broker_credential,
        broker_reference=rule.broker_reference,
        broker_scopes=rule.broker_scopes,
        require_delegation=rule.match.require_delegation,
        delegation_scopes=rule.match.delegation_scopes,
        rate_limit=rule.rate_limit if rule.rate_limit.requests > 0 else None,
        destructive_budget=rule.destructive_budget
        if rule.destructive_budget.requests > 0
        else None,
        flow=_flow(rule),
    )


def build_ir(policy: Policy, source_digest: str = "") -> PolicyIR:
    """Build the decision table of a normalized policy."""
    from gait.policy.digest import policy_digest

    rows = tuple(_row(i, rule) for i, rule in enumerate(policy.rules))
    index: dict[str, list[int]] = {}
    any_tool: list[int] = []
    for row in rows:
        tools = next((p.values for p in row.predicates if p.subject == TOOL_NAME), None)
        if tools is None:
            any_tool.append(row.index)
        else:
            for tool in tools:
                index.setdefault(tool, []).append(row.index)
    fc = policy.fail_closed
    return PolicyIR(
        schema_id=policy.schema_id,
        schema_version=policy.schema_version,
        source_digest=source_digest,
        policy_digest=policy_digest(policy),
        default_verdict=policy.default_verdict,
        fail_closed=FailClosedIR(
            enabled=fc.enabled,
            risk_classes=frozenset(fc.risk_classes),
            required_fields=fc.required_fields,
        ),
        scripts=policy.scripts,
        rows=rows,
        tool_index=tuple((tool, tuple(ids)) for tool, ids in sorted(index.items())),
        any_tool_rows=tuple(any_tool),
        policy=policy,
        flow_rows=tuple(r.index for r in rows if r.flow) or msgspec.UNSET,
    )


__all__ = [
    "CompiledPolicy",
    "PolicyError",
    "build_ir",
    "compile_policy",
    "compile_policy_file",
    "load_policy_file",
    "load_policy_source",
    "sanitize_rule_name",
]
