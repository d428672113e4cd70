"""The compiler's trip through the canonical DSL: exact read-back, or normalize and agree.

Rendered DSL normally reads back as exactly the normalized policy. When it does
not, the mapping is decoded and normalized like any DSL file and must then be
equal; anything else is an internal failure, never a silently different table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gait.errors import InternalFailure
from gait.policy import compile_policy
from gait.policy import dsl as dsl_module

REPO = Path(__file__).resolve().parents[2]
POLICY = REPO / "examples" / "policy" / "base_high_risk.yaml"


def _patched(monkeypatch: pytest.MonkeyPatch, change: Any) -> None:
    real = dsl_module.parse_canonical_dsl

    def parse(text: str) -> dict[str, Any]:
        raw = real(text)
        change(raw)
        return raw

    monkeypatch.setattr(dsl_module, "parse_canonical_dsl", parse)


def test_exact_read_back_gives_the_same_table() -> None:
    data = POLICY.read_bytes()
    assert compile_policy(data).ir == compile_policy(data).ir


def test_a_spelling_the_normalizer_evens_out_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    want = compile_policy(POLICY.read_bytes()).ir

    def upper(raw: dict[str, Any]) -> None:
        raw["rules"][0]["match"]["endpoint_classes"] = [
            v.upper() for v in raw["rules"][0]["match"]["endpoint_classes"]
        ]

    _patched(monkeypatch, upper)
    assert compile_policy(POLICY.read_bytes()).ir == want


@pytest.mark.parametrize(
    "change",
    [
        lambda raw: raw["rules"][0].__setitem__("effect", "allow"),
        lambda raw: raw["rules"].pop(),
        lambda raw: raw.__setitem__("default_verdict", "allow"),
    ],
)
def test_a_different_policy_is_an_internal_failure(
    monkeypatch: pytest.MonkeyPatch, change: Any
) -> None:
    _patched(monkeypatch, change)
    with pytest.raises(InternalFailure):
        compile_policy(POLICY.read_bytes())
