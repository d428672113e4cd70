"""Flow rules: the engine against a plain reference of the documented semantics.

Random policies (tool selectors plus ``after`` / ``not_after`` predicates over a
small alphabet), random session histories and a random current call; the
reference below re-reads docs/flow-rules.md literally, one rule at a time.
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gait.engine import evaluate
from gait.engine.flow import FlowCall, FlowHistory
from gait.policy import compile_policy

from .conftest import make_intent

SEC = 1_000_000_000
NOW = 100 * SEC
TOOLS = ("t.a", "t.b", "t.c")
PATHS = ("/a", "/b")
SENS = ("", "secret")
CLASSES = ("fs.read", "fs.write", "net.http")

predicates = st.fixed_dictionaries(
    {},
    optional={
        "tool_names": st.lists(st.sampled_from(TOOLS), min_size=1, max_size=2, unique=True),
        "endpoint_classes": st.lists(st.sampled_from(CLASSES), min_size=1, max_size=2, unique=True),
        "sensitivity": st.just(["secret"]),
        "same_target": st.booleans(),
        "within": st.sampled_from(["10s", "30s", "1m"]),
        "min_count": st.integers(1, 3),
    },
)

rules = st.lists(
    st.fixed_dictionaries(
        {
            "priority": st.integers(1, 3),
            "effect": st.sampled_from(["allow", "block"]),
        },
        optional={
            "tool_names": st.lists(st.sampled_from(TOOLS), min_size=1, max_size=2, unique=True),
            "after": st.lists(predicates, min_size=1, max_size=2),
            "not_after": st.lists(predicates, min_size=1, max_size=2),
        },
    ),
    min_size=1,
    max_size=4,
)

targets = st.tuples(st.sampled_from(PATHS), st.sampled_from(SENS), st.sampled_from(CLASSES))

calls = st.lists(
    st.tuples(
        st.sampled_from(TOOLS),
        targets,
        st.sampled_from(["allow", "allow", "block", "require_approval"]),
        # seconds; window edges (NOW-60, -30, -10, NOW) often; past NOW never counts
        st.one_of(st.sampled_from([40, 70, 90, 100, 101]), st.integers(0, 110)),
    ),
    max_size=8,
)


def _policy_text(spec: list[dict], default: str) -> str:
    out = []
    for i, r in enumerate(spec):
        match = {k: r[k] for k in ("tool_names", "after", "not_after") if k in r}
        out.append(
            {"name": f"r{i}", "priority": r["priority"], "effect": r["effect"], "match": match}
        )
    return json.dumps({"default_verdict": default, "rules": out})  # JSON is YAML


# ---- the reference ------------------------------------------------------------------------

WINDOWS = {"10s": 10 * SEC, "30s": 30 * SEC, "1m": 60 * SEC}


def _counts(pred: dict, call: FlowCall, current: tuple[str, str]) -> bool:
    """Does this earlier call count for this predicate? (docs/flow-rules.md, literally)"""
    if call.verdict != "allow":
        return False
    if call.at_ns > NOW:
        return False
    if "within" in pred and NOW - call.at_ns > WINDOWS[pred["within"]]:
        return False
    if "tool_names" in pred and call.tool_name not in pred["tool_names"]:
        return False
    for kind, value, sens, cls in call.targets:
        ok = True
        if "endpoint_classes" in pred and cls not in pred["endpoint_classes"]:
            ok = False
        if "sensitivity" in pred and sens not in pred["sensitivity"]:
            ok = False
        if pred.get("same_target") and (kind, value) != current:
            ok = False
        if ok:
            return True
    return False


def _reference(spec, default, tool, current, history):
    """(verdict, matched rules, flow refs): first priority tier whose rules match."""
    order = sorted(range(len(spec)), key=lambda i: (spec[i]["priority"], f"r{i}".encode()))
    tier: list[tuple[int, set[str]]] = []
    for i in order:
        r = spec[i]
        if tier and r["priority"] != spec[tier[0][0]]["priority"]:
            break
        if "tool_names" in r and tool not in r["tool_names"]:
            continue
        refs: set[str] = set()
        ok = True
        for pred in r.get("after", []):
            hits = [c for c in history if _counts(pred, c, current)]
            need = pred.get("min_count", 1)
            if len(hits) < need:
                ok = False
                break
            newest = sorted(hits, key=lambda c: (c.at_ns, c.call_id))[-need:]
            refs.update(c.call_id for c in newest)
        for pred in r.get("not_after", []) if ok else []:
            if len([c for c in history if _counts(pred, c, current)]) >= pred.get("min_count", 1):
                ok = False
        if ok:
            tier.append((i, refs))
    if not tier:
        return default, (), ()
    verdict = "block" if any(spec[i]["effect"] == "block" for i, _ in tier) else "allow"
    names = tuple(sorted(f"r{i}" for i, _ in tier))
    refs = set()
    for i, r in tier:
        if spec[i]["effect"] == verdict:
            refs |= r
    return verdict, names, tuple(sorted(refs))


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
@given(
    spec=rules,
    default=st.sampled_from(["allow", "block"]),
    tool=st.sampled_from(TOOLS),
    target=targets,
    raw_calls=calls,
)
def test_engine_matches_reference(spec, default, tool, target, raw_calls) -> None:
    compiled = compile_policy(_policy_text(spec, default), use_cache=False)
    history = tuple(
        FlowCall(
            call_id=f"c{n}",
            tool_name=t,
            targets=(("path", path, sens, cls),),
            verdict=verdict,
            at_ns=at * SEC,
        )
        for n, (t, (path, sens, cls), verdict, at) in enumerate(raw_calls)
    )
    path, sens, cls = target
    intent = make_intent(
        tool_name=tool,
        args={"path": path},
        targets=[{"kind": "path", "value": path, "sensitivity": sens, "endpoint_class": cls}],
    )
    d = evaluate(compiled, intent, history=FlowHistory(calls=history, now_ns=NOW))
    want = _reference(spec, default, tool, ("path", path), history)
    assert (d.verdict, d.matched_rules, d.flow_refs) == want


@settings(max_examples=60, deadline=None, derandomize=True)
@given(spec=rules, tool=st.sampled_from(TOOLS))
def test_without_history_a_flow_rule_never_allows(spec, tool) -> None:
    compiled = compile_policy(_policy_text(spec, "allow"), use_cache=False)
    intent = make_intent(tool_name=tool, targets=[{"kind": "path", "value": "/a"}])
    d = evaluate(compiled, intent)
    flow_matched = [
        f"r{i}"
        for i, r in enumerate(spec)
        if ("after" in r or "not_after" in r) and f"r{i}" in d.matched_rules
    ]
    if flow_matched:
        assert d.verdict == "block"
        assert "flow_history_unavailable" in d.reason_codes


@settings(max_examples=80, deadline=None, derandomize=True)
@given(spec=rules)
def test_dsl_twin_of_a_flow_policy_has_the_same_digest(spec) -> None:
    from gait.policy.dsl import render_dsl

    compiled = compile_policy(_policy_text(spec, "allow"), use_cache=False)
    twin = compile_policy(render_dsl(compiled.policy), kind="dsl", use_cache=False)
    assert twin.policy_digest == compiled.policy_digest
    assert twin.ir.rows == compiled.ir.rows
