"""``gait policy lint``: findings about a compiled decision table, each with a witness.

Every witness intent is run through the engine before it is reported; a
witness that does not show what the finding claims is a bug in the analysis
and raises :class:`gait.errors.InternalFailure` instead of being printed.
"""

from __future__ import annotations

from typing import Any

from gait.engine.analysis.regions import FAIL_CLOSED, Entry, PolicyWalk, tool_state, walk
from gait.engine.analysis.space import (
    DESTRUCTIVE_CLASSES,
    Lit,
    Solver,
    Space,
    Undecided,
    initial_state,
)
from gait.errors import InternalFailure
from gait.policy.compiler import CompiledPolicy
from gait.policy.ir import PROVENANCE_SOURCE, Row

LEVELS = ("error", "warning", "info")
_MAX_SHADOWERS = 10
_LEVEL_RANK = {name: i for i, name in enumerate(LEVELS)}


def _finding(level: str, code: str, rules: list[str], message: str, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"level": level, "code": code, "rules": rules, "message": message}
    out.update({k: v for k, v in extra.items() if v is not None})
    return out


class _Confirm:
    """Runs witnesses through the engine (the same path ``policy test`` takes)."""

    def __init__(self, compiled: CompiledPolicy) -> None:
        self.compiled = compiled

    def tier(self, intent: dict[str, Any]) -> tuple[str, tuple[int, ...], Any]:
        from gait.engine.evaluate import _runtime, evaluate, matching_tier

        decision = evaluate(self.compiled, intent)
        if decision.intent is None or (
            not decision.matched_rules
            and any(
                r.startswith("fail_closed") or r == "context_evidence_missing"
                for r in decision.reason_codes
            )
        ):
            return decision.verdict, (), decision
        tier = matching_tier(_runtime(self.compiled), decision.intent, self.compiled.ir)
        return decision.verdict, tuple(r.index for r in tier), decision


def lint_policy(
    compiled: CompiledPolicy, *, max_leaves: int = 5_000, budget: int = 20_000
) -> dict[str, Any]:
    """Analyse ``compiled``; returns ``{"findings": [...], "summary": {...}}``."""
    ir = compiled.ir
    space = Space([ir])
    solver = Solver(space, budget=budget)
    pw = PolicyWalk(ir, space)
    confirm = _Confirm(compiled)
    rows = ir.rows

    reachable: set[int] = set()
    conflicts: dict[tuple[int, int], Any] = {}
    default_reachable = False
    undecided_rows: set[int] = set()
    undecided_tools: list[str] = []
    risky = {row.index: c for row in rows if (c := _risky_classes(row))}
    risky_regions: dict[int, Any] = {}
    split = {row.index for row in rows if _split_target(row)}
    split_regions: dict[int, Any] = {}
    tools = space.tool_reps()
    fresh_tool = tools[-1]
    for t_index, tool in enumerate(tools):
        entries = pw.entries_for(tool)
        solver.steps = 0
        try:
            for leaf in walk(solver, entries, tool_state(space, t_index), max_leaves=max_leaves):
                if not leaf.tier:
                    default_reachable = True
                    continue
                idx = [e.row.index for e in leaf.tier if e.row is not None]
                reachable.update(idx)
                for i in idx:
                    if i in split and i not in split_regions:
                        split_regions[i] = leaf.sol
                for i in idx:
                    if i in risky and i not in risky_regions:
                        box = space.tbox(
                            endpoint_class=space.tmask("endpoint_class", risky[i].__contains__)
                        )
                        st = solver.apply(leaf.sol, ("T", 0, box, True))
                        if st is None:
                            st = solver.apply(leaf.state, ("T", 0, box, True))
                            st = solver.solve(st, leaf.clauses) if st is not None else None
                        if st is not None:
                            risky_regions[i] = st
                for a_pos, a in enumerate(idx):
                    for b in idx[a_pos + 1 :]:
                        if rows[a].effect != rows[b].effect and (a, b) not in conflicts:
                            conflicts[(a, b)] = leaf.sol
        except Undecided:
            # Too many tiers to enumerate (e.g. many overlapping rules at one priority):
            # ask the two questions lint needs directly, one rule or pair at a time.
            start = tool_state(space, t_index)
            got = _direct(solver, entries, start)
            reachable.update(got.reachable)
            default_reachable = default_reachable or got.default_reachable
            for pair, st in got.conflicts.items():
                conflicts.setdefault(pair, st)
            for i, st in got.regions.items():
                if i in split and i not in split_regions:
                    split_regions[i] = st
            if got.undecided:
                undecided_tools.append("<any other tool>" if tool == fresh_tool else tool)
                undecided_rows.update(got.undecided)

    findings: list[dict[str, Any]] = []

    # --- rules that never decide
    for row in rows:
        if row.index in reachable or row.index in undecided_rows:
            continue
        findings.append(_never_decides(row, ir, space, solver, pw, confirm))

    # --- conflicts
    for (a, b), state in sorted(conflicts.items()):
        ra, rb = rows[a], rows[b]
        witness = space.witness(state)
        verdict, tier, _ = confirm.tier(witness)
        if a not in tier or b not in tier:
            raise InternalFailure(
                f"policy lint: conflict witness for {ra.name!r}/{rb.name!r} not confirmed by the engine"
            )
        findings.append(
            _finding(
                "warning",
                "conflicting_rules",
                [ra.name, rb.name],
                f"rules {ra.name!r} ({ra.effect}) and {rb.name!r} ({rb.effect}) both match at "
                f"priority {ra.priority}; the more restrictive effect wins ({verdict} here)",
                witness=witness,
                verdict=verdict,
            )
        )

    # --- default verdict
    if rows and not default_reachable and not undecided_tools:
        findings.append(
            _finding(
                "warning",
                "default_unreachable",
                [],
                f"default_verdict {ir.default_verdict} is never used: "
                "the rules (and fail-closed) decide every intent",
            )
        )

    # --- reason codes reused with different effects
    by_code: dict[str, dict[str, list[str]]] = {}
    for row in rows:
        for code in row.reasons:
            by_code.setdefault(code, {}).setdefault(row.effect, []).append(row.name)
    for code, effects in sorted(by_code.items()):
        if len(effects) > 1:
            names = sorted({n for ns in effects.values() for n in ns})
            detail = ", ".join(
                f"{eff}: {', '.join(sorted(ns))}" for eff, ns in sorted(effects.items())
            )
            findings.append(
                _finding(
                    "warning",
                    "reason_code_reused",
                    names,
                    f"reason code {code!r} is used by rules with different effects ({detail})",
                )
            )

    # --- risky shapes
    for i, st in sorted(risky_regions.items()):
        row = rows[i]
        witness = space.witness(st)
        verdict, tier, _ = confirm.tier(witness)
        if i not in tier:
            raise InternalFailure(
                f"policy lint: risky-allow witness for {row.name!r} not confirmed"
            )
        findings.append(
            _finding(
                "warning",
                "risky_allow_destructive",
                [row.name],
                f"rule {row.name!r} allows {'/'.join(sorted(risky[i]))} targets with no target "
                "value, path or provenance condition (only the destructive-apply approval "
                f"stands in the way; {verdict} here)",
                witness=witness,
                verdict=verdict,
            )
        )

    # --- kinds and classes that no single target has by inference
    for i, state in sorted(split_regions.items()):
        row = rows[i]
        witness = space.witness(state)
        verdict, tier, _ = confirm.tier(witness)
        if i not in tier:
            raise InternalFailure(
                f"policy lint: split-target witness for {row.name!r} not confirmed"
            )
        kinds, classes = _split_target(row)
        findings.append(
            _finding(
                "info",
                "split_target_match",
                [row.name],
                f"rule {row.name!r} wants target kind {'/'.join(kinds)} and endpoint class "
                f"{'/'.join(classes)}, which no single target gets by inference: it matches "
                "only calls with two targets (or a declared unusual class); conditions on "
                "targets are checked one field at a time",
                witness=witness,
                verdict=verdict,
            )
        )

    # --- what was not decided
    if undecided_tools:
        names = sorted({rows[i].name for i in undecided_rows})
        findings.append(
            _finding(
                "info",
                "undecided",
                names,
                "analysis budget exhausted for tool(s) "
                + ", ".join(sorted(undecided_tools)[:10])
                + ": shadowing and conflicts of these rules are not decided",
            )
        )

    findings = _history_dependent(findings, rows)
    findings.sort(key=lambda f: (_LEVEL_RANK[f["level"]], f["code"], f["rules"], f["message"]))
    counts = {level: sum(1 for f in findings if f["level"] == level) for level in LEVELS}
    return {
        "findings": findings,
        "counts": counts,
        "rules": len(rows),
        "policy_digest": ir.policy_digest,
        "sampled": _sampled_notes(space),
    }


def _history_dependent(
    findings: list[dict[str, Any]], rows: tuple[Row, ...]
) -> list[dict[str, Any]]:
    """Soften claims that rest on flow rules (match.after / not_after, docs/flow-rules.md).

    The walk treats a flow rule as matching whenever its other fields do; whether
    it does depends on the session's earlier calls. A rule it "shadows" still
    decides when the history condition fails, so that is not an error; a default
    it "covers" can still be used; a conflict with it needs that history.
    """
    flow = {row.name for row in rows if row.flow}
    if not flow:
        return findings
    out = []
    for f in findings:
        involved = sorted(flow & set(f["rules"]))
        code = f["code"]
        if code in ("shadowed_rule", "possibly_shadowed") and flow & set(f.get("shadowed_by", ())):
            by = ", ".join(repr(n) for n in sorted(flow & set(f["shadowed_by"])))
            f = {
                **f,
                "level": "info",
                "code": "shadowed_depending_on_history",
                "message": f["message"] + f"; depends on session history: it decides whenever "
                f"the flow predicates of {by} do not hold",
            }
        elif code == "conflicting_rules" and involved:
            f = {
                **f,
                "message": f["message"]
                + " (for session histories where the flow predicates of "
                + ", ".join(repr(n) for n in involved)
                + " hold)",
            }
        elif code == "default_unreachable":
            f = {
                **f,
                "level": "info",
                "message": f["message"]
                + "; depends on session history: flow rules "
                + ", ".join(repr(n) for n in sorted(flow))
                + " do not match when their flow predicates fail",
            }
        out.append(f)
    out.append(
        _finding(
            "info",
            "flow_rules",
            sorted(flow),
            "rules with flow predicates (match.after / not_after) match only for some session "
            "histories; lint analyses them as if their predicates held and reports nothing "
            "about them as certain",
        )
    )
    return out


class _Direct:
    def __init__(self) -> None:
        self.reachable: set[int] = set()
        self.regions: dict[int, Any] = {}
        self.conflicts: dict[tuple[int, int], Any] = {}
        self.undecided: set[int] = set()
        self.default_reachable = False


_MAX_PAIRS = 20_000


def _direct(solver: Solver, entries: tuple[Entry, ...], start: Any) -> _Direct:
    """Reachability of each row and conflicts of each pair, each as its own query."""
    out = _Direct()

    def region(lits: tuple[Lit, ...], earlier: tuple[Entry, ...]) -> Any:
        st = solver.apply_all(start, lits)
        clauses: list[tuple[Lit, ...]] = []
        for e in earlier:
            if st is None:
                return None
            if any(solver.is_false(st, lit) for lit in e.lits):
                continue
            open_lits = tuple(lit for lit in e.lits if not solver.is_true(st, lit))
            if not open_lits:
                return None
            if len(open_lits) == 1:
                st = solver.apply(st, open_lits[0], positive=False)
            else:
                clauses.append(open_lits)
        solver.steps = 0
        return solver.solve(st, tuple(clauses))

    first_of: dict[Any, int] = {}
    for n, e in enumerate(entries):
        first_of.setdefault(e.priority, n)
    rows = [(n, e) for n, e in enumerate(entries) if e.row is not None]
    for _n, e in rows:
        try:
            st = region(e.lits, entries[: first_of[e.priority]])
        except Undecided:
            out.undecided.add(e.row.index)  # type: ignore[union-attr]
            continue
        if st is not None:
            out.reachable.add(e.row.index)  # type: ignore[union-attr]
            out.regions[e.row.index] = st  # type: ignore[union-attr]
    pairs = [
        (a, b)
        for pos, (_, a) in enumerate(rows)
        for _, b in rows[pos + 1 :]
        if a.priority == b.priority
        and a.effect != b.effect
        and a.row.index in out.reachable
        and b.row.index in out.reachable  # type: ignore[union-attr]
    ]
    if len(pairs) > _MAX_PAIRS:
        out.undecided.update(a.row.index for a, _ in pairs)  # type: ignore[union-attr]
        out.undecided.update(b.row.index for _, b in pairs)  # type: ignore[union-attr]
        pairs = []
    for a, b in pairs:
        ia, ib = a.row.index, b.row.index  # type: ignore[union-attr]
        try:
            st = region(a.lits + b.lits, entries[: first_of[a.priority]])
        except Undecided:
            out.undecided.update((ia, ib))
            continue
        if st is not None:
            out.conflicts[(min(ia, ib), max(ia, ib))] = st
    try:
        out.default_reachable = region((), entries) is not None
    except Undecided:
        out.undecided.update(e.row.index for _, e in rows)  # type: ignore[union-attr]
    return out


def _sampled_notes(space: Space) -> list[str]:
    notes = []
    if space.sampled_delegation:
        notes.append(
            "delegation selectors (identities, scopes, depth) are checked on sampled chains: "
            "a rule they might shadow is reported as possibly_shadowed (info), not as an error"
        )
    return notes


def _never_decides(
    row: Row, ir: Any, space: Space, solver: Solver, pw: PolicyWalk, confirm: _Confirm
) -> dict[str, Any]:
    lits = space.row_lits(row)
    solver.steps = 0
    own = solver.apply_all(initial_state(space), lits)
    if own is None:
        d = row.delegation
        exact = (
            d is None
            or not space.sampled_delegation
            or (d.max_depth == 0 and bool(d.delegators))  # no chain, yet a delegator required
        )
        return _finding(
            "error" if exact else "info",
            "impossible_match" if exact else "possibly_impossible",
            [row.name],
            f"rule {row.name!r} can never match: its match fields cannot hold together",
        )
    witness = space.witness(own)
    verdict, tier, _decision = confirm.tier(witness)
    if row.index in tier:
        raise InternalFailure(
            f"policy lint: rule {row.name!r} reported as never deciding, but the engine chose it"
        )
    # rows of earlier tiers that overlap this rule's region
    shadowers: list[str] = []
    if any(e.name == FAIL_CLOSED for e in pw.fc) and not tier:
        shadowers.append(FAIL_CLOSED)
    tool_rows = _candidate_rows(row, ir)
    # the witness's deciding rows first, then other earlier rows that overlap (at most 10)
    shadowers.extend(ir.rows[i].name for i in tier)
    for other in tool_rows:
        if len(shadowers) >= _MAX_SHADOWERS:
            break
        if other.priority < row.priority and solver.apply_all(own, space.row_lits(other)):
            shadowers.append(other.name)
    shadowers = sorted(set(shadowers))
    delegation_involved = space.sampled_delegation and (
        row.delegation is not None
        or any(r.delegation is not None for r in tool_rows if r.priority < row.priority)
    )
    by = ", ".join(repr(s) for s in shadowers) or "earlier rules"
    if delegation_involved:
        return _finding(
            "info",
            "possibly_shadowed",
            [row.name, *[s for s in shadowers if s != row.name]],
            f"rule {row.name!r} looks shadowed by {by}, but delegation selectors are only "
            "sampled: not decided",
            witness=witness,
            verdict=verdict,
        )
    taken = (
        "fail-closed blocks it"
        if not tier
        else "decided by " + ", ".join(sorted({ir.rows[i].name for i in tier}))
    )
    return _finding(
        "error",
        "shadowed_rule",
        [row.name, *[s for s in shadowers if s != row.name]],
        f"rule {row.name!r} (priority {row.priority}) never decides: every intent it matches "
        f"is taken first by {by}; witness: {taken}",
        witness=witness,
        verdict=verdict,
        shadowed_by=shadowers,
    )


def _candidate_rows(row: Row, ir: Any) -> list[Row]:
    tools = next((p.values for p in row.predicates if p.subject == "tool_name"), None)
    if tools is None:
        return list(ir.rows)
    index = dict(ir.tool_index)
    ids = {i for t in tools for i in index.get(t, ())} | set(ir.any_tool_rows)
    return [ir.rows[i] for i in sorted(ids)]


_NATURAL_CLASSES = {
    "path": {"fs.read", "fs.write", "fs.delete", "other"},
    "url": {"net.http", "net.dns"},
    "host": {"net.http", "net.dns"},
    "other": {"proc.exec", "other"},
}


def _split_target(row: Row) -> tuple[list[str], list[str]] | None:
    """(kinds, classes) when no listed kind infers any listed class, else None."""
    kinds = [p.values for p in row.predicates if p.subject == "target.kind"]
    classes = [p.values for p in row.predicates if p.subject == "target.endpoint_class"]
    if not kinds or not classes:
        return None
    for ks in kinds:
        for cs in classes:
            if not any(_NATURAL_CLASSES.get(k, {"other"}) & cs for k in ks):
                return sorted(ks), sorted(cs)
    return None


def _risky_classes(row: Row) -> frozenset[str]:
    """Destructive classes an ``allow`` row admits with no value/path/provenance guard."""
    if row.effect != "allow":
        return frozenset()
    classes = next(
        (p.values for p in row.predicates if p.subject == "target.endpoint_class"), frozenset()
    )
    guarded = any(p.subject in ("target.value", PROVENANCE_SOURCE) for p in row.predicates) or (
        row.endpoint is not None and bool(row.endpoint.path_allowlist or row.endpoint.path_denylist)
    )
    return frozenset() if guarded else frozenset(classes & DESTRUCTIVE_CLASSES)
