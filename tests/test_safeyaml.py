"""gait.safeyaml: one rule for gait's own YAML files (issue 11 A6, B9)."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from gait.errors import InvalidInput
from gait.safejson import MAX_DEPTH, DuplicateKey
from gait.safeyaml import load


def error(text: str | bytes, **kw) -> InvalidInput:
    with pytest.raises(InvalidInput) as info:
        load(text, "parse config", source="c.yaml", **kw)
    assert info.value.exit_code == 6
    return info.value


def test_plain_documents_load_like_pyyaml() -> None:
    text = "gate:\n  profile: oss-prod\n  scopes: [a, b]\n  n: 3\n  on: true\nstate: ''\n"
    assert load(text, "x") == yaml.safe_load(text)
    assert load("", "x") is None
    assert load(b"a: !!str 3\n", "x") == {"a": "3"}


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        ("a: 1\nb: 2\na: 3\n", "a", "c.yaml:3:1: duplicate key 'a' (first at line 1)"),
        (
            "gate:\n  trace_path: x\n  Trace_Path: y\n",
            "Trace_Path",
            "c.yaml:3:3: duplicate key 'Trace_Path' (also spelled 'trace_path' at line 2)",
        ),
        ("- {k: 1, 'k': 2}\n", "k", "duplicate key 'k'"),
        ('"x": 1\nX: 2\n', "X", "duplicate key 'X' (also spelled 'x' at line 1)"),
    ],
)
def test_repeated_keys_are_refused_with_key_and_line(text: str, key: str, message: str) -> None:
    err = error(text)
    assert isinstance(err, DuplicateKey)
    assert message in err.message
    assert err.message.startswith("parse config c.yaml:")
    assert err.details["key"] == key


def test_same_key_in_different_mappings_is_fine() -> None:
    assert load("a: {k: 1}\nb: {k: 2}\n", "x") == {"a": {"k": 1}, "b": {"k": 2}}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: &x 1\nb: *x\n", "c.yaml:1:4: anchors and aliases (& and *) are not supported"),
        ("<<: {a: 1}\n", "merge keys (<<) are not supported"),
        ("a: !!python/object/apply:os.system [id]\n", "tag !!python/object/apply:os.system"),
        ("a: !!binary aGk=\n", "tag !!binary is not supported"),
        ("a: !custom x\n", "tag !custom is not supported"),
        ("? [a]\n: 1\n", "mapping keys must be scalars"),
        ("a: " + "9" * 301 + "\n", "integer longer than 300 digits"),
        ("a: " + "9" * 5000 + "\n", "integer longer than 300 digits"),
        ("[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5), "nesting exceeds"),
        ("gate:\n  state: x\n   bad: 1\n", "c.yaml:3:7: mapping values are not allowed here"),
        ("a: 1\n---\nb: 2\n", "c.yaml:2:1:"),
        (b"a: \xff\n", "parse config c.yaml: not UTF-8 text (byte 3)"),
    ],
)
def test_refused_documents_name_the_problem(text: str | bytes, message: str) -> None:
    assert message in error(text).message


def test_deep_block_nesting_is_bounded_without_recursion_error() -> None:
    text = "".join("  " * i + "k:\n" for i in range(MAX_DEPTH + 2))
    assert "nesting exceeds 1000 levels" in error(text).message
    ok = "".join("  " * i + "k:\n" for i in range(200))
    assert load(ok, "x") is not None


def test_node_budget_is_checked_while_parsing() -> None:
    assert "more than 10 nodes" in error("[" + ",".join("1" * 20) + "]", max_nodes=10).message


def test_aliases_when_allowed_expand_within_bounds() -> None:
    text = "base: &b {runpack: x.zip}\nfixtures:\n  - <<: *b\n    name: demo\n"
    doc = load(text, "x", aliases=True)
    assert doc["fixtures"] == [{"runpack": "x.zip", "name": "demo"}]
    assert "recursive alias" in error("a: &a [*a]\n", aliases=True).message
    laughs = "a: &a [1,1,1,1,1,1,1,1,1,1]\n" + "".join(
        f"{n}: &{n} [{','.join(['*' + p] * 10)}]\n" for p, n in zip("abcdef", "bcdefg", strict=True)
    )
    assert "expands to more than" in error(laughs, aliases=True).message
    # a merge key still counts as no repeat; an explicit repeat does
    assert isinstance(error("x: &b {a: 1}\ny: {<<: *b, n: 1, N: 2}\n", aliases=True), DuplicateKey)


keys = st.text(alphabet="abcAB_", min_size=1, max_size=4)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(keys, st.integers(-5, 5)), min_size=1, max_size=6))
def test_property_refused_exactly_when_keys_repeat_ignoring_case(pairs) -> None:
    text = "".join(f"{k}: {v}\n" for k, v in pairs)
    folded = [k.lower() for k, _ in pairs]
    if len(set(folded)) == len(folded):
        assert load(text, "x") == dict(pairs)
    else:
        with pytest.raises(DuplicateKey):
            load(text, "x")
