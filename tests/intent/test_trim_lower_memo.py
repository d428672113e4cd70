"""normalize._tl remembers results; remembered or not, it is strip(GO_SPACE) then lower."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gait.intent import normalize
from gait.intent._text import GO_SPACE, lower


def direct(value: str) -> str:
    value = value.strip(GO_SPACE)
    return value.lower() if value.isascii() else lower(value)


@given(st.text(alphabet=st.sampled_from(["a", "B", " ", "\t", "\u0130", "\u00c9", "\x85", "-"])))
def test_remembered_results_are_the_direct_ones(value: str) -> None:
    first = normalize._tl(value)
    assert first == normalize._tl(value) == (direct(value) if value else "")


def test_the_memo_is_bounded() -> None:
    for i in range(5000):
        normalize._tl(f"Value-{i}")
    assert len(normalize._TL_MEMO) <= 4096
    assert normalize._tl(" Value-4999 ") == "value-4999"
