"""Record files: msgspec's pretty JSON path writes exactly the stdlib's bytes."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gait.trace.store import pretty_json

text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=10)
keys = st.one_of(text, st.sampled_from(["a", "é", "\U0001f600", "z\x00"]))
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**60), max_value=2**60),
    st.floats(allow_nan=False, allow_infinity=False),
    st.floats(min_value=1e-4, max_value=1e6),
    text,
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)),
    max_leaves=25,
)


def stdlib(record: dict) -> bytes:
    return (json.dumps(record, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


@settings(max_examples=800, deadline=None)
@given(st.dictionaries(keys, values, max_size=6))
def test_same_bytes_as_stdlib(record: dict) -> None:
    assert pretty_json(record) == stdlib(record)


def test_edges_and_errors() -> None:
    record = {
        "z": [],
        "a": {},
        "n": [None, True, 0.123, -0.5, 1e-05, 5.0, 1e16, 2**53, '\x00\u2028"\\/é\U0001f600'],
    }
    assert pretty_json(record) == stdlib(record)
    with pytest.raises(UnicodeEncodeError):
        pretty_json({"a": "\udc80"})  # as before: a lone surrogate cannot be written
