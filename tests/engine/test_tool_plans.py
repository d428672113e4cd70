"""Per-tool plans (small tables) find the tier a scan of every row finds.

A plan drops the tool-name checks that hold for every intent reaching it; the
first matching tier, and so the decision, must not change. Tables here mix
tool_name and tool_names, rows naming no tool, and tools the table never names.
"""

from __future__ import annotations

import json

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gait.engine.evaluate import _runtime, matching_tier
from gait.intent import decode_intent_bytes, normalize_intent, prepare_intent
from gait.intent.model import Intent
from gait.policy import compile_policy
from gait.policy.compiler import CompiledPolicy
from gait.policy.ir import Row

TOOLS = ["fs.read", "fs.write", "http.post", "git.push"]
KINDS = ["path", "url", "host"]
SOURCES = ["user", "external"]
RISKS = ["low", "high"]


def scan_tier(compiled: CompiledPolicy, intent: Intent) -> list[Row]:
    """The first matching tier by every row's full checks, in evaluation order."""
    rt = _runtime(compiled)
    tier: list[Row] = []
    for row in compiled.ir.rows:
        if tier and row.priority != tier[0].priority:
            break
        if all(check(intent) for check in rt.matchers[row.index]):
            tier.append(row)
    return tier


def _some(values: list[str]) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(values), min_size=1, max_size=2, unique=True)


match = st.fixed_dictionaries(
    {},
    optional={
        "tool_name": st.sampled_from(TOOLS),
        "tool_names": _some(TOOLS),
        "target_kinds": _some(KINDS),
        "provenance_sources": _some(SOURCES),
        "risk_classes": _some(RISKS),
    },
)
policies = st.lists(
    st.fixed_dictionaries(
        {
            "priority": st.integers(min_value=0, max_value=3),
            "effect": st.sampled_from(["allow", "block", "require_approval"]),
            "match": match,
        }
    ),
    max_size=10,
).map(
    lambda rules: {
        "default_verdict": "block",
        "rules": [{"name": f"r{i}", **r} for i, r in enumerate(rules)],
    }
)
intents = st.fixed_dictionaries(
    {
        "tool_name": st.sampled_from([*TOOLS, "other.tool"]),
        "args": st.just({}),
        "targets": st.lists(
            st.fixed_dictionaries({"kind": st.sampled_from(KINDS), "value": st.just("/x")}),
            max_size=2,
        ),
        "arg_provenance": st.lists(
            st.fixed_dictionaries({"arg_path": st.just("$"), "source": st.sampled_from(SOURCES)}),
            max_size=2,
        ),
        "context": st.fixed_dictionaries(
            {
                "identity": st.just("bot"),
                "workspace": st.just("/w"),
                "risk_class": st.sampled_from(RISKS),
            }
        ),
    }
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy=policies, raw_intents=st.lists(intents, min_size=1, max_size=4))
def test_plans_find_the_scanned_tier(
    policy: dict[str, object], raw_intents: list[dict[str, object]]
) -> None:
    compiled = compile_policy(json.dumps(policy), use_cache=False)
    rt = _runtime(compiled)
    assert rt.plans is not None
    for raw in raw_intents:
        intent = prepare_intent(normalize_intent(decode_intent_bytes(json.dumps(raw).encode())))
        assert matching_tier(rt, intent, compiled.ir) == scan_tier(compiled, intent)


def test_a_tool_name_check_without_the_tool_is_kept() -> None:
    # gait merges tool_name and tool_names into one check; a hand-made table may
    # carry two, and the one the tool is not indexed under must still run
    policy = {
        "default_verdict": "block",
        "rules": [{"name": "both", "effect": "allow", "match": {"tool_name": "fs.read"}}],
    }
    ir = compile_policy(json.dumps(policy), use_cache=False).ir
    row = ir.rows[0]
    extra = msgspec.structs.replace(row.predicates[0], values=frozenset({"fs.write"}))
    row = msgspec.structs.replace(row, predicates=(*row.predicates, extra))
    compiled = CompiledPolicy(msgspec.structs.replace(ir, rows=(row,)))
    rt = _runtime(compiled)
    raw = {
        "tool_name": "fs.read",
        "args": {},
        "targets": [{"kind": "path", "value": "/x"}],
        "context": {"identity": "bot", "workspace": "/w", "risk_class": "low"},
    }
    intent = normalize_intent(decode_intent_bytes(json.dumps(raw).encode()))
    assert scan_tier(compiled, intent) == []
    assert matching_tier(rt, intent, compiled.ir) == []
    assert [len(checks) for _row, checks in rt.plans["fs.read"]] == [1]
