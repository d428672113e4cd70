"""A script step's verdict is a frozen msgspec Struct built positionally by the engine."""

from __future__ import annotations

import msgspec
import pytest

from gait.engine import StepVerdict


def test_positional_construction_and_rendering_are_unchanged() -> None:
    step = StepVerdict(2, "fs.write", "block", ("r1",), ("v1",), ("a,b", "c"))
    assert (step.index, step.tool_name, step.verdict) == (2, "fs.write", "block")
    assert step.matched_rule == "a,b,c"
    assert step.to_dict() == {
        "index": 2,
        "tool_name": "fs.write",
        "verdict": "block",
        "reason_codes": ["r1"],
        "violations": ["v1"],
        "matched_rule": "a,b,c",
    }
    bare = StepVerdict(0, "fs.read", "allow", (), (), ())
    assert list(bare.to_dict()) == ["index", "tool_name", "verdict"]


def test_step_verdicts_are_immutable_values() -> None:
    step = StepVerdict(0, "fs.read", "allow", (), (), ())
    with pytest.raises(AttributeError):
        step.verdict = "block"  # type: ignore[misc]
    assert step == StepVerdict(0, "fs.read", "allow", (), (), ())
    assert isinstance(step, msgspec.Struct)
