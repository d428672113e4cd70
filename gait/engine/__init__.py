"""The policy interpreter. One engine: every command and the SDK call :func:`evaluate`."""

from __future__ import annotations

from gait.engine.decision import Decision, StepVerdict
from gait.engine.evaluate import evaluate
from gait.engine.verdicts import RANK, most_restrictive

__all__ = ["RANK", "Decision", "StepVerdict", "evaluate", "most_restrictive"]
