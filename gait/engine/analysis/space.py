"""A finite model of the intent space, exact for the decision table's predicates.

Every field a predicate looks at is reduced to *representatives*: the constants
the policies name plus one fresh value (and, for workspace prefixes, each
prefix itself). Any real intent behaves, for every predicate of the policies,
like one assignment of representatives, so satisfiability over representatives
is satisfiability over intents.

Domains are bit masks over a field's representatives. Scalar fields (tool name,
risk class, ...) hold one value. Target and provenance predicates are "some
target/entry has ..." conditions: a state keeps the boxes some target must lie
in and the boxes no target may lie in, so any mix of positive and negated
target predicates is decided exactly.

Delegation chains and endpoint path/domain globs are not reduced exactly: they
are sampled (a bounded candidate set) and every result that depends on them is
marked so callers can say "undecided" instead of guessing.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from gait.engine.matchers import _delegation_matcher
from gait.intent.model import Delegation, DelegationLink
from gait.policy.ir import (
    DELEGATION,
    IDENTITY,
    PROVENANCE_SOURCE,
    RISK_CLASS,
    SKILL_PUBLISHER,
    SKILL_SOURCE,
    TARGET_FIELDS,
    TOOL_ANNOTATIONS,
    TOOL_NAME,
    WORKSPACE_PREFIX,
    WRKR_PREFIX,
    PolicyIR,
    Row,
)
from gait.vocab import DISCOVERY_METHODS, ENDPOINT_CLASSES, PROVENANCE_SOURCES, TARGET_KINDS


class Undecided(Exception):
    """The search budget ran out: the question is left open, not answered."""


ABSENT = None  # representative of "field not present in the intent"

WRKR_KEYS = ("wrkr.tool_name", "wrkr.data_class", "wrkr.endpoint_class", "wrkr.autonomy_level")
SCALARS = (
    "tool_name",
    "risk_class",
    "identity",
    "workspace",
    "phase",
    "skill_publisher",
    "skill_source",
    *WRKR_KEYS,
    "delegation",
)
S = {name: i for i, name in enumerate(SCALARS)}

TFIELDS = (
    "kind",
    "value",
    "endpoint_class",
    "discovery_method",
    "sensitivity",
    "operation",
    "read_only_hint",
    "destructive_hint",
    "idempotent_hint",
    "open_world_hint",
    "destructive",
)
T = {name: i for i, name in enumerate(TFIELDS)}

DESTRUCTIVE_OPS = frozenset(
    ("delete", "remove", "rm", "unlink", "rmdir", "drop", "truncate", "exec", "spawn")
)
DESTRUCTIVE_CLASSES = frozenset(("fs.delete", "proc.exec"))
EGRESS_KINDS = frozenset({"host", "url", "bucket", "queue", "topic"})

# Literal: (kind, index, mask, positive). kind "S" scalar (index = field), "T" some
# target in the box ``mask`` (a tuple of masks, index unused), "P" some provenance
# entry with source in mask.
Lit = tuple[str, int, Any, bool]


def _mask(reps: tuple[Any, ...], test: Any) -> int:
    m = 0
    for i, r in enumerate(reps):
        if test(r):
            m |= 1 << i
    return m


def _fresh(taken: set[str], stem: str) -> str:
    n = 0
    while True:
        cand = f"{stem}{n}" if n else stem
        if cand not in taken:
            return cand
        n += 1


def _glob_sample(pattern: str) -> str:
    """A string the glob is meant to match (a sample, not a proof)."""
    if pattern.endswith("/**"):
        return pattern[:-3] + "/lint"
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            out.append("lint")
        elif c == "?":
            out.append("x")
        elif c == "[":
            j = pattern.find("]", i + 2)
            body = pattern[i + 1 : j] if j > 0 else ""
            pick = body.lstrip("^")[:1] or "x"
            out.append("x" if body.startswith("^") and pick == "x" else pick)
            i = j if j > 0 else len(pattern)
        elif c == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(pattern[i])
        else:
            out.append(c)
        i += 1
    return "".join(out)


class Space:
    """Representatives for every field the given tables constrain."""

    def __init__(self, irs: list[PolicyIR]) -> None:
        consts: dict[str, set[str]] = {name: set() for name in SCALARS}
        tconsts: dict[str, set[str]] = {name: set() for name in TFIELDS}
        prefixes: set[str] = set()
        delegations = []
        path_patterns: set[str] = set()
        domain_patterns: set[str] = set()
        for ir in irs:
            consts["risk_class"].update(ir.fail_closed.risk_classes)
            for row in ir.rows:
                for p in row.predicates:
                    s = p.subject
                    if s == TOOL_NAME:
                        consts["tool_name"].update(p.values)
                    elif s == RISK_CLASS:
                        consts["risk_class"].update(p.values)
                    elif s == IDENTITY:
                        consts["identity"].update(p.values)
                    elif s == WORKSPACE_PREFIX:
                        prefixes.update(p.prefixes)
                    elif s in TARGET_FIELDS:
                        tconsts[TARGET_FIELDS[s]].update(p.values)
                    elif s == SKILL_PUBLISHER:
                        consts["skill_publisher"].update(p.values)
                    elif s == SKILL_SOURCE:
                        consts["skill_source"].update(p.values)
                    elif s.startswith(WRKR_PREFIX):
                        consts[s[len(WRKR_PREFIX) :]].update(p.values)
                if row.delegation is not None:
                    delegations.append(row.delegation)
                if row.dataflow is not None:
                    tconsts["kind"].update(row.dataflow.destination_kinds)
                    tconsts["value"].update(row.dataflow.destination_values)
                    tconsts["operation"].update(row.dataflow.destination_operations)
                if row.endpoint is not None:
                    path_patterns.update(row.endpoint.path_allowlist)
                    path_patterns.update(row.endpoint.path_denylist)
                    domain_patterns.update(row.endpoint.domain_allowlist)
                    domain_patterns.update(row.endpoint.domain_denylist)
        self.sampled_values = bool(path_patterns or domain_patterns)
        self.sampled_delegation = any(
            d.delegators or d.delegates or d.scopes or d.max_depth is not None for d in delegations
        )
        reps: list[tuple[Any, ...]] = []
        for name in SCALARS:
            c = consts[name]
            if name == "workspace":
                ws = {p.replace("\\", "/").strip() for p in prefixes} - {""}
                fresh = _fresh(ws, "/lint-workspace")
                while any(fresh.startswith(p) for p in prefixes):
                    fresh = "~" + fresh
                reps.append((*tuple(sorted(ws)), fresh))
            elif name == "phase":
                reps.append(("apply", "plan"))
            elif name == "delegation":
                reps.append(_delegation_candidates(delegations))
            elif name in ("tool_name", "risk_class", "identity"):
                reps.append((*tuple(sorted(c)), _fresh(c | {"script"}, f"lint.{name}")))
            else:  # optional fields: absent, named constants, one other value
                reps.append((ABSENT, *sorted(c), _fresh(c, f"lint.{name}")))
        self.reps = tuple(reps)
        self.full = tuple((1 << len(r)) - 1 for r in self.reps)
        self._bit = [{v: 1 << i for i, v in enumerate(r)} for r in self.reps]

        treps: list[tuple[Any, ...]] = []
        for name in TFIELDS:
            c = tconsts[name]
            if name == "kind":
                treps.append(tuple(sorted(TARGET_KINDS, key=lambda k: (k != "path", k))))
            elif name == "endpoint_class":
                treps.append(tuple(sorted(ENDPOINT_CLASSES)))
            elif name == "discovery_method":
                treps.append(tuple(sorted(DISCOVERY_METHODS, key=lambda k: (k != "unknown", k))))
            elif name in ("sensitivity", "operation"):
                treps.append(("", *sorted(c - {""}), _fresh(c, f"lint-{name}")))
            elif name == "value":
                vals = set(c)
                for p in path_patterns:
                    vals.add(_glob_sample(p))
                    if p.endswith("/**"):
                        vals.add(p[:-3])
                for p in domain_patterns:
                    d = _glob_sample(p).lower()
                    vals.update({d, f"https://{d}/lint"})
                vals.discard("")
                fresh = _fresh(vals, "lint-value")
                treps.append((*sorted(vals), fresh, "https://lint-other.invalid/x"))
            else:
                treps.append((False, True))
        self.treps = tuple(treps)
        self.tfull = tuple((1 << len(r)) - 1 for r in self.treps)
        self._tbit = [{v: 1 << i for i, v in enumerate(r)} for r in self.treps]
        self.preps = tuple(sorted(PROVENANCE_SOURCES))
        self.pfull = (1 << len(self.preps)) - 1
        # Targets that normalization cannot produce: a destructive class, operation
        # or hint always makes the target destructive.
        dfalse = self.tbox(destructive=_mask(self.treps[T["destructive"]], lambda v: not v))
        self.permanent: tuple[tuple[int, ...], ...] = tuple(
            b
            for b in (
                self._refine(
                    dfalse,
                    "endpoint_class",
                    _mask(self.treps[T["endpoint_class"]], lambda v: v in DESTRUCTIVE_CLASSES),
                ),
                self._refine(
                    dfalse,
                    "operation",
                    _mask(self.treps[T["operation"]], lambda v: v in DESTRUCTIVE_OPS),
                ),
                self._refine(dfalse, "destructive_hint", 0b10),
            )
            if all(b)
        )
        self._row_lits: dict[int, tuple[Lit, ...]] = {}

    # ------------------------------------------------------------ building ---

    def tbox(self, **fields: int) -> tuple[int, ...]:
        box = list(self.tfull)
        for name, m in fields.items():
            box[T[name]] &= m
        return tuple(box)

    def _refine(self, box: tuple[int, ...], field: str, m: int) -> tuple[int, ...]:
        out = list(box)
        out[T[field]] &= m
        return tuple(out)

    def smask(self, field: str, test: Any) -> int:
        return _mask(self.reps[S[field]], test)

    def smask_in(self, field: str, values: frozenset[str]) -> int:
        """Mask of the representatives equal to one of ``values`` (fast path of smask)."""
        bit = self._bit[S[field]]
        return sum(bit[v] for v in values if v in bit)

    def tmask_in(self, field: str, values: frozenset[str]) -> int:
        bit = self._tbit[T[field]]
        return sum(bit[v] for v in values if v in bit)

    def tmask(self, field: str, test: Any) -> int:
        return _mask(self.treps[T[field]], test)

    def row_lits(self, row: Row) -> tuple[Lit, ...]:
        """The row's match as a conjunction of literals (cached per row object)."""
        key = id(row)
        got = self._row_lits.get(key)
        if got is not None:
            return got
        lits: list[Lit] = []
        for p in row.predicates:
            s, vals = p.subject, p.values
            if s == TOOL_NAME:
                lits.append(("S", S["tool_name"], self.smask_in("tool_name", vals), True))
            elif s == RISK_CLASS:
                lits.append(("S", S["risk_class"], self.smask_in("risk_class", vals), True))
            elif s == IDENTITY:
                lits.append(("S", S["identity"], self.smask_in("identity", vals), True))
            elif s == WORKSPACE_PREFIX:
                pre = p.prefixes
                lits.append(
                    (
                        "S",
                        S["workspace"],
                        self.smask("workspace", lambda w, pre=pre: w.startswith(pre)),
                        True,
                    )
                )
            elif s in TARGET_FIELDS:
                f = TARGET_FIELDS[s]
                lits.append(("T", 0, self.tbox(**{f: self.tmask_in(f, vals)}), True))
            elif s == PROVENANCE_SOURCE:
                lits.append(("P", 0, _mask(self.preps, vals.__contains__), True))
            elif s == SKILL_PUBLISHER:
                m = self.smask(
                    "skill_publisher", lambda v, vals=vals: v is not None and v.lower() in vals
                )
                lits.append(("S", S["skill_publisher"], m, True))
            elif s == SKILL_SOURCE:
                m = self.smask("skill_source", lambda v, vals=vals: v is not None and v in vals)
                lits.append(("S", S["skill_source"], m, True))
            elif s.startswith(WRKR_PREFIX):
                key_ = s[len(WRKR_PREFIX) :]
                m = self.smask(
                    key_, lambda v, vals=vals: v is not None and v.strip().lower() in vals
                )
                lits.append(("S", S[key_], m, True))
            elif s == TOOL_ANNOTATIONS:
                for field, want in p.hints:
                    lits.append(("T", 0, self.tbox(**{field: 0b10 if want else 0b01}), True))
            elif s == DELEGATION and row.delegation is not None:
                check = _delegation_matcher(row.delegation)
                m = self.smask(
                    "delegation",
                    lambda d, check=check: d is not None and check(SimpleNamespace(delegation=d)),  # type: ignore[arg-type]
                )
                lits.append(("S", S["delegation"], m, True))
            else:
                raise Undecided(f"unknown predicate subject {s!r} in rule {row.name!r}")
        out = tuple(lits)
        self._row_lits[key] = out
        return out

    def fail_closed_alternatives(self, ir: PolicyIR) -> list[tuple[Lit, ...]]:
        """Conjunctions, one per way fail-closed blocks an intent before any rule."""
        fc = ir.fail_closed
        if not fc.enabled:
            return []
        risk: Lit = (
            "S",
            S["risk_class"],
            self.smask("risk_class", fc.risk_classes.__contains__),
            True,
        )
        any_target: Lit = ("T", 0, self.tfull, True)
        other: Lit = (
            "T",
            0,
            self.tbox(endpoint_class=self.tmask("endpoint_class", lambda c: c == "other")),
            True,
        )
        alts: list[tuple[Lit, ...]] = [(risk, other)]
        for field in fc.required_fields:
            if field == "targets":
                alts.append((risk, ("T", 0, self.tfull, False)))
            elif field == "arg_provenance":
                alts.append((risk, ("P", 0, self.pfull, False)))
            elif field == "endpoint_class":
                pass  # same region as the "other" class check above
            elif field == "delegation":
                alts.append(
                    (
                        risk,
                        ("S", S["delegation"], self.smask("delegation", lambda d: d is None), True),
                    )
                )
            elif field == "context_evidence":
                alts.append((risk,))  # evidence is always stripped before evaluation
        del any_target
        return alts

    def tool_reps(self) -> tuple[str, ...]:
        return self.reps[S["tool_name"]]

    # ------------------------------------------------------------ witness ---

    def witness(self, st: State) -> dict[str, Any]:
        """A raw intent (as ``policy test`` reads it) inside the state's region."""

        def pick(field: str) -> Any:
            m = st.scal[S[field]]
            reps = self.reps[S[field]]
            return reps[(m & -m).bit_length() - 1]

        pub, src = pick("skill_publisher"), pick("skill_source")
        if (pub is None) != (src is None):
            pub, src = _couple(self, st)
        context: dict[str, Any] = {
            "identity": pick("identity"),
            "workspace": pick("workspace"),
            "risk_class": pick("risk_class"),
            "phase": pick("phase"),
        }
        auth = {k: v for k in WRKR_KEYS if (v := pick(k)) is not None}
        if auth:
            context["auth_context"] = auth
        intent: dict[str, Any] = {"tool_name": pick("tool_name"), "args": {}, "context": context}
        targets = []
        forb = st.tforb + self.permanent
        for box in st.tpos:
            point = find_point(box, forb)
            if point is None:  # pragma: no cover - states are checked before use
                raise Undecided("target region became empty")
            targets.append(self._target(point))
        if targets:
            intent["targets"] = targets
        prov = []
        for i, m in enumerate(st.ppos):
            m &= ~st.pforb
            prov.append({"arg_path": f"$.lint{i}", "source": self.preps[(m & -m).bit_length() - 1]})
        if prov:
            intent["arg_provenance"] = prov
        if pub is not None:
            intent["skill_provenance"] = {
                "skill_name": "lint-skill",
                "source": src,
                "publisher": pub,
            }
        dg = pick("delegation")
        if dg is not None:
            intent["delegation"] = _raw_delegation(dg)
        return intent

    def _target(self, point: tuple[int, ...]) -> dict[str, Any]:
        t: dict[str, Any] = {}
        for i, name in enumerate(TFIELDS):
            v = self.treps[i][point[i]]
            if isinstance(v, bool):
                if v:
                    t[name] = True
            elif v != "":
                t[name] = v
        if "destructive" not in t:
            t["destructive"] = False
        return t


def _couple(space: Space, st: State) -> tuple[Any, Any]:
    """Skill publisher and source are both absent or both present."""
    pm, sm = st.scal[S["skill_publisher"]], st.scal[S["skill_source"]]
    if pm & 1 and sm & 1:
        return None, None
    pr, sr = space.reps[S["skill_publisher"]], space.reps[S["skill_source"]]
    p2, s2 = pm & ~1, sm & ~1
    return pr[(p2 & -p2).bit_length() - 1], sr[(s2 & -s2).bit_length() - 1]


def _raw_delegation(d: Delegation) -> dict[str, Any]:
    out: dict[str, Any] = {"requester_identity": d.requester_identity}
    if d.scope_class:
        out["scope_class"] = d.scope_class
    if d.chain:
        out["chain"] = [
            {
                "delegator_identity": link.delegator_identity,
                "delegate_identity": link.delegate_identity,
                **({"scope_class": link.scope_class} if link.scope_class else {}),
            }
            for link in d.chain
        ]
    return out


def _delegation_candidates(preds: list[Any]) -> tuple[Any, ...]:
    """None, then delegations built from the named identities and scopes (a sample)."""
    delegators = sorted({x for p in preds for x in p.delegators})
    delegates = sorted({x for p in preds for x in p.delegates})
    scopes = sorted({x for p in preds for x in p.scopes})
    depths = sorted({p.max_depth for p in preds if p.max_depth is not None})
    out: list[Any] = [None]
    seen: set[Any] = set()

    def add(d: Delegation) -> None:
        if d not in seen and len(out) < 256:
            seen.add(d)
            out.append(d)

    reqs = [*delegates, "lint.requester"]
    scs = [*scopes, ""]
    for r in reqs:
        for s in scs:
            add(Delegation(requester_identity=r, scope_class=s))
    for d0 in [*delegators, "lint.delegator"]:
        for r in reqs:
            for s in scs:
                if d0 != r:
                    add(
                        Delegation(
                            requester_identity=r,
                            chain=(
                                DelegationLink(
                                    delegator_identity=d0, delegate_identity=r, scope_class=s
                                ),
                            ),
                        )
                    )
    for k in depths:
        n = k + 1
        ids = [f"lint.hop{i}" for i in range(n)] + ["lint.requester"]
        chain = tuple(
            DelegationLink(delegator_identity=ids[i], delegate_identity=ids[i + 1])
            for i in range(n)
        )
        add(Delegation(requester_identity="lint.requester", chain=chain))
    return tuple(out)


# ------------------------------------------------------------ states ---


class State:
    """A region: scalar domains plus target/provenance requirements (immutable use)."""

    __slots__ = ("false", "pforb", "ppos", "scal", "tforb", "tpos")

    def __init__(self, scal: tuple[int, ...], tpos: tuple, tforb: tuple, ppos: tuple, pforb: int):
        self.false: dict[Lit, bool] | None = None  # is_false answers for this region
        self.scal = scal
        self.tpos = tpos
        self.tforb = tforb
        self.ppos = ppos
        self.pforb = pforb


def initial_state(space: Space) -> State:
    return State(space.full, (), (), (), 0)


_point_cache: dict[tuple[Any, ...], tuple[int, ...] | None] = {}


def find_point(box: tuple[int, ...], forb: tuple[tuple[int, ...], ...]) -> tuple[int, ...] | None:
    """Representative indices of a target in ``box`` and in none of ``forb``."""
    key = (box, forb)
    if key in _point_cache:
        return _point_cache[key]
    if len(_point_cache) > 200_000:
        _point_cache.clear()
    result = _find(box, forb)
    _point_cache[key] = result
    return result


def _find(box: tuple[int, ...], forb: tuple[tuple[int, ...], ...]) -> tuple[int, ...] | None:
    if not all(box):
        return None
    for n, f in enumerate(forb):
        if all(b & m for b, m in zip(box, f, strict=True)):
            rest = forb[n + 1 :]
            # box minus f is covered by: box with one field restricted off f
            for i, m in enumerate(f):
                piece_mask = box[i] & ~m
                if piece_mask:
                    piece = (*box[:i], piece_mask, *box[i + 1 :])
                    got = _find(piece, rest)
                    if got is not None:
                        return got
            return None
    return tuple((b & -b).bit_length() - 1 for b in box)


def box_within(inner: tuple[int, ...], outer: tuple[int, ...]) -> bool:
    return all(i & ~o == 0 for i, o in zip(inner, outer, strict=True))


class Solver:
    """Applies literals to states and decides clause sets by bounded search."""

    def __init__(self, space: Space, budget: int = 20_000) -> None:
        self.space = space
        self.budget = budget
        self.steps = 0

    def _targets_ok(self, tpos: tuple, tforb: tuple) -> bool:
        forb = tforb + self.space.permanent
        return all(find_point(b, forb) is not None for b in tpos)

    def feasible(self, st: State) -> bool:
        scal = st.scal
        if not all(scal):
            return False
        pm, sm = scal[S["skill_publisher"]], scal[S["skill_source"]]
        if not ((pm & 1 and sm & 1) or (pm & ~1 and sm & ~1)):
            return False
        return True

    def apply(self, st: State, lit: Lit, positive: bool = True) -> State | None:
        kind, idx, m, pos = lit
        pos = pos == positive
        if kind == "S":
            cur = st.scal[idx]
            new = cur & m if pos else cur & ~m
            if new == cur:
                return st
            if not new:
                return None
            out = State(
                (*st.scal[:idx], new, *st.scal[idx + 1 :]), st.tpos, st.tforb, st.ppos, st.pforb
            )
            return out if self.feasible(out) else None
        if kind == "T":
            if pos:
                if m in st.tpos:
                    return st
                if find_point(m, st.tforb + self.space.permanent) is None:
                    return None
                return State(st.scal, (*st.tpos, m), st.tforb, st.ppos, st.pforb)
            if m in st.tforb:
                return st
            tforb = (*st.tforb, m)
            if not self._targets_ok(st.tpos, tforb):
                return None
            return State(st.scal, st.tpos, tforb, st.ppos, st.pforb)
        # provenance
        if pos:
            if not m & ~st.pforb:
                return None
            if m in st.ppos:
                return st
            return State(st.scal, st.tpos, st.tforb, (*st.ppos, m), st.pforb)
        pforb = st.pforb | m
        if any(not p & ~pforb for p in st.ppos):
            return None
        return State(st.scal, st.tpos, st.tforb, st.ppos, pforb)

    def apply_all(self, st: State | None, lits: tuple[Lit, ...]) -> State | None:
        for lit in lits:
            if st is None:
                return None
            st = self.apply(st, lit)
        return st

    def is_false(self, st: State, lit: Lit) -> bool:
        """True when no completion of ``st`` satisfies ``lit``."""
        if lit[0] != "T":
            return self._is_false(st, lit)
        memo = st.false
        if memo is None:
            memo = st.false = {}
        got = memo.get(lit)
        if got is None:
            got = memo[lit] = self._is_false(st, lit)
        return got

    def _is_false(self, st: State, lit: Lit) -> bool:
        kind, idx, m, pos = lit
        if kind == "S":
            return (st.scal[idx] & m == 0) if pos else (st.scal[idx] & ~m == 0)
        if kind == "T":
            forb = st.tforb + self.space.permanent
            if pos:
                return find_point(m, forb) is None
            return any(find_point(b, (*forb, m)) is None for b in st.tpos)
        if pos:
            return not m & ~st.pforb
        return any(not (p & ~st.pforb) & ~m for p in st.ppos)

    def is_true(self, st: State, lit: Lit) -> bool:
        """True when every completion of ``st`` satisfies ``lit``."""
        kind, idx, m, pos = lit
        if kind == "S":
            return (st.scal[idx] & ~m == 0) if pos else (st.scal[idx] & m == 0)
        if kind == "T":
            if pos:
                return any(box_within(b, m) for b in st.tpos)
            return any(box_within(m, f) for f in st.tforb)
        if pos:
            return any(p & ~st.pforb & ~m == 0 for p in st.ppos)
        return m & ~st.pforb == 0

    def solve(self, st: State | None, clauses: tuple[tuple[Lit, ...], ...]) -> State | None:
        """A state inside ``st`` where every clause (a disjunction of negated literals) holds."""
        try:
            return self._solve(st, clauses)
        except RecursionError:
            raise Undecided("search too deep") from None

    def _solve(self, st: State | None, clauses: tuple[tuple[Lit, ...], ...]) -> State | None:
        if st is None:
            return None
        for n, clause in enumerate(clauses):
            if any(self.is_false(st, lit) for lit in clause):
                continue
            rest = clauses[n + 1 :]
            for lit in clause:
                self.steps += 1
                if self.steps > self.budget:
                    raise Undecided("search budget exhausted")
                if self.is_true(st, lit):
                    continue
                got = self._solve(self.apply(st, lit, positive=False), rest)
                if got is not None:
                    return got
            return None
        return st
