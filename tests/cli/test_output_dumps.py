"""gait.cli.output.dumps writes plain values in C with the bytes json.dumps gives.

Whatever the value (nested dicts with any keys, lists and tuples, big and small
integers, floats of every magnitude, text with escapes, control characters,
non-ASCII and lone surrogates), the text equals
``json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``
or, where that raises, dumps raises the same error type.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gait.cli.output import dumps

TEXT = st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from("\x00\x1f\x7f\u2028\ud800"))
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**60), 2**60),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.floats(),
    TEXT,
)
KEYS = st.one_of(TEXT, st.sampled_from(["a", "B", "b", "A", "_", "é", "z"]))
VALUES = st.recursive(
    SCALARS,
    lambda c: st.one_of(
        st.lists(c, max_size=4),
        st.lists(c, max_size=3).map(tuple),
        st.dictionaries(KEYS, c, max_size=4),
    ),
    max_leaves=15,
)


def stdlib(value: Any) -> tuple[str, str]:
    try:
        return "ok", json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except Exception as err:
        return "error", type(err).__name__


def ours(value: Any) -> tuple[str, str]:
    try:
        return "ok", dumps(value)
    except Exception as err:
        return "error", type(err).__name__


@settings(max_examples=500, deadline=None)
@given(VALUES)
def test_dumps_is_json_dumps(value: Any) -> None:
    assert ours(value) == stdlib(value)


def test_envelope_like_payloads() -> None:
    payload = {
        "ok": True,
        "verdict": "block",
        "reason_codes": ["destructive_blocked"],
        "correlation_id": "0" * 24,
        "exit_code": 3,
        "nested": {"é": 'ü\n\t"', "list": [1, 2.5, None, False], "z": 10**20},
    }
    assert dumps(payload) == stdlib(payload)[1]


def test_plain_payloads_load_no_json_package() -> None:
    code = (
        "import sys\n"
        "import gait.canonical\n"
        "from gait.cli.output import dumps\n"
        "dumps({'ok': True, 'files': ['a', 'b'], 'n': 3})\n"
        "print('json' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "False"
