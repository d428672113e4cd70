"""The fast repeated-key proof in gait.intent.decode agrees with the full check.

``_no_repeated_keys`` may only say "none" when the full check
(``gait.safejson.check_duplicate_keys``) finds none; and decoding with the
proof on or forced off gives the same intent or the same error.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gait.errors import GaitError, InvalidInput
from gait.intent import decode as decode_module
from gait.intent import decode_intent_bytes
from gait.safejson import check_duplicate_keys

KEYS = st.sampled_from(
    ["a", "A", "b", "path", "Path", "tool_name", "Tool_Name", ":", ": x", "x:", "a b", "é", "É"]
) | st.text(alphabet='ab:" \\\u00e9', max_size=4)
SPACE = st.sampled_from(["", " ", "\n", "\t ", "\r\n"])
SCALARS = (
    st.text(alphabet='ab:" \\/\u00e9\u0041', max_size=6).map(json.dumps)
    | st.sampled_from(['"\\u0041"', '"\\\\"', '":"', '" : "', "1E3", "-0.5", "true", "null"])
    | st.integers(-(10**20), 10**20).map(str)
)


def _render(pairs: list[tuple[str, str, str, str, bool]]) -> str:
    return (
        "{"
        + ",".join(f"{w1}{json.dumps(k, ensure_ascii=a)}{w2}:{v}" for k, v, w1, w2, a in pairs)
        + "}"
    )


def objects(depth: int) -> st.SearchStrategy[str]:
    value = SCALARS if depth == 0 else SCALARS | objects(depth - 1) | arrays(depth - 1)
    pair = st.tuples(KEYS, value, SPACE, SPACE, st.booleans())
    return st.lists(pair, max_size=4).map(_render)


def arrays(depth: int) -> st.SearchStrategy[str]:
    return st.lists(SCALARS | objects(depth), max_size=3).map(lambda xs: "[" + ",".join(xs) + "]")


def intents() -> st.SearchStrategy[str]:
    """Intent documents the typed decoder takes, with arbitrary args and a few extras."""
    return st.builds(
        lambda args, extra, ws: (
            '{"tool_name":"fs.read",'
            + ws
            + '"args":'
            + args
            + extra
            + ',"targets":[{"kind":"path","value":"/x"}],'
            '"context":{"identity":"i","workspace":"/w","risk_class":"low"}}'
        ),
        objects(2),
        st.sampled_from(
            ["", ',"args":{}', ',"Args":{"a":1}', ',"tool_name":"x"', ',"TOOL_NAME":"y"']
        ),
        SPACE,
    )


def _full_check(data: bytes) -> str | None:
    try:
        check_duplicate_keys(data, "intent")
    except InvalidInput as err:
        return err.message
    return None


@settings(max_examples=400, deadline=None)
@given(st.one_of(intents(), objects(3)))
def test_fast_proof_never_hides_a_repeated_key(text: str) -> None:
    data = text.encode("utf-8")
    if decode_module._no_repeated_keys(data):
        assert _full_check(data) is None, text


def _outcome(data: bytes) -> Any:
    try:
        return ("ok", dict(decode_intent_bytes(data)))
    except GaitError as err:
        return ("error", err.exit_code, err.message)


@settings(max_examples=300, deadline=None)
@given(intents())
def test_fast_and_general_paths_agree(text: str) -> None:
    data = text.encode("utf-8")
    fast = _outcome(data)
    original = decode_module._no_repeated_keys
    decode_module._no_repeated_keys = lambda _data: False  # the general path
    try:
        general = _outcome(data)
    finally:
        decode_module._no_repeated_keys = original
    assert fast == general, text


@pytest.mark.parametrize(
    "text",
    [
        '{"tool_name":"a","args":{"x":1,"x":2}}',
        '{"tool_name":"a","args":{"x":1, "X" :2}}',
        '{"tool_name":"a","args":{"k":{"q":":","q":1}}}',
        '{"tool_name":"a","args":{"k":[{"q":1},{"q":2,"Q":3}]}}',
        '{"tool_name":"a","tool_name":"b"}',
        '{"tool_name":"a","args":{"\\\\":1,"\\\\":2}}',
    ],
)
def test_repeated_keys_are_not_proven_absent(text: str) -> None:
    data = text.encode()
    assert decode_module._no_repeated_keys(data) is False
    with pytest.raises(GaitError, match="duplicate key"):
        decode_intent_bytes(data)


def test_common_intent_takes_the_fast_proof() -> None:
    data = (
        b'{"tool_name":"http.post","args":{"url":"https://x.test/a","body":"a: b"},'
        b'"targets":[{"kind":"url","value":"https://x.test/a"}],'
        b'"context":{"identity":"i","workspace":"/w","risk_class":"high"}}'
    )
    assert decode_module._no_repeated_keys(data) is True
    assert decode_module._no_repeated_keys(data.replace(b'"body"', b'"URL"')) is False


def test_pretty_printed_intent_takes_the_fast_proof_too() -> None:
    doc = {
        "tool_name": "fs.read",
        "args": {"path": "/repo/README.md", "note": ": x"},
        "targets": [{"kind": "path", "value": "/repo/README.md"}],
        "context": {"identity": "i", "workspace": "/w", "risk_class": "low"},
    }
    data = json.dumps(doc, indent=2).encode()
    assert decode_module._no_repeated_keys(data) is True
    assert dict(decode_intent_bytes(data)) == dict(decode_intent_bytes(json.dumps(doc).encode()))
    repeated = data.replace(b'"note"', b'"PATH"')
    assert decode_module._no_repeated_keys(repeated) is False
