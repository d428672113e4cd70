"""The gate pipeline around ``evaluate()``: what ``gate eval``, the proxy and the SDK run.

evaluate → rate limits / budgets → approvals / delegation → broker → simulate → signed trace.
"""

from __future__ import annotations

from gait.gate.pipeline import GateRequest, GateResult, run_gate
from gait.gate.service import Gate, GateOptions

__all__ = ["Gate", "GateOptions", "GateRequest", "GateResult", "run_gate"]
