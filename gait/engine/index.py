"""Candidate rows for an intent: the rows that can match it, in evaluation order.

A row can only match an intent whose tool name, some target's kind or endpoint
class, some argument's provenance source, or risk class is among the values the
row names for that field. Each row is filed under one such field (the first it
constrains, in ``DIMENSIONS`` order); rows constraining none are candidates for
every intent. Selection unions the rows filed under the intent's own values and
sorts them by row index, which is evaluation order, so the first matching tier
is exactly the one a scan of the whole table finds.

Small tables keep the per-tool lists (one dict lookup); the multi-field index
pays off only when a table has many rows without a tool name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from gait.intent.model import Intent
from gait.policy.ir import PROVENANCE_SOURCE, RISK_CLASS, TOOL_NAME, PolicyIR, Row

# Field a row is filed under, most selective first.
DIMENSIONS = (TOOL_NAME, "target.endpoint_class", "target.kind", PROVENANCE_SOURCE, RISK_CLASS)
# Below this many rows a per-tool list is as fast as any index.
SMALL_TABLE = 64
_MEMO_LIMIT = 1024  # distinct intent shapes remembered; bounds memory on huge tables

Selector = Callable[[Intent], tuple[Row, ...]]


def tool_lists(ir: PolicyIR) -> tuple[Mapping[str, tuple[Row, ...]], tuple[Row, ...]]:
    """Per tool name: rows naming it plus rows naming no tool; and the latter alone.

    Built up front for small tables; for big ones each tool's list is built on
    first use (all of them at once is tools x tool-less rows).
    """
    rows = ir.rows
    anyr = ir.any_tool_rows
    default_rows = tuple(rows[i] for i in anyr)
    if len(rows) > SMALL_TABLE:
        return _ToolLists(ir), default_rows
    candidates = {
        tool: tuple(rows[i] for i in sorted(set(ids) | set(anyr))) for tool, ids in ir.tool_index
    }
    return candidates, default_rows


class _ToolLists(Mapping[str, tuple[Row, ...]]):
    __slots__ = ("_any", "_built", "_ids", "_rows")

    def __init__(self, ir: PolicyIR) -> None:
        self._ids = dict(ir.tool_index)
        self._rows = ir.rows
        self._any = ir.any_tool_rows
        self._built: dict[str, tuple[Row, ...]] = {}

    def __getitem__(self, tool: str) -> tuple[Row, ...]:
        hit = self._built.get(tool)
        if hit is None:
            ids = self._ids[tool]
            rows = self._rows
            hit = self._built[tool] = tuple(rows[i] for i in sorted({*ids, *self._any}))
        return hit

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)


def build_selector(
    ir: PolicyIR, candidates: Mapping[str, tuple[Row, ...]], default_rows: tuple[Row, ...]
) -> Selector:
    """``select(intent)``: the candidate rows, from :func:`tool_lists` for small tables."""
    if len(ir.rows) <= SMALL_TABLE:
        get = candidates.get
        return lambda intent: get(intent.tool_name, default_rows)
    return _FieldIndex(ir).select


class _FieldIndex:
    __slots__ = ("always", "by_field", "memo", "rows")

    def __init__(self, ir: PolicyIR) -> None:
        self.rows = ir.rows
        by_field: dict[str, dict[str, list[int]]] = {d: {} for d in DIMENSIONS}
        always: list[int] = []
        for row in ir.rows:
            subjects = {p.subject: p.values for p in row.predicates if p.values}
            dim = next((d for d in DIMENSIONS if d in subjects), None)
            if dim is None:
                always.append(row.index)
                continue
            table = by_field[dim]
            for value in subjects[dim]:
                table.setdefault(value, []).append(row.index)
        self.by_field = {d: {v: tuple(ids) for v, ids in t.items()} for d, t in by_field.items()}
        self.always = tuple(always)
        self.memo: dict[tuple[object, ...], tuple[Row, ...]] = {}

    def select(self, intent: Intent) -> tuple[Row, ...]:
        targets = intent.targets
        key = (
            intent.tool_name,
            frozenset(t.endpoint_class for t in targets),
            frozenset(t.kind for t in targets),
            frozenset(p.source for p in intent.arg_provenance),
            intent.context.risk_class,
        )
        hit = self.memo.get(key)
        if hit is not None:
            return hit
        f = self.by_field
        ids: set[int] = set(self.always)
        ids.update(f[TOOL_NAME].get(key[0], ()))
        for dim, values in zip(DIMENSIONS[1:4], key[1:4], strict=True):
            table = f[dim]
            for value in values:
                ids.update(table.get(value, ()))
        ids.update(f[RISK_CLASS].get(key[4], ()))
        rows = self.rows
        found = tuple(rows[i] for i in sorted(ids))
        if len(self.memo) >= _MEMO_LIMIT:
            self.memo.clear()
        self.memo[key] = found
        return found
