"""The gate pipeline around ``evaluate()``: what ``gate eval``, the proxy and the SDK run.

evaluate → rate limits / budgets → approvals / delegation → broker → simulate → signed trace.
"""

from __future__ import annotations

from gait.gate.pipeline import GateCall, GateEnv, GateResult, run_pipeline
from gait.gate.service import Gate, GateOptions

__all__ = ["Gate", "GateCall", "GateEnv", "GateOptions", "GateResult", "run_pipeline"]
