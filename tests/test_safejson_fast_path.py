"""check_duplicate_keys' C fast path never hides a repeated key (issue 11 A6).

Documents are generated as lists of pairs, so a key can be repeated (exactly or
in another case) at any depth, and written compact, spaced or indented. The fast
path may only answer "no repeat" when the full pure-Python check agrees.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gait.safejson import DuplicateKey, _no_repeated_keys, check_duplicate_keys

KEYS = st.sampled_from(["a", "A", "b", "tool", "Tool", "TOOL", "x:y", ": z", "k é", "ü", "Ü"])
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(alphabet=' :"\\aAé\t{}[],', max_size=6),
)


class Obj(list):
    """An object as its pairs, in order (repeats allowed)."""


def docs(keys: Any, scalars: Any) -> Any:
    """Documents as nested lists and Obj pairs over ``keys`` and ``scalars``."""

    def tree(children: Any) -> Any:
        return st.one_of(
            st.lists(children, max_size=4),
            st.lists(st.tuples(keys, children), max_size=4).map(Obj),
        )

    return st.recursive(scalars, tree, max_leaves=12)


DOCS = docs(KEYS, SCALARS)


def render(value: Any, style: int, escape: bool, depth: int = 0) -> str:
    """JSON text: compact, spaced or indented; non-ASCII as \\u escapes or as UTF-8."""
    sep, colon = [(",", ":"), (", ", ": "), (",\n" + "  " * (depth + 1), " : ")][style]
    if isinstance(value, Obj):
        inner = sep.join(
            f"{json.dumps(k, ensure_ascii=escape)}{colon}{render(v, style, escape, depth + 1)}"
            for k, v in value
        )
        return "{" + inner + "}"
    if isinstance(value, list):
        return "[" + sep.join(render(v, style, escape, depth + 1) for v in value) + "]"
    return json.dumps(value, ensure_ascii=escape)


def repeats(value: Any) -> bool:
    if isinstance(value, Obj):
        folded = [k.lower() for k, _ in value]
        return len(set(folded)) != len(folded) or any(repeats(v) for _, v in value)
    if isinstance(value, list):
        return any(repeats(v) for v in value)
    return False


@settings(max_examples=400, deadline=None)
@given(DOCS, st.integers(0, 2), st.booleans())
def test_fast_path_agrees_with_the_full_check(doc: Any, style: int, escape: bool) -> None:
    data = render(doc, style, escape).encode("utf-8")
    json.loads(data)  # the generator writes valid JSON
    expected = repeats(doc)
    if _no_repeated_keys(data):
        assert not expected, data
    try:
        check_duplicate_keys(data, "doc")
    except DuplicateKey:
        assert expected, data
    else:
        assert not expected, data


@pytest.mark.parametrize(
    "data",
    [
        b'{"a":1,"A":2}',
        b'{"a": 1, "a": 2}',
        b'{\n  "x": {"k": 1,\n "K": 2}\n}',
        b'[{"t":" :"},{"t":1,"t":2}]',
        b'{"a\\u0041":1,"aa":2}',  # an escaped spelling of the same key (case-folded)
    ],
)
def test_known_repeats_are_never_proven_absent(data: bytes) -> None:
    assert not _no_repeated_keys(data)
    with pytest.raises(DuplicateKey):
        check_duplicate_keys(data, "doc")
