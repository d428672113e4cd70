"""The typed repeated-key proof (compact text in field order) agrees with the full check.

``_typed_no_repeats`` may only say "none" when ``check_duplicate_keys`` finds
none, and decoding with it (and the other proof) forced off gives the same
intent or the same error.
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

KEYS = st.sampled_from(["a", "A", "b", "c", "path", "Path", "x_y", "X_Y", "1", "é", "É", ":"])
SCALARS = st.sampled_from(['"v"', '":"', '"a\\"b"', "1", "true", "null", '"\\u0041"', "[]"])


def compact_object(depth: int) -> st.SearchStrategy[str]:
    value = SCALARS if depth == 0 else SCALARS | compact_object(depth - 1)
    pairs = st.lists(st.tuples(KEYS, value), max_size=4)
    return pairs.map(lambda ps: "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in ps) + "}")


def compact_intents() -> st.SearchStrategy[str]:
    """Compact intents in field order, with repeats where a person or a bug puts them."""
    return st.builds(
        lambda args, auth, extra, tail: (
            '{"tool_name":"fs.read"'
            + extra
            + ',"args":'
            + args
            + ',"targets":[{"kind":"path","value":"/x"}],'
            '"context":{"identity":"i","workspace":"/w","risk_class":"low"'
            + (',"auth_context":' + auth if auth else "")
            + "}"
            + tail
            + "}"
        ),
        compact_object(2),
        st.one_of(st.just(""), compact_object(1)),
        st.sampled_from(["", "", "", ',"tool_name":"x"', ',"args":{}']),
        st.sampled_from(["", "", "", ',"context":{}', ',"relationship":{"a":1,"A":2}']),
    )


def _full_check(data: bytes) -> str | None:
    try:
        check_duplicate_keys(data, "intent")
    except InvalidInput as err:
        return err.message
    return None


def _typed_proof(data: bytes) -> bool:
    try:
        raw = decode_module._decode_raw(data)
    except Exception:
        return False
    return decode_module._typed_no_repeats(data, raw)


@settings(max_examples=500, deadline=None)
@given(compact_intents())
def test_typed_proof_never_hides_a_repeated_key(text: str) -> None:
    data = text.encode("utf-8")
    if _typed_proof(data):
        assert _full_check(data) is None, text


def _outcome(data: bytes) -> Any:
    try:
        return ("ok", dict(decode_intent_bytes(data)))
    except GaitError as err:
        return ("error", err.exit_code, err.message)


@settings(max_examples=300, deadline=None)
@given(compact_intents())
def test_decoding_with_and_without_the_proofs_agrees(text: str) -> None:
    data = text.encode("utf-8")
    fast = _outcome(data)
    typed, plain = decode_module._typed_no_repeats, decode_module._no_repeated_keys
    decode_module._typed_no_repeats = lambda _data, _raw: False
    decode_module._no_repeated_keys = lambda _data: False
    try:
        general = _outcome(data)
    finally:
        decode_module._typed_no_repeats, decode_module._no_repeated_keys = typed, plain
    assert fast == general, text


BASE = (
    '{"tool_name":"fs.read","args":ARGS,"targets":[{"kind":"path","value":"/x"}],'
    '"context":{"identity":"i","workspace":"/w","risk_class":"low"}}'
)


@pytest.mark.parametrize("args", ['{"path":"/x"}', '{"a":{"b":[{"c":1,"d":2}]},"e":"f"}'])
def test_compact_intents_in_field_order_take_the_typed_proof(args: str) -> None:
    assert _typed_proof(BASE.replace("ARGS", args).encode()) is True


@pytest.mark.parametrize(
    "text",
    [
        BASE.replace("ARGS", '{"x":1,"X":2}'),
        BASE.replace("ARGS", '{"k":[{"q":1},{"q":2,"Q":3}]}'),
        BASE.replace("ARGS", '{"x":1,"x":2}'),
        BASE.replace("ARGS", '{"é":1,"É":2}'),  # no ASCII capital anywhere
        BASE.replace("ARGS", '{"k":1,"\u212a":2}'),  # Kelvin sign
        BASE.replace("ARGS", '{"p":1}').replace('"tool_name":"fs.read"', '"tool_name":"a","tool_name":"fs.read"'),
    ],
)  # fmt: skip
def test_repeated_keys_are_not_proven_absent(text: str) -> None:
    data = text.encode("utf-8")
    assert _typed_proof(data) is False
    with pytest.raises(GaitError, match="duplicate key"):
        decode_intent_bytes(data)


def test_deeply_nested_args_decode_as_on_the_general_path() -> None:
    args = '{"a":' * 980 + "1" + "}" * 980
    data = BASE.replace("ARGS", args).encode()
    assert _typed_proof(data) is True
    typed, plain = decode_module._typed_no_repeats, decode_module._no_repeated_keys
    fast = _outcome(data)
    decode_module._typed_no_repeats = lambda _data, _raw: False
    decode_module._no_repeated_keys = lambda _data: False
    try:
        general = _outcome(data)
    finally:
        decode_module._typed_no_repeats, decode_module._no_repeated_keys = typed, plain
    assert fast == general and fast[0] == "ok"


def _folding_everywhere(data: bytes, raw: Any) -> bool:
    """The proof with every free-form map through the general folding check."""
    fold = decode_module._folded_keys_distinct
    if decode_module._encode(raw) != data:
        return False
    maps = [raw.args, raw.relationship, raw.context.auth_context if raw.context else None]
    return all(not m or fold(m) for m in maps)


FLAT_ARGS = st.dictionaries(
    st.sampled_from(["a", "A", "b", "url", "URL", "body", "1", "é", "É", "x_y", "ſ", "s"]),
    st.one_of(st.sampled_from(["v", 1, 1.5, True, None]), st.just({"K": 1, "k": 2}), st.just([{}])),
    max_size=4,
)


@settings(max_examples=250, deadline=None)
@given(
    st.one_of(
        compact_intents(),
        FLAT_ARGS.map(
            lambda a: BASE.replace("ARGS", json.dumps(a, separators=(",", ":"), ensure_ascii=False))
        ),
    )
)
def test_flat_args_shortcut_agrees_with_the_folding_check(text: str) -> None:
    data = text.encode("utf-8")
    try:
        raw = decode_module._decode_raw(data)
    except Exception:
        return
    assert decode_module._typed_no_repeats(data, raw) == _folding_everywhere(data, raw), text
