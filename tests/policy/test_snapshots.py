"""Golden output for every shipped policy: canonical DSL text and the IR as JSON (syrupy)."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from gait.policy import compile_policy_file
from gait.policy.dsl import render_dsl

REPO = Path(__file__).resolve().parents[2]
POLICIES = sorted(REPO.glob("policies/*.yaml"))


def test_every_shipped_policy_is_covered() -> None:
    assert [p.name for p in POLICIES] == [
        "base_high_risk.yaml",
        "base_low_risk.yaml",
        "base_medium_risk.yaml",
        "prompt_injection.yaml",
    ]


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.stem)
def test_canonical_dsl_snapshot(path: Path, snapshot) -> None:
    compiled = compile_policy_file(path, use_cache=False)
    assert render_dsl(compiled.policy) == snapshot


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.stem)
def test_ir_json_snapshot(path: Path, snapshot) -> None:
    compiled = compile_policy_file(path, use_cache=False)
    encoded = msgspec.json.encode(compiled.ir, order="deterministic")
    assert msgspec.json.format(encoded, indent=2).decode() == snapshot
