"""The candidate index never changes which rows match or in which order.

For any table and intent, the first matching tier found through the index is
the one a scan of every row in evaluation order finds, and so is the decision.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from contextlib import contextmanager

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gait.engine import evaluate
from gait.engine import index as index_module
from gait.engine.evaluate import _runtime, matching_tier
from gait.intent import decode_intent_bytes, normalize_intent, prepare_intent
from gait.intent.model import Intent
from gait.policy import compile_policy
from gait.policy.compiler import CompiledPolicy
from gait.policy.ir import Row

TOOLS = ["fs.read", "fs.write", "fs.delete", "http.post", "git.push"]
KINDS = ["path", "url", "host", "repo", "bucket"]
CLASSES = ["fs.read", "fs.write", "fs.delete", "net.http", "proc.exec"]
SOURCES = ["user", "external", "tool_output", "system"]
RISKS = ["low", "medium", "high", "critical"]
VERDICTS = ["allow", "block", "dry_run", "require_approval"]


@contextmanager
def index_threshold(rows: int) -> Iterator[None]:
    """Use the field index for tables of more than ``rows`` rows."""
    old = index_module.SMALL_TABLE
    index_module.SMALL_TABLE = rows
    try:
        yield
    finally:
        index_module.SMALL_TABLE = old


def scan_tier(compiled: CompiledPolicy, intent: Intent) -> list[Row]:
    """The first matching tier by checking every row, no index."""
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
        "tool_names": _some(TOOLS),
        "target_kinds": _some(KINDS),
        "endpoint_classes": _some(CLASSES),
        "provenance_sources": _some(SOURCES),
        "risk_classes": _some(RISKS),
        "workspace_prefixes": st.just(["/w/a"]),
    },
)
rule = st.fixed_dictionaries(
    {
        "priority": st.integers(min_value=0, max_value=4),
        "effect": st.sampled_from(VERDICTS),
        "match": match,
    }
)
policies = st.lists(rule, max_size=12).map(
    lambda rules: {
        "default_verdict": "block",
        "rules": [{"name": f"r{i}", **r} for i, r in enumerate(rules)],
    }
)
targets = st.lists(
    st.fixed_dictionaries(
        {
            "kind": st.sampled_from(KINDS),
            "value": st.just("/w/a/x"),
            "endpoint_class": st.sampled_from(CLASSES),
        }
    ),
    max_size=3,
)
intents = st.fixed_dictionaries(
    {
        "tool_name": st.sampled_from(TOOLS),
        "args": st.just({}),
        "targets": targets,
        "arg_provenance": st.lists(
            st.fixed_dictionaries({"arg_path": st.just("$"), "source": st.sampled_from(SOURCES)}),
            max_size=2,
        ),
        "context": st.fixed_dictionaries(
            {
                "identity": st.just("bot"),
                "workspace": st.sampled_from(["/w/a", "/w/b"]),
                "risk_class": st.sampled_from(RISKS),
            }
        ),
    }
)


def prepared(raw: dict[str, object]) -> Intent:
    return prepare_intent(normalize_intent(decode_intent_bytes(json.dumps(raw).encode())))


def _decision_fields(decision: object) -> dict[str, object]:
    out = msgspec.structs.asdict(decision)  # type: ignore[arg-type]
    out.pop("digest_cache", None)
    out.pop("created_at", None)
    return out


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy=policies, raw_intents=st.lists(intents, min_size=1, max_size=4))
def test_index_finds_the_scanned_tier(
    policy: dict[str, object], raw_intents: list[dict[str, object]]
) -> None:
    with index_threshold(-1):
        compiled = compile_policy(json.dumps(policy))
        rt = _runtime(compiled)
        assert isinstance(getattr(rt.select, "__self__", None), index_module._FieldIndex)
        for raw in raw_intents:
            intent = prepared(raw)
            assert matching_tier(rt, intent, compiled.ir) == scan_tier(compiled, intent)
            # the memo gives the same rows the second time
            assert matching_tier(rt, intent, compiled.ir) == scan_tier(compiled, intent)


def test_big_table_decides_as_a_small_table_would() -> None:
    rng = random.Random(12)
    rules = []
    for i in range(400):
        m: dict[str, object] = {}
        if rng.random() < 0.6:
            m["tool_names"] = rng.sample(TOOLS, 1)
        for key, values in (
            ("target_kinds", KINDS),
            ("endpoint_classes", CLASSES),
            ("provenance_sources", SOURCES),
            ("risk_classes", RISKS),
        ):
            if rng.random() < 0.25:
                m[key] = rng.sample(values, rng.randint(1, 2))
        rules.append(
            {
                "name": f"rule-{i:03d}",
                "priority": rng.randint(1, 2000),
                "effect": rng.choice(VERDICTS),
                "match": m,
            }
        )
    source = json.dumps({"default_verdict": "block", "rules": rules})
    indexed = compile_policy(source)
    assert len(indexed.rows) > index_module.SMALL_TABLE
    with index_threshold(10**9):
        per_tool = compile_policy(source)
        _runtime(per_tool)
    # explain's per-tool lists, built on demand for big tables, are the eager ones
    eager = _runtime(per_tool).candidates
    assert isinstance(eager, dict) and len(eager) == len(TOOLS)
    lazy = _runtime(indexed).candidates
    assert {tool: lazy[tool] for tool in lazy} == eager
    assert lazy.get("no.such.tool", ()) == ()
    seen = set()
    for _ in range(300):
        raw = {
            "tool_name": rng.choice(TOOLS),
            "args": {},
            "targets": [
                {"kind": rng.choice(KINDS), "value": "/x", "endpoint_class": rng.choice(CLASSES)}
                for _ in range(rng.randint(0, 2))
            ],
            "arg_provenance": [{"arg_path": "$", "source": rng.choice(SOURCES)}],
            "context": {"identity": "bot", "workspace": "/w", "risk_class": rng.choice(RISKS)},
        }
        intent = prepared(raw)
        tier = matching_tier(_runtime(indexed), intent, indexed.ir)
        assert tier == scan_tier(indexed, intent)
        a, b = evaluate(indexed, intent), evaluate(per_tool, intent)
        assert _decision_fields(a) == _decision_fields(b)
        seen.add(a.verdict)
    assert len(seen) >= 3  # the fixtures exercise several verdicts, not one default
