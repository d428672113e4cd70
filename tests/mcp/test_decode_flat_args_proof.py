"""The flat-object key proof for argument strings agrees with the full repeated-key check."""

from __future__ import annotations

import json
from typing import Any

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

import gait.mcp.decode as dec
from gait.errors import GaitError
from gait.safejson import check_duplicate_keys

KEYS = st.sampled_from(["path", "Path", "PATH", "q", "Q", "url", "a b", "1", "$", ":", "k:"])
SCALARS = st.one_of(
    st.one_of(st.integers(-5, 5), st.booleans(), st.none()).map(json.dumps),
    st.sampled_from(['":"', '": x"', '" :"', '"/repo/a"', '"é"', '"\\"q"', '"\\u0041"', '"a\\\\"']),
)
VALUES = st.one_of(
    SCALARS,
    st.sampled_from(["{}", "[]", '[":"]', '{"path":1}', '{"q":1,"Q":2}', '[{"a":1,"a":2}]']),
)
SPACES = st.sampled_from(["", " ", "\n", "\t "])


@st.composite
def flat_texts(draw: st.DrawFn) -> bytes:
    pairs = draw(st.lists(st.tuples(KEYS, VALUES), max_size=5))
    sp = draw(SPACES)
    body = f",{sp}".join(f"{json.dumps(k)}{sp}:{sp}{v}" for k, v in pairs)
    return ("{" + sp + body + sp + "}").encode()


def checked(data: bytes) -> tuple[str, Any]:
    try:
        check_duplicate_keys(data, "x")
    except GaitError:
        return ("repeat", None)
    return ("ok", msgspec.json.decode(data))


@settings(max_examples=600, deadline=None)
@given(flat_texts())
def test_proof_never_passes_a_repeat(data: bytes) -> None:
    expected = checked(data)
    value = msgspec.json.decode(data)
    if dec._flat_keys_distinct(data, value):
        assert expected == ("ok", value)
    fast = dec._fast_json(data)
    if fast is not dec._UNPROVEN:
        assert expected == ("ok", fast)


@settings(max_examples=300, deadline=None)
@given(flat_texts())
def test_arguments_same_with_and_without_fast_path(data: bytes) -> None:
    def run() -> tuple[str, Any]:
        try:
            return ("ok", dec._object_arguments(data.decode(), "openai arguments", "f"))
        except GaitError as err:
            return ("error", (err.message, err.exit_code))

    fast = run()
    saved = dec._fast_json
    dec._fast_json = lambda data: dec._UNPROVEN  # type: ignore[assignment]
    try:
        general = run()
    finally:
        dec._fast_json = saved  # type: ignore[assignment]
    assert fast == general


def test_plain_arguments_take_the_flat_proof() -> None:
    for text in (b'{"path": "/repo/README.md"}', b'{"q":"gait","n":1}', b"{}"):
        assert dec._flat_keys_distinct(text, msgspec.json.decode(text))
    for text in (b'{"q":1,"q":2}', b'{"q":1,"Q":2}', b'{"a":{"b":1}}', b'{"a":"\\u0041"}'):
        assert not dec._flat_keys_distinct(text, msgspec.json.decode(text))
