"""safejson.loads' C path for plain documents answers exactly as its general path.

Documents are generated as pairs (keys may repeat, exactly or in another case),
with floats, big integers, escapes, non-ASCII text and control characters among
the values, written compact, spaced or indented, and sometimes broken; the
answer (value with its exact types, or error type and message) must be the same
with the C path and without it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gait import safejson
from gait.errors import InvalidInput
from tests.test_safejson_fast_path import docs, render

KEYS = st.sampled_from(["a", "A", "b", "tool", "Tool", "x:y", ": z", "é", "k\\u", "\x01"])
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.sampled_from([10**300, 10**301, -(10**301), 2**63, -(2**63), 2**64 - 1, 2**64]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(alphabet=' :"\\aAé\t\x7f\u2028{}[],\ud800', max_size=6),
)


DOCS = docs(KEYS, SCALARS)


def typed(value: Any) -> Any:
    """The value with every scalar's exact type, so 1, 1.0 and True differ."""
    if isinstance(value, dict):
        return ("dict", [(k, typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [typed(v) for v in value])
    return (type(value).__name__, repr(value))


def answer(data: bytes) -> tuple[Any, ...]:
    try:
        return ("ok", typed(safejson.loads(data, "doc")))
    except InvalidInput as err:
        return ("error", type(err).__name__, err.message)


def general(data: bytes, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, ...]:
    with monkeypatch.context() as m:
        m.setattr(safejson, "_plain_loads", lambda _data: safejson._NOT_PLAIN)
        return answer(data)


BREAKS = ["", "x", "]", ",", "NaN", "\x0c", "\x00", "1e999", "-", '"']


@settings(max_examples=400, deadline=None)
@given(
    DOCS,
    st.integers(0, 2),
    st.booleans(),
    st.sampled_from(BREAKS),
    st.integers(0, 40),
)
def test_plain_path_answers_as_the_general_path(
    doc: Any, style: int, escape: bool, brk: str, where: int
) -> None:
    text = render(doc, style, escape)
    if brk:
        at = where % (len(text) + 1)
        text = text[:at] + brk + text[at:]
    data = text.encode("utf-8", "surrogatepass")
    mp = pytest.MonkeyPatch()
    try:
        assert answer(data) == general(data, mp)
    finally:
        mp.undo()


@pytest.mark.parametrize(
    "data",
    [
        b'{"a":1,"b":[true,false,null,"x"],"c":{"d":-9223372036854775808}}',
        b' { "run_id" : "r1" ,\n "files" : [ ] }\t',
        b'{"big":18446744073709551615}',
    ],
)
def test_plain_documents_take_the_c_path(data: bytes) -> None:
    assert safejson._plain_loads(data) is not safejson._NOT_PLAIN
    assert safejson.loads(data, "doc") == json.loads(data)


@pytest.mark.parametrize(
    "data",
    [
        b'{"a":1.5}',  # floats: the general path's rules
        b'{"a":18446744073709551616}',  # beyond 64 bits
        b'{"a":1,"A":2}',  # a key repeated in another case
        b'{"a":"\\u00e9"}',  # escapes
        '{"a":"é"}'.encode(),  # non-ASCII
        b'{"a":NaN}',
        b'{"a":1} x',
    ],
)
def test_anything_else_takes_the_general_path(data: bytes) -> None:
    assert safejson._plain_loads(data) is safejson._NOT_PLAIN


def test_verify_loads_no_json_package_for_its_documents() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from gait.safejson import loads\n"
        'loads(b\'{"run_id": "r", "files": [{"path": "a", "n": 1}]}\', \'doc\')\n'
        "print('json' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "False"
