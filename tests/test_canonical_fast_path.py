"""The stdlib fast path of canonical_bytes gives exactly the JCS library's bytes.

Every digest and signature goes through canonical_bytes, so the fast path must
never change a byte: checked against rfc8785 on arbitrary JSON values,
including control characters, non-ASCII and astral text, big ints and floats
(which take the general path), and errors are the library's errors.
"""

from __future__ import annotations

import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from gait.canonical import _as_doubles, _plain, canonical_bytes


def reference(value: object) -> bytes:
    return rfc8785.dumps(_as_doubles(value))


text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=12)
keys = st.one_of(text, st.sampled_from(["a", "B", "_", "é", "\U0001f600", "\ue000", "a\x00"]))
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**60), max_value=2**60),
    st.floats(allow_nan=False, allow_infinity=False),
    text,
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(keys, inner, max_size=4),
    ),
    max_leaves=25,
)


@settings(max_examples=600, deadline=None)
@given(values)
def test_same_bytes_as_rfc8785(value: object) -> None:
    assert canonical_bytes(value) == reference(value)


def test_edge_values() -> None:
    cases = [
        {"k": '\x00\x01\x1f\x7f\u2028\u2029"\\/\b\f\n\r\t'},
        {"z": 1, "a": [True, False, None], "M": {"é": "x", "e": 2**53 - 1}},
        {"a": -(2**53) + 1, "b": 2**53, "c": 1.0, "d": -0.0, "e": 1e21, "f": 5e-07},
        {"\ue000": 1, "\U0001f600": 2},  # UTF-16 order differs from code point order
        [[], {}, "", 0],
    ]
    for value in cases:
        assert canonical_bytes(value) == reference(value)
    assert _plain(cases[0]) and _plain(cases[4])
    assert not _plain(cases[2]) and not _plain(cases[3])


def test_errors_are_the_libraries_errors() -> None:
    for bad in ({1: "int key"}, {"s": {1, 2}}, {"x": "\ud800"}, float("nan")):
        try:
            reference(bad)
        except Exception as want:
            try:
                canonical_bytes(bad)
            except Exception as got:
                assert type(got) is type(want)
            else:
                raise AssertionError(f"no error for {bad!r}")
        else:
            assert canonical_bytes(bad) == reference(bad)


def test_lists_inside_dicts_are_checked_item_by_item() -> None:
    # _plain walks a dict's list values inline; anything non-plain inside still counts.
    assert _plain({"a": ["x", "y"], "b": [["z"], {"k": 1}], "c": True})
    for bad in (2**53, 1.0, 1e21, {"é": 1}, [2**60], object()):
        value = {"a": ["x", bad]}
        assert not _plain(value)
        if type(bad) is not object:  # not JSON: only _plain's answer matters
            assert canonical_bytes(value) == reference(value)
