"""Enumerate the regions of intent space by which rows form the deciding tier.

For one tool-name representative, the rows that can apply are walked in
evaluation order; at each row the region splits into "this row matches" and
"it does not", and regions the solver proves empty are dropped. Each leaf is a
reachable tier (possibly empty: the default verdict, or fail-closed) with a
non-empty region behind it.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from typing import Any

from gait.engine.analysis.space import Lit, S, Solver, Space, State, Undecided, initial_state
from gait.policy.ir import PolicyIR, Row

FAIL_CLOSED = "<fail_closed>"


class Entry:
    """A row of the walk: a table row, or one way fail-closed blocks."""

    __slots__ = ("effect", "lits", "name", "priority", "row")

    def __init__(
        self, row: Row | None, lits: tuple[Lit, ...], priority: Any, name: str, effect: str
    ):
        self.row = row
        self.lits = lits
        self.priority = priority
        self.name = name
        self.effect = effect


class Leaf:
    """A reachable tier, its region (state + clauses) and a sub-region where all clauses hold."""

    __slots__ = ("clauses", "sol", "state", "tier")

    def __init__(
        self,
        tier: tuple[Entry, ...],
        state: State,
        clauses: tuple[tuple[Lit, ...], ...],
        sol: State,
    ):
        self.tier = tier
        self.state = state
        self.clauses = clauses
        self.sol = sol


class PolicyWalk:
    """Per-policy data for walking: entries per tool representative."""

    def __init__(self, ir: PolicyIR, space: Space) -> None:
        self.ir = ir
        self.space = space
        self.fc = tuple(
            Entry(None, lits, "fc", FAIL_CLOSED, "block")
            for lits in space.fail_closed_alternatives(ir)
        )
        self.by_tool = dict(ir.tool_index)
        self._entries: dict[int, Entry] = {}
        self._any_entries: tuple[Entry, ...] | None = None
        self._any_ids: list[int] = []

    def entry(self, row: Row) -> Entry:
        got = self._entries.get(row.index)
        if got is None:
            got = Entry(row, self.space.row_lits(row), row.priority, row.name, row.effect)
            self._entries[row.index] = got
        return got

    def rows_for(self, tool: str) -> tuple[Row, ...]:
        named = self.by_tool.get(tool, ())
        ids = sorted((*named, *self.ir.any_tool_rows)) if named else self.ir.any_tool_rows
        return tuple(self.ir.rows[i] for i in ids)

    def entries_for(self, tool: str) -> tuple[Entry, ...]:
        if self._any_entries is None:
            self._any_entries = tuple(self.entry(self.ir.rows[i]) for i in self.ir.any_tool_rows)
            self._any_ids = list(self.ir.any_tool_rows)
        named = self.by_tool.get(tool, ())
        if not named:
            return self.fc + self._any_entries
        out = list(self._any_entries)
        # named rows are few: insert each at its place in evaluation order
        for i in sorted(named, reverse=True):
            out.insert(bisect.bisect_left(self._any_ids, i), self.entry(self.ir.rows[i]))
        return self.fc + tuple(out)


def tool_state(space: Space, tool_rep_index: int) -> State:
    st = initial_state(space)
    idx = S["tool_name"]
    scal = (*st.scal[:idx], 1 << tool_rep_index, *st.scal[idx + 1 :])
    return State(scal, st.tpos, st.tforb, st.ppos, st.pforb)


def walk(
    solver: Solver,
    entries: tuple[Entry, ...],
    state: State,
    clauses: tuple[tuple[Lit, ...], ...] = (),
    max_leaves: int = 5_000,
) -> Iterator[Leaf]:
    """Yield every reachable tier with its (non-empty) region.

    Each pending region carries ``sol``: a sub-region where every clause holds.
    While a new clause or row still agrees with it, no new search is needed.
    """
    count = 0
    first = solver.solve(state, clauses)
    if first is None:
        return
    stack: list[tuple[int, State, tuple[tuple[Lit, ...], ...], tuple[Entry, ...], State]] = [
        (0, state, clauses, (), first)
    ]
    while stack:
        i, st, cl, tier, sol = stack.pop()
        done = False
        while i < len(entries):
            e = entries[i]
            i += 1
            if tier and e.priority != tier[0].priority:
                break
            if any(solver.is_false(st, lit) for lit in e.lits):
                continue
            matched = solver.apply_all(st, e.lits)
            if matched is not None:
                msol = solver.apply_all(sol, e.lits) or solver.solve(matched, cl)
                if msol is not None:
                    stack.append((i, matched, cl, (*tier, e), msol))
            open_lits = tuple(lit for lit in e.lits if not solver.is_true(st, lit))
            if not open_lits:
                done = True  # the row surely matches here: no "does not match" region
                break
            if len(open_lits) == 1:
                st2 = solver.apply(st, open_lits[0], positive=False)
                if st2 is None:
                    done = True
                    break
                st = st2
                sol2 = solver.apply(sol, open_lits[0], positive=False)
            else:
                cl = (*cl, open_lits)
                sol2 = sol if any(solver.is_false(sol, lit) for lit in open_lits) else None
            if sol2 is None:
                sol2 = solver.solve(st, cl)
                if sol2 is None:
                    done = True
                    break
            sol = sol2
        if done:
            continue
        count += 1
        if count > max_leaves:
            raise Undecided("too many regions")
        yield Leaf(tier, st, cl, sol)


def split(
    solver: Solver,
    leaf_state: State,
    clauses: tuple[tuple[Lit, ...], ...],
    conds: list[list[tuple[Lit, ...]]],
) -> Iterator[tuple[State, tuple[tuple[Lit, ...], ...]]]:
    """Split a region on conditions (each a disjunction of conjunctions), both ways."""
    pending = [(0, leaf_state, clauses)]
    while pending:
        i, st, cl = pending.pop()
        if i == len(conds):
            got = solver.solve(st, cl)
            if got is not None:
                yield st, cl
            continue
        alts = conds[i]
        # holds: one branch per alternative (regions may overlap; witnesses differ)
        for alt in alts:
            st1 = solver.apply_all(st, alt)
            if st1 is not None and solver.solve(st1, cl) is not None:
                pending.append((i + 1, st1, cl))
        # does not hold: every alternative fails
        st0: State | None = st
        cl0 = cl
        for alt in alts:
            if st0 is None:
                break
            open_lits = tuple(lit for lit in alt if not solver.is_true(st0, lit))
            if not open_lits:
                st0 = None
            elif len(open_lits) == 1:
                st0 = solver.apply(st0, open_lits[0], positive=False)
            else:
                cl0 = (*cl0, open_lits)
        if st0 is not None and solver.solve(st0, cl0) is not None:
            pending.append((i + 1, st0, cl0))


def concrete(solver: Solver, st: State, clauses: tuple[tuple[Lit, ...], ...]) -> State:
    got = solver.solve(st, clauses)
    if got is None:
        raise Undecided("region became empty")
    return got
