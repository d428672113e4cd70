"""Floats on the stdlib fast path of canonical_bytes give exactly the JCS library's bytes.

Trace records carry ``latency_ms`` (a float), so they hash on the fast path only
if non-integral floats in plain-notation range do; any float that would differ
(exponent ranges, integral values, -0.0) must keep taking the general path.
"""

from __future__ import annotations

import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from gait.canonical import _as_doubles, _plain, canonical_bytes


def reference(value: object) -> bytes:
    return rfc8785.dumps(_as_doubles(value))


@settings(max_examples=1500, deadline=None)
@given(
    st.one_of(
        st.floats(allow_nan=False, allow_infinity=False),
        st.floats(min_value=1e-5, max_value=1e-3),
        st.floats(min_value=1e15, max_value=1e17),
        st.integers(min_value=0, max_value=10**9).map(lambda n: round(n / 1000, 3)),
    )
)
def test_float_bytes_match_jcs(x: float) -> None:
    assert canonical_bytes({"latency_ms": x, "v": [x, -x]}) == reference(
        {"latency_ms": x, "v": [x, -x]}
    )


def test_boundaries_and_which_path() -> None:
    fast = [0.123, 1e-4, -1e-4, 0.1 + 0.2, 123.456, 9999999999999998.0 - 0.5, 1e16 - 2.5]
    slow = [5.0, -0.0, 0.0, 9.9e-5, 1e-7, 1e16, 1.5e16, 1e21, 2.0**60]
    for x in fast + slow:
        assert canonical_bytes([x]) == reference([x]), x
    assert all(_plain(x) for x in fast if not x.is_integer())
    assert not any(_plain(x) for x in slow)
