"""Hypothesis properties of the interpreter.

* ``evaluate`` is deterministic: same table + same intent → same decision, also
  on a freshly compiled table;
* ``evaluate(compiled, anything)`` raises nothing but :class:`gait.errors.GaitError`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gait.engine import evaluate
from gait.errors import GaitError
from gait.policy import compile_policy
from gait.policy.fmt import format_policy

REPO = Path(__file__).resolve().parents[2]
FEATURES = """
default_verdict: require_approval
fail_closed: {enabled: true, risk_classes: [critical], required_fields: [targets]}
scripts: {max_steps: 3, require_approval_above: 2, block_mixed_risk: true}
rules:
  - name: egress
    priority: 1
    effect: allow
    match: {target_kinds: [url, host]}
    endpoint: {domain_denylist: ['*.evil.test'], egress_classes: [net.http], destructive_action: block}
    dataflow: {enabled: true}
  - name: paths
    priority: 1
    effect: allow
    match: {target_kinds: [path]}
    endpoint: {path_allowlist: ['/repo/**'], path_denylist: ['/repo/.git/*']}
    rate_limit: {requests: 3}
  - name: writes
    priority: 2
    effect: require_approval
    min_approvals: 2
    match: {endpoint_classes: [fs.write], identities: [agent]}
  - name: delegated
    priority: 3
    effect: allow
    match: {delegation_scopes: [write], max_delegation_depth: 2}
  - name: evidence
    priority: 4
    effect: allow
    max_context_age_seconds: 30
    match: {context_tool_names: [t], tool_annotations: {readOnlyHint: true}}
  - name: skills
    priority: 5
    effect: dry_run
    match: {skill_publishers: [acme], data_classes: [pii]}
"""
POLICIES = [
    compile_policy(FEATURES, use_cache=False),
    compile_policy(
        (REPO / "tests/engine/data/running_example/policy.yaml").read_bytes(), use_cache=False
    ),
    *(
        compile_policy(p.read_bytes(), use_cache=False)
        for p in sorted(REPO.glob("policies/*.yaml"))
    ),
]
# The same policies compiled again from their formatted YAML: a different table object.
RECOMPILED = [compile_policy(format_policy(c.policy), use_cache=False) for c in POLICIES]

small = st.sampled_from(
    ["", " ", "x", "Agent", "agent", "/repo/a", "/repo/.git/c", "write", "PII", "acme"]
)
targets = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(
            ["path", "url", "host", "repo", "bucket", "other", "PATH", "bogus"]
        ),
        "value": st.sampled_from(
            ["/repo/a", "/repo/.git/x", "/tmp/z", "https://a.evil.test/x", "evil.test", "q"]
        ),
    },
    optional={
        "operation": st.sampled_from(["read", "write", "delete", "exec", "post", "dns", ""]),
        "endpoint_class": st.sampled_from(["", "fs.read", "net.http", "other", "net.dns"]),
        "sensitivity": small,
        "destructive": st.booleans(),
        "read_only_hint": st.booleans(),
        "discovery_method": st.sampled_from(["mcp", "Dynamic-MCP", "unknown"]),
    },
)
provenance = st.fixed_dictionaries(
    {
        "arg_path": st.sampled_from(["$.a", "$.b", ""]),
        "source": st.sampled_from(["user", "external", "tool_output", "x"]),
    }
)
context = st.fixed_dictionaries(
    {
        "identity": small,
        "workspace": st.sampled_from(["/repo", "C:\\w", ""]),
        "risk_class": st.sampled_from(["low", "high", "critical", "", "MEDIUM"]),
    },
    optional={
        "phase": st.sampled_from(["plan", "apply", "", "other"]),
        "auth_context": st.dictionaries(
            st.sampled_from(["wrkr.tool_name", "context_age_seconds", ""]),
            small | st.integers(-5, 100),
            max_size=2,
        ),
        "context_set_digest": st.sampled_from(["", "a" * 64, "zz"]),
    },
)
step = st.fixed_dictionaries(
    {"tool_name": st.sampled_from(["tool.read", "tool.write", "", "fs.rm"]), "args": st.just({})},
    optional={
        "targets": st.lists(targets, max_size=2),
        "arg_provenance": st.lists(provenance, max_size=2),
    },
)
intents = st.fixed_dictionaries(
    {
        "tool_name": st.sampled_from(["tool.read", "tool.write", "http.post", "fs.rm", ""]),
        "context": context,
    },
    optional={
        "args": st.dictionaries(
            st.sampled_from(["a", "b", " "]), small | st.integers(), max_size=2
        ),
        "targets": st.lists(targets, max_size=3),
        "arg_provenance": st.lists(provenance, max_size=3),
        "delegation": st.fixed_dictionaries(
            {"requester_identity": small},
            optional={
                "scope_class": small,
                "chain": st.lists(
                    st.fixed_dictionaries(
                        {"delegator_identity": small, "delegate_identity": small}
                    ),
                    max_size=3,
                ),
            },
        ),
        "skill_provenance": st.fixed_dictionaries(
            {"skill_name": small, "source": small, "publisher": small}
        ),
        "script": st.fixed_dictionaries({"steps": st.lists(step, max_size=4)}),
    },
)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def outcome(compiled: Any, raw: dict[str, Any]) -> Any:
    try:
        d = evaluate(compiled, raw)
    except GaitError as err:
        return ("error", type(err).__name__, err.message)
    return (d.to_dict(), [s.to_dict() for s in d.step_verdicts])


@SETTINGS
@given(st.sampled_from(range(len(POLICIES))), intents)
def test_evaluate_is_deterministic(index: int, raw: dict[str, Any]) -> None:
    first = outcome(POLICIES[index], raw)
    assert outcome(POLICIES[index], raw) == first
    assert outcome(RECOMPILED[index], raw) == first


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=15,
)
KEYS = [
    "tool_name",
    "args",
    "targets",
    "arg_provenance",
    "context",
    "delegation",
    "script",
    "skill_provenance",
    "created_at",
    "Tool_Name",
]
near_intents = st.dictionaries(
    st.sampled_from(KEYS), json_values | intents | context | st.lists(targets), max_size=6
)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(range(len(POLICIES))),
    near_intents | st.dictionaries(st.text(max_size=5), json_values),
)
def test_evaluate_arbitrary_dict_raises_only_gait_errors(index: int, raw: dict[str, Any]) -> None:
    try:
        evaluate(POLICIES[index], raw)
    except GaitError:
        pass


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200) | json_values.map(json.dumps))
def test_evaluate_arbitrary_json_text_raises_only_gait_errors(data: bytes | str) -> None:
    try:
        evaluate(POLICIES[0], data)
    except GaitError:
        pass
