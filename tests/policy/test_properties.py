"""Hypothesis properties of the policy toolchain.

* ``fmt`` is idempotent and digest-preserving on generated policies;
* compiling is deterministic (same digest, same IR bytes);
* the canonical DSL of a generated policy parses back to the same policy;
* ``compile_policy`` on arbitrary text, bytes or YAML documents raises nothing
  but :class:`gait.errors.GaitError`.
"""

from __future__ import annotations

import json
import re
from typing import Any

import msgspec
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gait.errors import GaitError
from gait.policy import compile_policy, load_policy_source
from gait.policy.digest import policy_digest
from gait.policy.dsl import render_dsl
from gait.policy.fmt import format_source

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

VERDICTS = ["allow", "block", "dry_run", "require_approval"]
ENDPOINT_CLASSES = ["fs.read", "fs.write", "fs.delete", "proc.exec", "net.http", "net.dns", "other"]
KINDS = ["path", "url", "host", "repo", "bucket", "other"]
SOURCES = ["user", "external", "tool_output", "system"]

words = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12
).filter(lambda s: s.strip() != "")
plain = st.from_regex(r"[A-Za-z][A-Za-z0-9_.\-]{0,10}", fullmatch=True)
cased = st.sampled_from([str.lower, str.upper, str.title])


def cased_list(values: list[str]) -> st.SearchStrategy[list[str]]:
    return st.lists(st.tuples(st.sampled_from(values), cased).map(lambda t: t[1](t[0])), max_size=4)


match_strategy = st.fixed_dictionaries(
    {},
    optional={
        "tool_name": plain,
        "tool_names": st.lists(plain, max_size=3),
        "risk_classes": cased_list(["low", "medium", "high", "critical"]),
        "target_kinds": cased_list(KINDS),
        "target_values": st.lists(words, max_size=3),
        "endpoint_class": cased_list(ENDPOINT_CLASSES),
        "endpoint_classes": cased_list(ENDPOINT_CLASSES),
        "provenance_sources": cased_list(SOURCES),
        "identities": st.lists(words, max_size=3),
        "workspace_prefixes": st.lists(words, max_size=2),
        "discovery_method": cased_list(["mcp", "a2a", "manual", "unknown"]),
        "tool_annotations": st.fixed_dictionaries(
            {}, optional={"readOnlyHint": st.booleans(), "destructiveHint": st.booleans()}
        ),
        "data_classes": st.lists(plain, max_size=2),
        "context_tool_names": st.lists(plain, max_size=2),
        "require_delegation": st.booleans(),
        "delegation_scopes": st.lists(plain, max_size=2),
        "max_delegation_depth": st.integers(0, 5),
    },
)

rule_strategy = st.fixed_dictionaries(
    {"name": words, "effect": st.sampled_from(VERDICTS)},
    optional={
        "priority": st.integers(-100, 100),
        "match": match_strategy,
        "reason_codes": st.lists(words, max_size=3),
        "violations": st.lists(words, max_size=3),
        "min_approvals": st.integers(0, 4),
        "require_context_evidence": st.booleans(),
        "max_context_age_seconds": st.integers(0, 1000),
        "broker_reference": words,
        "broker_scopes": st.lists(plain, max_size=2),
        "endpoint": st.fixed_dictionaries(
            {},
            optional={
                "path_denylist": st.lists(words, max_size=2),
                "domain_allowlist": st.lists(plain, max_size=2),
                "egress_classes": st.lists(st.sampled_from(["net.http", "net.dns"]), max_size=2),
                "destructive_action": st.sampled_from(["block", "require_approval"]),
            },
        ),
        "dataflow": st.fixed_dictionaries(
            {},
            optional={
                "enabled": st.booleans(),
                "destination_kinds": cased_list(KINDS),
                "action": st.sampled_from(["block", "require_approval"]),
            },
        ),
        "rate_limit": st.fixed_dictionaries(
            {"requests": st.integers(0, 10)},
            optional={"window": st.sampled_from(["minute", "hour"])},
        ),
    },
)

policy_strategy = st.fixed_dictionaries(
    {"rules": st.lists(rule_strategy, max_size=4)},
    optional={
        "default_verdict": st.sampled_from(VERDICTS),
        "fail_closed": st.fixed_dictionaries(
            {"enabled": st.booleans()},
            optional={
                "risk_classes": cased_list(["high", "critical", "medium"]),
                "required_fields": st.lists(st.sampled_from(["targets", "delegation"]), max_size=2),
            },
        ),
        "scripts": st.fixed_dictionaries(
            {}, optional={"max_steps": st.integers(0, 9), "block_mixed_risk": st.booleans()}
        ),
    },
)


def to_yaml(doc: dict[str, Any]) -> bytes:
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False).encode("utf-8")


@SETTINGS
@given(policy_strategy)
def test_fmt_is_idempotent_on_generated_policies(doc: dict[str, Any]) -> None:
    _, once = format_source(to_yaml(doc), "g.yaml", "yaml")
    _, twice = format_source(once.encode("utf-8"), "g.yaml", "yaml")
    assert twice == once


@SETTINGS
@given(policy_strategy)
def test_fmt_preserves_digest_on_generated_policies(doc: dict[str, Any]) -> None:
    policy, formatted = format_source(to_yaml(doc), "g.yaml", "yaml")
    reloaded = load_policy_source(formatted.encode("utf-8"), "f.yaml", "yaml")
    assert policy_digest(reloaded) == policy_digest(policy)


@SETTINGS
@given(policy_strategy)
def test_compile_is_deterministic_on_generated_policies(doc: dict[str, Any]) -> None:
    data = to_yaml(doc)
    one, two = compile_policy(data, use_cache=False), compile_policy(data, use_cache=False)
    assert one.policy_digest == two.policy_digest
    assert msgspec.json.encode(one.ir, order="deterministic") == msgspec.json.encode(
        two.ir, order="deterministic"
    )


@SETTINGS
@given(policy_strategy)
def test_canonical_dsl_round_trips_generated_policies(doc: dict[str, Any]) -> None:
    policy = load_policy_source(to_yaml(doc), "g.yaml", "yaml")
    again = load_policy_source(render_dsl(policy).encode("utf-8"), "g.gaitpol", "dsl")
    assert again == policy


def with_comments(text: str, marks: list[tuple[int, bool]]) -> tuple[str, list[str]]:
    """Add ``# cN`` comments: at the end of line ``i`` (True) or on a line above it (False).

    A mark is skipped when PyYAML reads the result differently (the line was
    inside a multi-line scalar), so every added comment really is a comment.
    """
    document = yaml.safe_load(text)
    lines = text.rstrip("\n").split("\n")  # not splitlines(): NEL/U+2028 may sit in a scalar
    added = []
    for n, (i, trailing) in enumerate(marks):
        i %= len(lines)
        comment = f"# c{n}"
        trial = list(lines)
        if trailing:
            trial[i] += f"  {comment}"
        else:
            trial.insert(i, comment)
        if yaml.safe_load("\n".join(trial)) == document:
            lines = trial
            added.append(comment)
    return "\n".join(lines) + "\n", added


@SETTINGS
@given(policy_strategy, st.lists(st.tuples(st.integers(0, 400), st.booleans()), max_size=6))
def test_fmt_keeps_every_comment_on_generated_policies(
    doc: dict[str, Any], marks: list[tuple[int, bool]]
) -> None:
    plain = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=10**9)
    text, comments = with_comments(plain, marks)
    policy, once = format_source(text.encode("utf-8"), "g.yaml", "yaml")
    for comment in comments:
        assert re.search(rf"(^|\s){comment}(?!\d)", once, re.MULTILINE), comment
    assert format_source(once.encode("utf-8"), "g.yaml", "yaml")[1] == once
    assert load_policy_source(once.encode("utf-8"), "f.yaml", "yaml") == policy


# ------------------------------------------------------------ robustness ---

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
RULE_KEYS = [
    "name", "priority", "effect", "action", "match", "endpoint", "reason_codes", "violations",
    "min_approvals", "require_distinct_approvers", "require_context_evidence",
    "required_context_evidence_mode", "max_context_age_seconds", "broker_scopes",
    "rate_limit", "destructive_budget", "dataflow", "bogus",
]  # fmt: skip
TOP_KEYS = [
    "schema_id", "schema_version", "default_verdict", "default_action", "fail_closed",
    "scripts", "mcp_trust", "rules", "version",
]  # fmt: skip
SUB_KEYS = [
    "tool_names", "tool_name", "endpoint_class", "max_delegation_depth", "tool_annotations",
    "readOnlyHint", "enabled", "requests", "window", "scope", "action", "path_denylist",
    "egress_classes", "tainted_sources", "snapshot", "min_score", "max_age", "risk_classes",
    "required_fields", "max_steps",
]  # fmt: skip
sub_maps = st.dictionaries(st.sampled_from(SUB_KEYS), json_values, max_size=4)
fuzz_rules = st.lists(
    st.dictionaries(st.sampled_from(RULE_KEYS), json_values | sub_maps, max_size=6), max_size=3
)
fuzz_docs = st.dictionaries(
    st.sampled_from(TOP_KEYS), json_values | sub_maps | fuzz_rules, max_size=5
)


def compiles_or_gait_error(data: bytes | str, kind: str = "yaml") -> None:
    try:
        compile_policy(data, kind=kind, use_cache=False)
    except GaitError:
        pass


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300))
def test_compile_arbitrary_bytes_raises_only_gait_errors(data: bytes) -> None:
    compiles_or_gait_error(data)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_compile_arbitrary_text_raises_only_gait_errors(text: str) -> None:
    compiles_or_gait_error(text)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200))
def test_compile_arbitrary_dsl_text_raises_only_gait_errors(text: str) -> None:
    compiles_or_gait_error(text, kind="dsl")


dsl_strings = st.sampled_from(
    ['"r"', '"\\ud83d"', '"a\\udc00b"', '"\\u0000"', '"a\\"b"', '""']
) | st.text(max_size=6).map(json.dumps)
dsl_scalars = dsl_strings | st.sampled_from(
    ["-3", "7", "0.5", "1e3", "true", "null", "block", "fs.read", "x-y"]
)
dsl_values = dsl_scalars | st.lists(dsl_scalars, max_size=3).map(lambda v: "[" + ", ".join(v) + "]")
DSL_KEYS = [*RULE_KEYS, *SUB_KEYS, "default_verdict", "fail_closed", "scripts", "mcp_trust"]


typed_stmts = st.one_of(
    dsl_strings.map(lambda s: f"broker_reference {s}"),
    st.lists(dsl_strings, max_size=2).map(lambda v: f"reason_codes [{', '.join(v)}]"),
    st.lists(dsl_strings, max_size=2).map(lambda v: f"match {{ identities [{', '.join(v)}] }}"),
    st.integers(-5, 5).map(lambda n: f"min_approvals {n}"),
)


def dsl_block(depth: int) -> st.SearchStrategy[str]:
    stmt = typed_stmts | st.tuples(st.sampled_from(DSL_KEYS), dsl_values).map(" ".join)
    if depth:
        stmt = stmt | st.tuples(st.sampled_from(DSL_KEYS), dsl_block(depth - 1)).map(" ".join)
    return st.lists(stmt, max_size=3).map(lambda s: "{ " + " ".join(s) + " }")


dsl_rules = st.tuples(
    dsl_strings,
    st.sampled_from([" => allow", " priority 1 => block", "", " priority -2", " => nope"]),
    st.lists(typed_stmts, max_size=3).map(lambda s: "{ " + " ".join(s) + " }") | dsl_block(2),
).map(lambda r: f"rule {r[0]}{r[1]} {r[2]}")
dsl_docs = st.tuples(
    st.sampled_from(["", "policy "]).flatmap(
        lambda p: dsl_block(2).map(lambda b: p + b if p else "")
    ),
    st.lists(dsl_rules, max_size=3),
).map(lambda d: "\n".join([d[0], *d[1]]))


@settings(max_examples=200, deadline=None)
@given(dsl_docs)
def test_compile_generated_dsl_raises_only_gait_errors(text: str) -> None:
    compiles_or_gait_error(text, kind="dsl")


@settings(max_examples=200, deadline=None)
@given(fuzz_docs)
def test_compile_arbitrary_yaml_documents_raises_only_gait_errors(doc: dict[str, Any]) -> None:
    try:
        data = yaml.safe_dump(doc, allow_unicode=True).encode("utf-8")
    except (yaml.YAMLError, ValueError, UnicodeEncodeError):
        return
    compiles_or_gait_error(data)
