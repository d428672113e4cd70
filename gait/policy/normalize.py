"""Policy normalization and semantic validation (spec/policy.md §2–§12).

``normalize_policy`` is idempotent: normalizing a normalized policy returns an
equal policy. Error messages are the spec's wording; the location names the
file position and field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import msgspec

from gait.errors import Location, PolicyError
from gait.policy.model import (
    Dataflow,
    Endpoint,
    FailClosed,
    FlowCondition,
    Limit,
    Match,
    McpTrust,
    Policy,
    Rule,
    Scripts,
)
from gait.policy.source import PathKey
from gait.vocab import DISCOVERY_METHODS, ENDPOINT_CLASSES, VERDICTS

SCHEMA_ID = "gait.gate.policy"
SCHEMA_VERSION = "1.0.0"
FAIL_CLOSED_FIELDS = frozenset(
    {"targets", "arg_provenance", "endpoint_class", "delegation", "context_evidence"}
)
DEFAULT_FAIL_CLOSED_RISK = ("critical", "high")
DEFAULT_TAINTED = ("external", "tool_output")

Locator = Callable[[PathKey], Location | None]


def norm(values: Iterable[str]) -> tuple[str, ...]:
    """Trim, drop empties, dedup, sort (byte order)."""
    if not values:  # most match fields are empty: skip building a set
        return ()
    return tuple(sorted({v.strip() for v in values if v.strip()}, key=_bytes))


def norm_lower(values: Iterable[str]) -> tuple[str, ...]:
    if not values:
        return ()
    return tuple(sorted({v.strip().lower() for v in values if v.strip()}, key=_bytes))


def _bytes(s: str) -> bytes:
    return s.encode("utf-8")


def sort_key_bytes(s: str) -> bytes:
    return s.encode("utf-8")


def normalize_policy(policy: Policy, locate: Locator | None = None) -> Policy:
    """Return the normalized policy, or raise :class:`PolicyError` naming the first problem."""

    def fail(message: str, path: PathKey = ()) -> PolicyError:
        return PolicyError(message, location=locate(path) if locate else None)

    schema_id = policy.schema_id.strip() or SCHEMA_ID
    if schema_id != SCHEMA_ID:
        raise fail(f"unsupported policy schema_id: {schema_id}", ("schema_id",))
    schema_version = policy.schema_version.strip() or SCHEMA_VERSION
    if schema_version != SCHEMA_VERSION:
        raise fail(f"unsupported policy schema_version: {schema_version}", ("schema_version",))

    verdict = policy.default_verdict.strip().lower()
    alias = policy.default_action.strip().lower()
    if verdict and alias and verdict != alias:
        raise fail(
            "default_action must match default_verdict when both are set", ("default_action",)
        )
    verdict = verdict or alias or "require_approval"
    if verdict not in VERDICTS:
        raise fail(f"invalid default_verdict: {verdict}", ("default_verdict",))

    fc = policy.fail_closed
    required_fields = norm_lower(fc.required_fields)
    for name in required_fields:
        if name not in FAIL_CLOSED_FIELDS:
            raise fail(
                f"unsupported fail_closed required_field: {name}",
                ("fail_closed", "required_fields"),
            )
    risk = norm_lower(fc.risk_classes)
    if fc.enabled and not risk:
        risk = DEFAULT_FAIL_CLOSED_RISK
    fail_closed = FailClosed(enabled=fc.enabled, risk_classes=risk, required_fields=required_fields)

    sc = policy.scripts
    if sc.max_steps < 0:
        raise fail("scripts.max_steps must be >= 0", ("scripts", "max_steps"))
    if sc.require_approval_above < 0:
        raise fail(
            "scripts.require_approval_above must be >= 0", ("scripts", "require_approval_above")
        )

    mcp = _normalize_mcp_trust(policy.mcp_trust, fail)

    rules = [_normalize_rule(rule, i, fail) for i, rule in enumerate(policy.rules)]
    rules.sort(key=lambda r: (r.priority, r.name.encode("utf-8")))

    return Policy(
        schema_id=schema_id,
        schema_version=schema_version,
        default_verdict=verdict,
        default_action=policy.default_action,
        scripts=Scripts(
            max_steps=sc.max_steps,
            require_approval_above=sc.require_approval_above,
            block_mixed_risk=sc.block_mixed_risk,
        ),
        fail_closed=fail_closed,
        mcp_trust=mcp,
        rules=tuple(rules),
    )


def _normalize_mcp_trust(m: McpTrust, fail: Callable[..., PolicyError]) -> McpTrust:
    configured = m != McpTrust()
    if not configured:
        return m
    path: PathKey = ("mcp_trust",)
    snapshot = m.snapshot.strip()
    if not snapshot:
        raise fail("mcp_trust.snapshot is required when mcp_trust is configured", path)
    action = m.action.strip().lower() or "block"
    if action not in ("block", "require_approval"):
        raise fail(f'unsupported mcp_trust.action "{action}"', (*path, "action"))
    if not 0.0 <= m.min_score <= 1.0:
        raise fail("mcp_trust.min_score must be between 0 and 1", (*path, "min_score"))
    max_age = m.max_age.strip()
    if max_age:
        from gait.policy.duration import format_go_duration, parse_go_duration

        try:
            nanos = parse_go_duration(max_age)
        except ValueError as err:
            raise fail(f"parse mcp_trust.max_age: {err}", (*path, "max_age")) from err
        if nanos <= 0:
            raise fail("mcp_trust.max_age must be > 0", (*path, "max_age"))
        max_age = format_go_duration(nanos)
    return McpTrust(
        enabled=True,
        snapshot=snapshot,
        action=action,
        required_risk_classes=norm_lower(m.required_risk_classes) or DEFAULT_FAIL_CLOSED_RISK,
        min_score=float(m.min_score),
        max_age=max_age,
        publisher_allowlist=norm_lower(m.publisher_allowlist),
        require_registry=m.require_registry,
    )


def _normalize_rule(rule: Rule, index: int, fail: Callable[..., PolicyError]) -> Rule:
    base: PathKey = ("rules", index)
    name = rule.name.strip()
    if not name:
        raise fail("rule name is required", (*base, "name"))

    effect = rule.effect.strip().lower()
    action = rule.action.strip().lower()
    if effect and action and effect != action:
        raise fail(f"rule action must match effect for {name}", (*base, "action"))
    effect = effect or action
    if not effect:
        raise fail(f"rule effect is required for {name}", (*base, "effect"))
    if effect not in VERDICTS:
        key = "effect" if rule.effect.strip() else "action"
        raise fail(f'invalid rule effect "{effect}" for {name}', (*base, key))

    match = _normalize_match(rule.match, name, (*base, "match"), fail)

    if rule.min_approvals < 0:
        raise fail(f"min_approvals must be >= 0 for {name}", (*base, "min_approvals"))
    distinct = rule.require_distinct_approvers or rule.min_approvals > 1

    mode = rule.required_context_evidence_mode.strip().lower()
    if mode not in ("", "required"):
        raise fail(
            f"required_context_evidence_mode must be required for {name}",
            (*base, "required_context_evidence_mode"),
        )
    if rule.require_context_evidence:
        mode = "required"
    if rule.max_context_age_seconds < 0:
        raise fail(
            f"max_context_age_seconds must be >= 0 for {name}", (*base, "max_context_age_seconds")
        )

    return Rule(
        name=name,
        priority=rule.priority,
        effect=effect,
        action=rule.action,
        match=match,
        endpoint=_normalize_endpoint(rule.endpoint, name, (*base, "endpoint"), fail),
        reason_codes=norm(rule.reason_codes),
        violations=norm(rule.violations),
        min_approvals=rule.min_approvals,
        require_distinct_approvers=distinct,
        require_context_evidence=rule.require_context_evidence,
        required_context_evidence_mode=mode,
        max_context_age_seconds=rule.max_context_age_seconds,
        require_broker_credential=rule.require_broker_credential,
        broker_reference=rule.broker_reference.strip(),
        broker_scopes=norm_lower(rule.broker_scopes),
        rate_limit=_normalize_limit(rule.rate_limit, "rate_limit", name, base, fail),
        destructive_budget=_normalize_limit(
            rule.destructive_budget, "destructive_budget", name, base, fail
        ),
        dataflow=_normalize_dataflow(rule.dataflow, name, (*base, "dataflow"), fail),
    )


def _normalize_match(m: Match, name: str, path: PathKey, fail: Callable[..., PolicyError]) -> Match:
    classes = norm_lower((*m.endpoint_class, *m.endpoint_classes))
    for cls in classes:
        if cls not in ENDPOINT_CLASSES:
            raise fail(
                f'unsupported match endpoint_class "{cls}" for {name}', (*path, "endpoint_classes")
            )
    methods = norm_lower(m.discovery_method)
    for method in methods:
        if method not in DISCOVERY_METHODS:
            raise fail(
                f'unsupported match discovery_method "{method}" for {name}',
                (*path, "discovery_method"),
            )
    if m.max_delegation_depth is not None and m.max_delegation_depth < 0:
        raise fail(f"max_delegation_depth must be >= 0 for {name}", (*path, "max_delegation_depth"))
    tool_names = [*m.tool_names]
    if m.tool_name.strip():
        tool_names.append(m.tool_name)
    # Most fields are empty: the inline check skips a call for each.
    return msgspec.structs.replace(
        m,
        tool_names=norm_lower(tool_names),
        risk_classes=norm_lower(_v) if (_v := m.risk_classes) else (),
        target_kinds=norm_lower(_v) if (_v := m.target_kinds) else (),
        target_values=norm(_v) if (_v := m.target_values) else (),
        endpoint_classes=classes,
        discovery_method=methods,
        skill_publishers=norm_lower(_v) if (_v := m.skill_publishers) else (),
        skill_sources=norm_lower(_v) if (_v := m.skill_sources) else (),
        data_classes=norm_lower(_v) if (_v := m.data_classes) else (),
        destination_kinds=norm_lower(_v) if (_v := m.destination_kinds) else (),
        destination_values=norm(_v) if (_v := m.destination_values) else (),
        destination_operations=norm_lower(_v) if (_v := m.destination_operations) else (),
        provenance_sources=norm_lower(_v) if (_v := m.provenance_sources) else (),
        identities=norm(_v) if (_v := m.identities) else (),
        workspace_prefixes=norm(_v) if (_v := m.workspace_prefixes) else (),
        context_tool_names=norm_lower(_v) if (_v := m.context_tool_names) else (),
        context_data_classes=norm_lower(_v) if (_v := m.context_data_classes) else (),
        context_endpoint_classes=norm_lower(_v) if (_v := m.context_endpoint_classes) else (),
        context_autonomy_levels=norm_lower(_v) if (_v := m.context_autonomy_levels) else (),
        allowed_delegator_identities=norm(_v) if (_v := m.allowed_delegator_identities) else (),
        allowed_delegate_identities=norm(_v) if (_v := m.allowed_delegate_identities) else (),
        delegation_scopes=norm_lower(_v) if (_v := m.delegation_scopes) else (),
        after=_normalize_flow(m.after or (), name, (*path, "after"), fail) or msgspec.UNSET,
        not_after=_normalize_flow(m.not_after or (), name, (*path, "not_after"), fail)
        or msgspec.UNSET,
    )


def _normalize_flow(
    conds: tuple[FlowCondition, ...], name: str, path: PathKey, fail: Callable[..., PolicyError]
) -> tuple[FlowCondition, ...]:
    """Flow predicates: values normalized, ``within`` canonical, deduplicated and sorted.

    All predicates of a list must hold together, so their order carries no meaning;
    sorting keeps equal policies at one digest.
    """
    if not conds:
        return ()
    from gait.policy.duration import format_go_duration, parse_go_duration

    key = path[-1]
    out: dict[bytes, FlowCondition] = {}
    for i, c in enumerate(conds):
        where = (*path, i)
        classes = norm_lower(c.endpoint_classes)
        for cls in classes:
            if cls not in ENDPOINT_CLASSES:
                raise fail(
                    f'unsupported match.{key} endpoint_class "{cls}" for {name}',
                    (*where, "endpoint_classes"),
                )
        if c.min_count < 1:
            raise fail(f"match.{key}.min_count must be >= 1 for {name}", (*where, "min_count"))
        within = c.within.strip()
        if within:
            try:
                nanos = parse_go_duration(within)
            except ValueError as err:
                raise fail(f"parse match.{key}.within: {err}", (*where, "within")) from err
            if nanos <= 0:
                raise fail(f"match.{key}.within must be > 0 for {name}", (*where, "within"))
            within = format_go_duration(nanos)
        cond = FlowCondition(
            tool_names=norm_lower(c.tool_names),
            endpoint_classes=classes,
            sensitivity=norm_lower(c.sensitivity),
            same_target=c.same_target,
            within=within,
            min_count=c.min_count,
        )
        out.setdefault(msgspec.json.encode(cond), cond)
    return tuple(out[k] for k in sorted(out))


# Unset sections normalize to themselves (tests/policy pin this).
_NO_ENDPOINT = Endpoint()
_NO_DATAFLOW = Dataflow()
_NO_LIMIT = Limit()


def _normalize_endpoint(
    e: Endpoint, name: str, path: PathKey, fail: Callable[..., PolicyError]
) -> Endpoint:
    if e == _NO_ENDPOINT:  # most rules: already normal (frozen, so shared safely)
        return e
    egress = norm_lower(e.egress_classes)
    for cls in egress:
        if cls not in ENDPOINT_CLASSES:
            raise fail(
                f'unsupported endpoint.egress_class "{cls}" for {name}', (*path, "egress_classes")
            )
        if not cls.startswith("net."):
            raise fail(
                f"endpoint.egress_class must be network class for {name}", (*path, "egress_classes")
            )
    paths_allow, paths_deny = norm(e.path_allowlist), norm(e.path_denylist)
    domains_allow, domains_deny = norm_lower(e.domain_allowlist), norm_lower(e.domain_denylist)
    destructive = e.destructive_action.strip().lower()
    enabled = e.enabled or bool(
        paths_allow or paths_deny or domains_allow or domains_deny or egress or destructive
    )
    action = e.action.strip().lower()
    if enabled and not action:
        action = "block"
    if action and action not in ("block", "require_approval"):
        raise fail(f'unsupported endpoint.action "{action}" for {name}', (*path, "action"))
    if destructive and destructive not in ("block", "require_approval"):
        raise fail(
            f'unsupported endpoint.destructive_action "{destructive}" for {name}',
            (*path, "destructive_action"),
        )
    reason = e.reason_code.strip() or ("endpoint_constraint_violation" if enabled else "")
    violation = e.violation.strip() or ("endpoint_constraint_violation" if enabled else "")
    return Endpoint(
        enabled=enabled,
        path_allowlist=paths_allow,
        path_denylist=paths_deny,
        domain_allowlist=domains_allow,
        domain_denylist=domains_deny,
        egress_classes=egress,
        action=action,
        destructive_action=destructive,
        reason_code=reason,
        violation=violation,
    )


def _normalize_dataflow(
    d: Dataflow, name: str, path: PathKey, fail: Callable[..., PolicyError]
) -> Dataflow:
    if d == _NO_DATAFLOW:  # most rules: already normal
        return d
    tainted = norm_lower(d.tainted_sources)
    kinds, values = norm_lower(d.destination_kinds), norm(d.destination_values)
    ops = norm_lower(d.destination_operations)
    enabled = d.enabled or bool(tainted or kinds or values or ops)
    action = d.action.strip().lower()
    if enabled:
        tainted = tainted or DEFAULT_TAINTED
        action = action or "require_approval"
    if action and action not in ("block", "require_approval"):
        raise fail(f'unsupported dataflow.action "{action}" for {name}', (*path, "action"))
    reason = d.reason_code.strip() or ("dataflow_tainted_destination" if enabled else "")
    violation = d.violation.strip() or ("tainted_dataflow" if enabled else "")
    return Dataflow(
        enabled=enabled,
        tainted_sources=tainted,
        destination_kinds=kinds,
        destination_values=values,
        destination_operations=ops,
        action=action,
        reason_code=reason,
        violation=violation,
    )


def _normalize_limit(
    limit: Limit, key: str, name: str, base: PathKey, fail: Callable[..., PolicyError]
) -> Limit:
    if limit == _NO_LIMIT:  # most rules: already normal
        return limit
    path = (*base, key)
    window, scope = limit.window.strip().lower(), limit.scope.strip().lower()
    if limit.requests < 0:
        raise fail(f"{key}.requests must be >= 0 for {name}", (*path, "requests"))
    if key == "destructive_budget" and (limit.requests or window or scope) and limit.requests < 1:
        raise fail(f"destructive_budget.requests must be >= 1 for {name}", (*path, "requests"))
    if limit.requests > 0:
        window = window or "minute"
        scope = scope or "tool_identity"
        if window not in ("minute", "hour"):
            raise fail(f'unsupported {key}.window "{window}" for {name}', (*path, "window"))
        if scope not in ("tool", "identity", "tool_identity"):
            raise fail(f'unsupported {key}.scope "{scope}" for {name}', (*path, "scope"))
    return Limit(requests=limit.requests, window=window, scope=scope)
