"""The interpreter: ``evaluate(compiled, intent) -> Decision`` (policy.md §5, §13).

Pure and deterministic: the same table and the same intent give the same
decision. Stateful features (approvals, budgets, brokers) are applied by the
caller to the Decision this returns.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Mapping
from operator import attrgetter
from typing import Any

import msgspec

from gait.engine import index as _index
from gait.engine.decision import Decision, StepVerdict
from gait.engine.flow import UNAVAILABLE, FlowHistory, check_flow
from gait.engine.index import build_selector, tool_lists
from gait.engine.matchers import Matcher, build_matcher, domain_match, path_forms, path_match
from gait.engine.verdicts import RANK, most_restrictive, rank
from gait.errors import IntentError
from gait.intent.model import MAX_SCRIPT_STEPS, Intent, Target
from gait.intent.prepare import prepare_intent
from gait.intent.urls import canonical_domain, matching_domain
from gait.policy.compiler import CompiledPolicy
from gait.policy.ir import TOOL_NAME, PolicyIR, Row
from gait.policy.model import Limit

_EGRESS_KINDS = frozenset({"host", "url", "bucket", "queue", "topic"})
_DESTRUCTIVE = attrgetter("destructive")  # a bool: "True in map(...)" is any() in C
_ENDPOINT_CLASS = attrgetter("endpoint_class")
_replace = msgspec.structs.replace
_UNKNOWN_CLASSES = frozenset(("", "other"))
# fail-closed requirements on fields other than the targets (see _fail_closed)
_FC_OTHER_FIELDS = frozenset(("arg_provenance", "delegation", "context_evidence"))


class _PerRow(dict):  # type: ignore[type-arg]
    """Row index -> value derived from that row, built on first lookup.

    A decision looks at a handful of candidate rows, so a 100,000-row table
    should not pay for all of them up front. A plain dict lookup on a hit.
    """

    __slots__ = ("_build", "_rows")

    def __init__(self, rows: tuple[Row, ...], build: Callable[[Row], Any]) -> None:
        super().__init__()
        self._rows = rows
        self._build = build

    def __missing__(self, index: int) -> Any:
        value = self[index] = self._build(self._rows[index])
        return value


def _row_matchers(row: Row) -> tuple[Matcher, ...]:
    return tuple(build_matcher(p, row.delegation) for p in row.predicates)


Plan = tuple[tuple[Row, tuple[Matcher, ...]], ...]


def _tool_plans(
    candidates: Mapping[str, tuple[Row, ...]], default_rows: tuple[Row, ...]
) -> tuple[dict[str, Plan], Plan]:
    """Per tool name: its candidate rows, each with the checks left to run.

    A row is a candidate for a tool only if it names the tool or names none, so
    a tool-name check whose values hold that tool is true for every intent that
    reaches it: dropped. Every other check stays.
    """

    def plan(tool: str | None, rows: tuple[Row, ...]) -> Plan:
        return tuple(
            (
                row,
                tuple(
                    build_matcher(p, row.delegation)
                    for p in row.predicates
                    if not (p.subject == TOOL_NAME and tool in p.values)
                ),
            )
            for row in rows
        )

    return {tool: plan(tool, rows) for tool, rows in candidates.items()}, plan(None, default_rows)


class _Runtime:
    """Closures and per-tool candidate lists derived from a table, built once."""

    __slots__ = (
        "candidates",
        "default_plan",
        "default_rows",
        "fc_targets_only",
        "matchers",
        "plans",
        "select",
        "static",
    )

    def __init__(self, ir: PolicyIR) -> None:
        # Decision fields of a row deciding alone with no constraint that depends on
        # the intent (dataflow, endpoint, context): the common case needs no merge.
        digest = ir.policy_digest
        self.static: Mapping[int, Decision | None] = _PerRow(
            ir.rows, lambda row: _static_decision(row, digest)
        )
        self.matchers: Mapping[int, tuple[Matcher, ...]] = _PerRow(ir.rows, _row_matchers)
        # fail-closed asks for nothing an intent can lack beyond targets and their
        # classes (the other fields it may require are absent from the list)
        self.fc_targets_only = _FC_OTHER_FIELDS.isdisjoint(ir.fail_closed.required_fields)
        self.candidates, self.default_rows = tool_lists(ir)
        self.select = build_selector(ir, self.candidates, self.default_rows)
        # small tables: the per-tool lists with their checks (one lookup a decision)
        self.plans: dict[str, Plan] | None = None
        self.default_plan: Plan = ()
        if len(ir.rows) <= _index.SMALL_TABLE:  # read on use: tests move the threshold
            self.plans, self.default_plan = _tool_plans(self.candidates, self.default_rows)


def _runtime(compiled: CompiledPolicy) -> _Runtime:
    rt = compiled._runtime
    if rt is None:
        # Like a compile, this builds many objects and no cycles: the cyclic collector
        # would rescan them all repeatedly on big tables (2.5x at 10,000 rows).
        collecting = gc.isenabled()
        gc.disable()
        try:
            rt = compiled._runtime = _Runtime(compiled.ir)
        finally:
            if collecting:
                gc.enable()
    return rt


def evaluate(
    compiled: CompiledPolicy,
    intent: Intent | Mapping[str, Any] | bytes | str,
    *,
    prepare: bool = True,
    enrich: Callable[[Intent], Intent] | None = None,
    history: FlowHistory | None = None,
) -> Decision:
    """Decide one intent.

    ``intent`` may be a normalized :class:`Intent`, a raw mapping, or JSON bytes/text.
    Raw intents are normalized here; if that fails and fail-closed applies to the
    intent's risk class, the result is ``block`` (``fail_closed_intent_invalid``),
    otherwise :class:`IntentError` is raised. ``prepare`` strips context-evidence
    claims, as ``gate eval`` and ``policy test`` do without a verified envelope.
    ``enrich`` adds caller context (e.g. wrkr inventory keys) to the intent, or to
    each script step separately so one step's context never leaks into another.
    ``history`` is the session's earlier calls for flow rules; without it a rule
    with flow predicates whose other conditions hold blocks
    (``flow_history_unavailable``): it cannot be decided, so it fails closed.
    """
    ir = compiled.ir
    if not isinstance(intent, Intent):
        from gait import intent as intents  # raw input only: decoding and normalizing

        raw = intents.decode_intent_bytes(intent) if isinstance(intent, bytes | str) else intent
        try:
            intent = intents.normalize_intent(raw)
        except IntentError:
            fc = ir.fail_closed
            if fc.enabled and intents.raw_risk_class(raw) in fc.risk_classes:
                return Decision(
                    verdict="block",
                    reason_codes=("fail_closed_intent_invalid",),
                    violations=("intent_not_evaluable",),
                    matched_rules=(),
                    policy_digest=ir.policy_digest,
                    intent=None,
                )
            raise
    if prepare:
        ctx = intent.context
        # prepare_intent returns the intent itself unless one of these is set
        if (
            ctx.context_set_digest
            or ctx.context_evidence_mode
            or ctx.context_refs
            or ctx.auth_context
        ):
            intent = prepare_intent(intent)
    if enrich is not None and intent.script is None:
        intent = enrich(intent)

    # built on the first decision not blocked here: a table it cannot build still
    # gives its fail-closed blocks
    rt = compiled._runtime
    fc = ir.fail_closed
    # both checks answer None at once outside this condition
    if fc.enabled and intent.context.risk_class in fc.risk_classes:
        targets = intent.targets
        # _fail_closed's answer without the call for the usual shape: one classified
        # target and no requirement beyond targets; anything else asks the function
        if not (
            rt is not None
            and rt.fc_targets_only
            and len(targets) == 1
            and targets[0].endpoint_class not in _UNKNOWN_CLASSES
            and intent.script is None
        ):
            blocked = _fail_closed(ir, intent)
            if blocked is None and intent.script is not None:
                blocked = _fail_closed_steps(ir, intent)
            if blocked is not None:
                return Decision(
                    verdict="block",
                    reason_codes=blocked[0],
                    violations=blocked[1],
                    matched_rules=(),
                    policy_digest=ir.policy_digest,
                    intent=intent,
                )
    rt = rt or _runtime(compiled)
    hist = UNAVAILABLE if history is None else history
    if intent.script is not None:
        return _evaluate_script(ir, rt, intent, enrich, hist)
    return _evaluate_single(ir, rt, intent, hist)


# ------------------------------------------------------------ fail closed ---


def _fail_closed(ir: PolicyIR, intent: Intent) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    fc = ir.fail_closed
    if not fc.enabled or intent.context.risk_class not in fc.risk_classes:
        return None
    targets = intent.targets
    unknown_class = not _UNKNOWN_CLASSES.isdisjoint(map(_ENDPOINT_CLASS, targets))
    required = fc.required_fields
    if (
        targets
        and not unknown_class
        and (intent.arg_provenance or "arg_provenance" not in required)
        and (intent.delegation is not None or "delegation" not in required)
        and (intent.context.context_set_digest or "context_evidence" not in required)
    ):
        return None  # every requirement holds (the usual case): no sets to build
    return _fail_closed_general(ir, intent)


def _fail_closed_general(
    ir: PolicyIR, intent: Intent
) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    fc = ir.fail_closed
    if not fc.enabled or intent.context.risk_class not in fc.risk_classes:
        return None
    reasons: set[str] = set()
    violations: set[str] = set()
    targets = intent.targets
    unknown_class = not _UNKNOWN_CLASSES.isdisjoint(map(_ENDPOINT_CLASS, targets))
    for field in fc.required_fields:
        if field == "targets" and not targets:
            reasons.add("fail_closed_missing_targets")
            violations.add("missing_targets")
        elif field == "arg_provenance" and not intent.arg_provenance:
            reasons.add("fail_closed_missing_arg_provenance")
            violations.add("missing_arg_provenance")
        elif field == "endpoint_class" and unknown_class:
            reasons.add("fail_closed_missing_endpoint_class")
            violations.add("missing_endpoint_class")
        elif field == "delegation" and intent.delegation is None:
            reasons.add("fail_closed_missing_delegation")
            violations.add("missing_delegation")
        elif field == "context_evidence" and not intent.context.context_set_digest:
            reasons.add("context_evidence_missing")
            violations.add("missing_context_evidence")
    if unknown_class:
        reasons.add("fail_closed_endpoint_class_unknown")
        violations.add("endpoint_class_unknown")
    if not reasons:
        return None
    return tuple(sorted(reasons)), tuple(sorted(violations))


def _fail_closed_steps(
    ir: PolicyIR, intent: Intent
) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """Fail-closed requirements hold for every script step, not only the union.

    A step without targets (or with an unclassified one) must not hide behind a
    harmless top-level target or a sibling step's targets.
    """
    fc = ir.fail_closed
    if not fc.enabled or intent.context.risk_class not in fc.risk_classes:
        return None
    reasons: set[str] = set()
    violations: set[str] = set()
    for step in intent.script or ():
        sub = msgspec.structs.replace(
            intent,
            tool_name=step.tool_name,
            args=step.args,
            targets=step.targets,
            arg_provenance=step.arg_provenance,
            script=None,
            script_hash="",
        )
        found = _fail_closed(ir, sub)
        if found is not None:
            reasons.update(found[0])
            violations.update(found[1])
    if not reasons:
        return None
    return tuple(sorted(reasons)), tuple(sorted(violations))


# ------------------------------------------------------------ single intent ---


def matching_tier(
    rt: _Runtime,
    intent: Intent,
    ir: PolicyIR,
    history: FlowHistory = UNAVAILABLE,
    flow_out: dict[int, tuple[str, ...] | None] | None = None,
) -> list[Row]:
    """Rows of the first (lowest-priority-number) tier whose match holds.

    A row with flow predicates matches when they hold on ``history`` (their refs go
    to ``flow_out``); with no history it stays in the tier (``flow_out`` gets None)
    so it can fail closed.
    """
    plans = rt.plans
    if plans is not None:
        plan = plans.get(intent.tool_name, rt.default_plan)
    else:
        matchers = rt.matchers
        plan = ((row, matchers[row.index]) for row in rt.select(intent))
    tier: list[Row] = []
    tier_priority = 0
    for row, checks in plan:
        if tier and row.priority != tier_priority:
            break
        for check in checks:
            if not check(intent):
                break
        else:
            flow = row.flow
            if flow:
                refs: tuple[str, ...] | None = None
                if history.available:
                    holds, refs = check_flow(flow, intent, history)
                    if not holds:
                        continue
                if flow_out is not None:
                    flow_out[row.index] = refs
            if not tier:
                tier_priority = row.priority
            tier.append(row)
    return tier


class _RuleOutcome:
    __slots__ = ("dataflow", "effect", "flow_refs", "reasons", "row", "violations")

    def __init__(
        self,
        row: Row,
        effect: str,
        reasons: list[str],
        violations: list[str],
        dataflow: bool,
        flow_refs: tuple[str, ...] = (),
    ):
        self.row = row
        self.effect = effect
        self.reasons = reasons
        self.violations = violations
        self.dataflow = dataflow
        self.flow_refs = flow_refs


def _apply_rule(
    row: Row, intent: Intent, flow_refs: tuple[str, ...] | None = (), history: Any = None
) -> _RuleOutcome:
    if flow_refs is None:
        # flow predicates that cannot be checked: the rule neither applies nor lets
        # the call through on its own terms
        reason = (
            history.reason if history is not None and history.reason else "flow_history_unavailable"
        )
        return _RuleOutcome(row, "block", [reason], ["flow_history_unavailable"], False)
    effect = row.effect
    reasons = list(row.reasons)
    violations = list(row.violations)
    targets = intent.targets
    triggered = False

    flow = row.dataflow
    if (
        flow is not None
        and targets
        and any(p.source in flow.tainted_sources for p in intent.arg_provenance)
    ):
        if not (flow.destination_kinds or flow.destination_values or flow.destination_operations):
            hit = any(t.kind in _EGRESS_KINDS for t in targets)
        else:
            hit = any(
                (not flow.destination_kinds or t.kind in flow.destination_kinds)
                and (not flow.destination_values or t.value in flow.destination_values)
                and (not flow.destination_operations or t.operation in flow.destination_operations)
                for t in targets
            )
        if hit:
            triggered = True
            effect = flow.action
            reasons.append(flow.reason_code)
            violations.append(flow.violation)

    ep = row.endpoint
    if ep is not None:
        codes: list[str] = []
        extra_violations: list[str] = []
        ep_effect = ep.action
        for t in targets:
            codes.extend(_endpoint_codes(ep, t))
        if ep.destructive_action and any(t.destructive for t in targets):
            ep_effect = most_restrictive(ep.action, ep.destructive_action)
            codes.append("endpoint_destructive_operation")
            extra_violations.append("destructive_operation")
        if codes:
            effect = most_restrictive(effect, ep_effect)
            reasons.extend(codes)
            violations.extend(c for c in codes if c != "endpoint_destructive_operation")
            violations.extend(extra_violations)
            reasons.append(ep.reason_code)
            violations.append(ep.violation)

    ctx_rule = row.context
    if ctx_rule is not None:
        ctx = intent.context
        before = len(reasons)
        if not ctx.context_set_digest:
            reasons += ["context_evidence_missing", "context_set_digest_missing"]
            violations.append("missing_context_evidence")
        if ctx_rule.mode_required and ctx.context_evidence_mode != "required":
            reasons.append("context_evidence_mode_mismatch")
            violations.append("context_evidence_mode_violation")
        if ctx_rule.max_age_seconds > 0:
            age = _context_age(ctx.auth_context)
            if age is None or age > ctx_rule.max_age_seconds:
                reasons.append("context_freshness_exceeded")
                violations.append("context_freshness_violation")
        if len(reasons) > before:
            effect = "block"

    if any(t.destructive for t in targets):
        if intent.context.phase == "plan":
            effect = most_restrictive(effect, "dry_run")
            reasons.append("plan_phase_non_destructive")
        else:
            effect = most_restrictive(effect, "require_approval")
            reasons.append("destructive_apply_requires_approval")
    return _RuleOutcome(row, effect, reasons, violations, triggered, flow_refs)


def _endpoint_codes(ep: Any, t: Target) -> list[str]:
    out: list[str] = []
    if t.kind == "path" and (ep.path_denylist or ep.path_allowlist):
        forms = path_forms(t.value.strip())
        if forms is None:
            # climbs above its root: no list can vouch for it
            if ep.path_denylist:
                out.append("endpoint_path_denied")
            if ep.path_allowlist:
                out.append("endpoint_path_not_allowlisted")
        else:
            if any(path_match(p, v) for v in forms for p in ep.path_denylist):
                out.append("endpoint_path_denied")
            if ep.path_allowlist and not all(
                any(path_match(p, v) for p in ep.path_allowlist) for v in forms
            ):
                out.append("endpoint_path_not_allowlisted")
    if ep.domain_denylist or ep.domain_allowlist:
        out.extend(_domain_codes(ep, t))
    if (
        t.endpoint_class.startswith("net.")
        and ep.egress_classes
        and t.endpoint_class not in ep.egress_classes
    ):
        out.append("endpoint_egress_class_not_allowed")
    return out


def _target_domains(t: Target) -> tuple[str, ...] | None:
    """Domains a target must pass, or ``None`` when its domain is undeterminable.

    For ``url``/``host`` targets the domain comes from the value; a declared
    ``endpoint_domain`` that disagrees is checked too and never replaces it.
    """
    declared = canonical_domain(t.endpoint_domain) if t.endpoint_domain else ""
    if declared is None:
        return None  # a declared domain that is not a hostname cannot be checked
    if t.kind in ("url", "host"):
        derived = matching_domain(t.kind, t.value)
        if derived is None:
            return None
        return (derived, declared) if declared and declared != derived else (derived,)
    if declared:
        return (declared,)
    if t.endpoint_class.startswith("net."):
        return None  # network target with no way to tell where it goes
    return ()


def _domain_codes(ep: Any, t: Target) -> list[str]:
    domains = _target_domains(t)
    if domains is None:
        # Fail closed: a list that cannot be checked does not let the call through.
        out = ["endpoint_domain_undeterminable"]
        if ep.domain_denylist:
            out.append("endpoint_domain_denied")
        if ep.domain_allowlist:
            out.append("endpoint_domain_not_allowlisted")
        return out
    out = []
    if any(domain_match(p, d) for d in domains for p in ep.domain_denylist):
        out.append("endpoint_domain_denied")
    if ep.domain_allowlist and not all(
        any(domain_match(p, d) for p in ep.domain_allowlist) for d in domains
    ):
        out.append("endpoint_domain_not_allowlisted")
    return out


def _context_age(auth: dict[str, Any] | None) -> int | None:
    if not auth or "context_age_seconds" not in auth:
        return None
    value = auth["context_age_seconds"]
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float):
        return int(value) if value >= 0 and value == value and value != float("inf") else None
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return int(number) if number >= 0 and number != float("inf") else None
    return None


def stricter_limit(a: Limit | None, b: Limit | None) -> Limit | None:
    """Fewer requests wins; then minute before hour; then the smaller scope name."""
    if a is None:
        return b
    if b is None:
        return a
    ka = (a.requests, 0 if a.window == "minute" else 1, a.scope)
    kb = (b.requests, 0 if b.window == "minute" else 1, b.scope)
    return a if ka <= kb else b


def _static_fields(row: Row) -> dict[str, Any] | None:
    if row.dataflow is not None or row.endpoint is not None or row.context is not None or row.flow:
        return None
    approval = row.effect == "require_approval"
    fields: dict[str, Any] = {
        "verdict": row.effect,
        "reason_codes": tuple(sorted(set(row.reasons) - {""})),
        "violations": tuple(sorted(set(row.violations) - {""})),
        "matched_rules": (row.name,),
        "min_approvals": (row.min_approvals or 1) if approval else 0,
        "require_distinct_approvers": row.require_distinct_approvers and approval,
        "require_broker_credential": row.require_broker_credential,
        "require_delegation": row.require_delegation,
        "required_delegation_scopes": tuple(sorted(row.delegation_scopes)),
        "broker_reference": row.broker_reference,
        "broker_scopes": tuple(sorted(row.broker_scopes)),
        "rate_limit": row.rate_limit,
        "destructive_budget": row.destructive_budget,
    }
    # only non-default values: keyword arguments are the expensive part of construction
    return {
        k: v for k, v in fields.items() if v or k in ("reason_codes", "violations", "matched_rules")
    }


def _static_decision(row: Row, policy_digest: str) -> Decision | None:
    """The decision of a row deciding alone (see _static_fields), without its intent:
    each decision is a copy with the intent set, cheaper than building one."""
    fields = _static_fields(row)
    if fields is None:
        return None
    return Decision(policy_digest=policy_digest, intent=None, **fields)


def _evaluate_single(
    ir: PolicyIR, rt: _Runtime, intent: Intent, history: FlowHistory = UNAVAILABLE
) -> Decision:
    flows: dict[int, tuple[str, ...] | None] = {}
    tier = matching_tier(rt, intent, ir, history, flows)
    if len(tier) == 1:
        static = rt.static[tier[0].index]
        if static is not None and True not in map(_DESTRUCTIVE, intent.targets):
            return _replace(static, intent=intent)
    if not tier:
        verdict = ir.default_verdict
        return Decision(
            verdict=verdict,
            reason_codes=(f"default_{verdict}",),
            violations=(),
            matched_rules=(),
            policy_digest=ir.policy_digest,
            intent=intent,
            min_approvals=1 if verdict == "require_approval" else 0,
        )
    outcomes = [_apply_rule(row, intent, flows.get(row.index, ()), history) for row in tier]
    if len(outcomes) == 1 and outcomes[0].effect in RANK:
        return _merge_one(ir, intent, outcomes[0])
    return _merge(ir, intent, outcomes)


def _merge_one(ir: PolicyIR, intent: Intent, o: _RuleOutcome) -> Decision:
    """:func:`_merge` of a one-rule tier (a known effect): that rule's fields as they are,
    without the merge's sets and loop (a destructive target's usual path)."""
    row = o.row
    final = o.effect
    approval = final == "require_approval"
    reasons = set(o.reasons)
    reasons.discard("")
    violations = set(o.violations)
    violations.discard("")
    return Decision(
        verdict=final,
        reason_codes=tuple(sorted(reasons)),
        violations=tuple(sorted(violations)),
        matched_rules=(row.name,),
        policy_digest=ir.policy_digest,
        intent=intent,
        min_approvals=max(0, row.min_approvals or 1) if approval else 0,
        require_distinct_approvers=row.require_distinct_approvers if approval else False,
        require_broker_credential=row.require_broker_credential,
        require_delegation=row.require_delegation,
        required_delegation_scopes=tuple(sorted(set(row.delegation_scopes))),
        broker_reference=row.broker_reference or "",
        broker_scopes=tuple(sorted(set(row.broker_scopes))),
        rate_limit=row.rate_limit,
        destructive_budget=row.destructive_budget,
        dataflow_triggered=o.dataflow,
        flow_refs=tuple(sorted(set(o.flow_refs))),
    )


def _merge(ir: PolicyIR, intent: Intent, outcomes: list[_RuleOutcome]) -> Decision:
    final = "allow"
    for o in outcomes:
        if rank(o.effect) > rank(final):
            final = o.effect
    reasons: set[str] = set()
    violations: set[str] = set()
    min_approvals = 0
    distinct = broker = delegation = dataflow = False
    scopes: set[str] = set()
    broker_scopes: set[str] = set()
    references: set[str] = set()
    rate: Limit | None = None
    budget: Limit | None = None
    refs: set[str] = set()
    for o in outcomes:
        if o.effect != final:
            continue
        row = o.row
        refs.update(o.flow_refs)
        reasons.update(o.reasons)
        violations.update(o.violations)
        approvals = row.min_approvals or (1 if o.effect == "require_approval" else 0)
        min_approvals = max(min_approvals, approvals)
        distinct = distinct or row.require_distinct_approvers
        broker = broker or row.require_broker_credential
        delegation = delegation or row.require_delegation
        dataflow = dataflow or o.dataflow
        scopes.update(row.delegation_scopes)
        broker_scopes.update(row.broker_scopes)
        if row.broker_reference:
            references.add(row.broker_reference)
        rate = stricter_limit(rate, row.rate_limit)
        budget = stricter_limit(budget, row.destructive_budget)
    if final != "require_approval":
        min_approvals, distinct = 0, False
    reasons.discard("")
    violations.discard("")
    return Decision(
        verdict=final,
        reason_codes=tuple(sorted(reasons)),
        violations=tuple(sorted(violations)),
        matched_rules=tuple(sorted({o.row.name for o in outcomes})),
        policy_digest=ir.policy_digest,
        intent=intent,
        min_approvals=min_approvals,
        require_distinct_approvers=distinct,
        require_broker_credential=broker,
        require_delegation=delegation,
        required_delegation_scopes=tuple(sorted(scopes)),
        broker_reference=",".join(sorted(references)),
        broker_scopes=tuple(sorted(broker_scopes)),
        rate_limit=rate,
        destructive_budget=budget,
        dataflow_triggered=dataflow,
        flow_refs=tuple(sorted(refs)),
    )


# ------------------------------------------------------------ scripts ---


def step_risk(targets: tuple[Target, ...]) -> str:
    """A script step's risk class from its targets (policy.md §13.4)."""
    if any(t.endpoint_class in ("fs.delete", "proc.exec") or t.destructive for t in targets):
        return "high"
    if any(t.endpoint_class in ("fs.write", "net.http", "net.dns") for t in targets):
        return "medium"
    return "low"


RISK_RANK = {"low": 0, "medium": 1, "high": 2}


def _evaluate_script(
    ir: PolicyIR,
    rt: _Runtime,
    intent: Intent,
    enrich: Callable[[Intent], Intent] | None = None,
    history: FlowHistory = UNAVAILABLE,
) -> Decision:
    steps = intent.script or ()
    step_verdicts: list[StepVerdict] = []
    decisions: list[Decision] = []
    risks: list[str] = []
    for i, step in enumerate(steps):
        sub = msgspec.structs.replace(
            intent,
            tool_name=step.tool_name,
            args=step.args,
            targets=step.targets,
            arg_provenance=step.arg_provenance,
            script=None,
            script_hash="",
        )
        if enrich is not None:
            sub = enrich(sub)
        d = _evaluate_single(ir, rt, sub, history)
        decisions.append(d)
        risks.append(step_risk(step.targets))
        step_verdicts.append(
            StepVerdict(i, step.tool_name, d.verdict, d.reason_codes, d.violations, d.matched_rules)
        )
    verdict = "allow"
    reasons: set[str] = set()
    violations: set[str] = set()
    matched: set[str] = set()
    min_approvals = 0
    distinct = broker = delegation = dataflow = False
    scopes: set[str] = set()
    broker_scopes: set[str] = set()
    reference = ""
    rate: Limit | None = None
    budget: Limit | None = None
    refs: set[str] = set()
    for d in decisions:
        refs.update(d.flow_refs)
        verdict = most_restrictive(verdict, d.verdict)
        reasons.update(d.reason_codes)
        violations.update(d.violations)
        matched.update(d.matched_rules)
        min_approvals = max(min_approvals, d.min_approvals)
        distinct = distinct or d.require_distinct_approvers
        broker = broker or d.require_broker_credential
        delegation = delegation or d.require_delegation
        dataflow = dataflow or d.dataflow_triggered
        scopes.update(d.required_delegation_scopes)
        broker_scopes.update(d.broker_scopes)
        reference = reference or d.broker_reference
        rate = stricter_limit(rate, d.rate_limit)
        budget = stricter_limit(budget, d.destructive_budget)
    sc = ir.scripts
    max_steps = sc.max_steps or MAX_SCRIPT_STEPS
    if len(steps) > max_steps:
        verdict = "block"
        reasons.add("script_max_steps_exceeded")
        violations.add("script_max_steps_exceeded")
    if sc.require_approval_above > 0 and len(steps) > sc.require_approval_above:
        verdict = most_restrictive(verdict, "require_approval")
        reasons.add("script_step_threshold_approval")
        min_approvals = max(min_approvals, 1)
    if sc.block_mixed_risk and len(set(risks)) > 1:
        verdict = "block"
        reasons.add("script_mixed_risk_blocked")
        violations.add("script_mixed_risk")
    composite = max(risks, key=lambda r: RISK_RANK[r]) if risks else "low"
    return Decision(
        verdict=verdict,
        reason_codes=tuple(sorted(reasons)),
        violations=tuple(sorted(violations)),
        matched_rules=tuple(sorted(matched)),
        policy_digest=ir.policy_digest,
        intent=intent,
        min_approvals=min_approvals,
        require_distinct_approvers=distinct,
        require_broker_credential=broker,
        require_delegation=delegation,
        required_delegation_scopes=tuple(sorted(scopes)),
        broker_reference=reference,
        broker_scopes=tuple(sorted(broker_scopes)),
        rate_limit=rate,
        destructive_budget=budget,
        dataflow_triggered=dataflow,
        step_verdicts=tuple(step_verdicts),
        composite_risk_class=composite,
        flow_refs=tuple(sorted(refs)),
    )
