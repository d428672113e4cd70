"""The hot command bodies run with the cyclic collector paused and restore it after."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from gait.cli.gate_eval import run_gate_eval
from gait.cli.outcome import gc_paused
from gait.cli.policytest import run_policy_test
from gait.cli.trace_verify import verify_trace_file
from gait.cli.verify_runpack import verify_one
from gait.errors import InvalidInput

REPO = Path(__file__).resolve().parents[2]
POLICY = REPO / "examples" / "policy" / "base_high_risk.yaml"
INTENT = REPO / "examples" / "policy" / "intents" / "intent_delete.json"


def test_paused_while_running_and_restored_after_return_and_error() -> None:
    seen: list[bool] = []

    @gc_paused
    def body(fail: bool) -> str:
        """Doc."""
        seen.append(gc.isenabled())
        if fail:
            raise InvalidInput("no")
        return "done"

    assert body.__name__ == "body" and body.__doc__ == "Doc."
    assert gc.isenabled()
    assert body(False) == "done"
    assert gc.isenabled()
    with pytest.raises(InvalidInput):
        body(True)
    assert gc.isenabled()
    assert seen == [False, False]
    gc.disable()
    try:  # a caller that paused it itself keeps it paused
        assert body(False) == "done"
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_hot_bodies_are_paused_and_give_the_same_outcome() -> None:
    for fn in (run_gate_eval, run_policy_test, verify_one, verify_trace_file):
        assert fn.__wrapped__ is not fn  # type: ignore[attr-defined]
    paused = run_policy_test(str(POLICY), str(INTENT))
    plain = run_policy_test.__wrapped__(str(POLICY), str(INTENT))  # type: ignore[attr-defined]
    assert (paused.exit_code, paused.payload) == (plain.exit_code, plain.payload)
    assert paused.exit_code == 3
    assert gc.isenabled()
