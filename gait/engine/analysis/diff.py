"""``gait policy diff A B``: every region of intents whose verdict changes.

Both tables are walked over one shared model of the intent space: first the
tiers of A, then inside each the tiers of B, then the conditions that adjust a
rule's effect after it matched (plan/apply phase, destructive targets, tainted
dataflow, endpoint lists). Each resulting region gets one witness intent; the
engine evaluates it under both policies, and regions whose verdicts differ are
reported, grouped by (old rules, new rules, old verdict, new verdict).
"""

from __future__ import annotations

from typing import Any

import msgspec

from gait.engine.analysis.regions import (
    FAIL_CLOSED,
    Entry,
    PolicyWalk,
    split,
    tool_state,
    walk,
)
from gait.engine.analysis.space import (
    EGRESS_KINDS,
    Lit,
    S,
    Solver,
    Space,
    T,
    Undecided,
)
from gait.errors import InternalFailure
from gait.policy.compiler import CompiledPolicy
from gait.policy.ir import Row


def _same_rows(a: tuple[Row, ...], b: tuple[Row, ...]) -> bool:
    if len(a) != len(b):
        return False
    return all(
        ra is rb or msgspec.structs.replace(ra, index=0) == msgspec.structs.replace(rb, index=0)
        for ra, rb in zip(a, b, strict=True)
    )


def _flow_changes(a: Any, b: Any) -> list[str]:
    """Names of rules whose flow predicates differ (or that have them on one side only)."""
    fa = {r.name: r.flow for r in a.rows if r.flow}
    fb = {r.name: r.flow for r in b.rows if r.flow}
    return sorted(n for n in fa.keys() | fb.keys() if fa.get(n) != fb.get(n))


def _same_tier(a: tuple[Entry, ...], b: tuple[Entry, ...], same_globals: bool) -> bool:
    """Both tiers hold rows with the same content (so the verdict agrees on the region)."""
    if not a and not b:
        return same_globals
    ra = [e.row for e in a]
    rb = [e.row for e in b]
    if None in ra or None in rb:
        return None in ra and None in rb  # fail-closed blocks on both sides
    return _same_rows(tuple(ra), tuple(rb))  # type: ignore[arg-type]


def _conditions(
    space: Space, rows: list[Row], cache: dict[int, Any]
) -> list[list[tuple[Lit, ...]]]:
    """Conditions that change a matched row's effect; each a list of alternatives."""
    base = cache.get(-1)
    if base is None:
        base = cache[-1] = [
            [(("S", S["phase"], space.smask("phase", lambda p: p == "plan"), True),)],
            [(("T", 0, space.tbox(destructive=0b10), True),)],
        ]
    conds = list(base)
    for row in rows:
        if row.dataflow is None and row.endpoint is None:
            continue
        got = cache.get(id(row))
        if got is None:
            got = cache[id(row)] = _row_conditions(space, row)
        conds.extend(got)
    return conds


def _row_conditions(space: Space, row: Row) -> list[list[tuple[Lit, ...]]]:
    from gait.engine.evaluate import _domain_codes, _endpoint_codes
    from gait.intent.model import Target

    conds: list[list[tuple[Lit, ...]]] = []
    kinds = space.treps[T["kind"]]
    values = space.treps[T["value"]]
    flow = row.dataflow
    if flow is not None:
        tainted: Lit = (
            "P",
            0,
            sum(1 << i for i, s in enumerate(space.preps) if s in flow.tainted_sources),
            True,
        )
        if not (flow.destination_kinds or flow.destination_values or flow.destination_operations):
            box = space.tbox(kind=space.tmask("kind", EGRESS_KINDS.__contains__))
        else:
            fields: dict[str, int] = {}
            if flow.destination_kinds:
                fields["kind"] = space.tmask("kind", flow.destination_kinds.__contains__)
            if flow.destination_values:
                fields["value"] = space.tmask("value", flow.destination_values.__contains__)
            if flow.destination_operations:
                fields["operation"] = space.tmask(
                    "operation", flow.destination_operations.__contains__
                )
            box = space.tbox(**fields)
        conds.append([(tainted, ("T", 0, box, True))])
    ep = row.endpoint
    if ep is not None:
        alts: list[tuple[Lit, ...]] = []
        for kind in kinds:
            if kind not in ("path", "url", "host"):
                continue
            m = 0
            for i, v in enumerate(values):
                codes = _endpoint_codes(ep, Target(kind=kind, value=v, endpoint_class="other"))
                if codes:
                    m |= 1 << i
            if m:
                alts.append(
                    (
                        (
                            "T",
                            0,
                            space.tbox(
                                kind=space.tmask("kind", lambda k, kk=kind: k == kk), value=m
                            ),
                            True,
                        ),
                    )
                )
        if ep.domain_allowlist or ep.domain_denylist:
            probe = Target(kind="other", value="x", endpoint_class="net.http")
            if _domain_codes(ep, probe):
                alts.append(
                    (
                        (
                            "T",
                            0,
                            space.tbox(
                                kind=space.tmask("kind", lambda k: k not in ("url", "host")),
                                endpoint_class=space.tmask(
                                    "endpoint_class", lambda c: c.startswith("net.")
                                ),
                            ),
                            True,
                        ),
                    )
                )
        if ep.egress_classes:
            m = space.tmask(
                "endpoint_class",
                lambda c, ep=ep: c.startswith("net.") and c not in ep.egress_classes,
            )
            if m:
                alts.append((("T", 0, space.tbox(endpoint_class=m), True),))
        if ep.destructive_action:
            alts.append((("T", 0, space.tbox(destructive=0b10), True),))
        if alts:
            conds.append(alts)
    return conds


def _tier_names(tier: tuple[Entry, ...]) -> tuple[str, ...]:
    if any(e.row is None for e in tier):
        return (FAIL_CLOSED,)
    return tuple(sorted({e.name for e in tier}))


def diff_policies(
    old: CompiledPolicy, new: CompiledPolicy, *, max_leaves: int = 5_000
) -> dict[str, Any]:
    """Regions whose verdict differs between ``old`` and ``new``."""
    from gait.engine.evaluate import _runtime, evaluate, matching_tier

    a, b = old.ir, new.ir
    space = Space([a, b])
    solver = Solver(space, budget=50_000)
    pa, pb = PolicyWalk(a, space), PolicyWalk(b, space)
    same_globals = a.default_verdict == b.default_verdict and a.fail_closed == b.fail_closed
    regions: dict[tuple[Any, ...], dict[str, Any]] = {}
    undecided: list[str] = []
    tools = space.tool_reps()
    fresh_tool = tools[-1]
    checked = 0
    cond_cache: dict[int, Any] = {}

    def engine_tier(
        compiled: CompiledPolicy, intent: dict[str, Any]
    ) -> tuple[str, tuple[str, ...]]:
        d = evaluate(compiled, intent)
        if (
            not d.matched_rules
            and d.intent is not None
            and any(
                r.startswith("fail_closed") or r == "context_evidence_missing"
                for r in d.reason_codes
            )
        ):
            return d.verdict, (FAIL_CLOSED,)
        assert d.intent is not None
        tier = matching_tier(_runtime(compiled), d.intent, compiled.ir)
        return d.verdict, tuple(sorted({r.name for r in tier}))

    for t_index, tool in enumerate(tools):
        rows_a, rows_b = pa.rows_for(tool), pb.rows_for(tool)
        if same_globals and _same_rows(rows_a, rows_b):
            continue
        label = "<any other tool>" if tool == fresh_tool else tool
        checked += 1
        solver.steps = 0
        try:
            ea, eb = pa.entries_for(tool), pb.entries_for(tool)
            for leaf_a in walk(solver, ea, tool_state(space, t_index), max_leaves=max_leaves):
                for leaf_b in walk(solver, eb, leaf_a.state, leaf_a.clauses, max_leaves=max_leaves):
                    if _same_tier(leaf_a.tier, leaf_b.tier, same_globals):
                        continue  # same rows decide on both sides: the same verdict everywhere
                    rows = [e.row for e in (*leaf_a.tier, *leaf_b.tier) if e.row is not None]
                    conds = _conditions(space, rows, cond_cache)
                    for st, cl in split(solver, leaf_b.state, leaf_b.clauses, conds):
                        state = solver.solve(st, cl)
                        if state is None:  # pragma: no cover
                            continue
                        witness = space.witness(state)
                        va, ta = engine_tier(old, witness)
                        vb, tb = engine_tier(new, witness)
                        if ta != _tier_names(leaf_a.tier) or tb != _tier_names(leaf_b.tier):
                            raise InternalFailure(
                                f"policy diff: witness for tool {label!r} not confirmed by the "
                                f"engine (expected {_tier_names(leaf_a.tier)}/"
                                f"{_tier_names(leaf_b.tier)}, got {ta}/{tb})"
                            )
                        if va == vb:
                            continue
                        key = (ta, tb, va, vb)
                        region = regions.get(key)
                        if region is None:
                            regions[key] = {
                                "old_verdict": va,
                                "new_verdict": vb,
                                "old_rules": list(ta),
                                "new_rules": list(tb),
                                "tools": [label],
                                "witness": witness,
                            }
                        elif label not in region["tools"]:
                            region["tools"].append(label)
        except Undecided:
            undecided.append(label)

    out = sorted(
        regions.values(),
        key=lambda r: (r["old_rules"], r["new_rules"], r["old_verdict"], r["new_verdict"]),
    )
    for r in out:
        r["tools"] = sorted(r["tools"])
    notes: list[str] = []
    if space.sampled_values:
        notes.append(
            "endpoint path/domain lists are checked on sample values drawn from their patterns: "
            "a change that only shows on other values is not listed"
        )
    if space.sampled_delegation:
        notes.append("delegation selectors are checked on sampled delegation chains")
    if a.scripts != b.scripts:
        notes.append(
            "scripts settings differ (max_steps, require_approval_above, block_mixed_risk): "
            "script intents may change verdict beyond the regions listed"
        )
    if undecided:
        notes.append(
            "analysis budget exhausted (not decided) for tool(s): " + ", ".join(sorted(undecided))
        )
    flow_changed = _flow_changes(a, b)
    if any(r.flow for r in (*a.rows, *b.rows)):
        notes.append(
            "flow rules (match.after / not_after) depend on session history, which diff does not "
            "enumerate: regions compare the decisions made without history (a flow rule whose "
            "other fields match blocks with flow_history_unavailable)"
        )
    if flow_changed:
        notes.append(
            "flow predicates differ for rule(s) "
            + ", ".join(repr(n) for n in flow_changed)
            + ": verdicts may change for some session histories"
        )
    extra = {"flow_changed": flow_changed} if flow_changed else {}
    return {
        **extra,
        "changed": bool(out) or bool(flow_changed),
        "regions": out,
        "old_policy_digest": a.policy_digest,
        "new_policy_digest": b.policy_digest,
        "tools_compared": checked,
        "notes": notes,
        "undecided_tools": sorted(undecided),
    }
