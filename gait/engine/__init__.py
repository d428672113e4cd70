"""The policy interpreter. One engine: every command and the SDK call :func:`evaluate`."""

from __future__ import annotations

from gait.engine.decision import Decision, StepVerdict
from gait.engine.evaluate import evaluate
from gait.engine.verdicts import RANK, UnknownVerdict, Verdict, most_restrictive, rank

__all__ = [
    "RANK",
    "Decision",
    "StepVerdict",
    "UnknownVerdict",
    "Verdict",
    "evaluate",
    "most_restrictive",
    "rank",
]
