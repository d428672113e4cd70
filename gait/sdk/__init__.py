"""The gait Python SDK: gate tool calls in process or through ``gait mcp serve``.

Public API (serve_sdk.md §4)::

    from gait.sdk import ToolAdapter, capture_intent, gate_tool, run_session

    adapter = ToolAdapter("policy.yaml")            # compiled once, reused
    ctx = {"identity": "alice", "workspace": "/repo", "risk_class": "high"}

    @gate_tool(adapter, ctx, tool_name="tool.write")
    def write(path: str, content: str) -> int: ...

    with run_session("run_demo") as session:        # runpack on exit
        write("/tmp/out.txt", "hello")               # runs only on allow

Errors: :class:`GaitError` is :class:`gait.errors.GaitError`;
:class:`GateEnforcementError` (a non-allow verdict, tool not run) and
:class:`GaitCommandError` (the decision service failed) derive from it.
Names load lazily, so ``import gait.sdk`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_HOME = {
    "AdapterOutcome": "result",
    "GateEvalResult": "result",
    "GaitCommandError": "errors",
    "GaitError": "errors",
    "GateEnforcementError": "errors",
    "IntentRequest": "intents",
    "capture_intent": "intents",
    "HttpGate": "client",
    "LocalGate": "client",
    "evaluate_gate": "client",
    "ToolAdapter": "adapter",
    "gate_tool": "decorators",
    "RunRecordCapture": "session",
    "RunSession": "session",
    "current_session": "session",
    "run_session": "session",
    "record_runpack": "artifacts",
    "write_trace": "artifacts",
    "capture_demo_runpack": "artifacts",
    "create_regress_fixture": "artifacts",
    "FRAMEWORKS": "frameworks",
    "framework_intent": "frameworks",
    "GaitLangChainCallbackHandler": "langchain",
    "GaitLangChainMiddleware": "langchain",
    "LangChainDecisionMetadata": "langchain",
}

__all__ = [
    "FRAMEWORKS",
    "AdapterOutcome",
    "GaitCommandError",
    "GaitError",
    "GaitLangChainCallbackHandler",
    "GaitLangChainMiddleware",
    "GateEnforcementError",
    "GateEvalResult",
    "HttpGate",
    "IntentRequest",
    "LangChainDecisionMetadata",
    "LocalGate",
    "RunRecordCapture",
    "RunSession",
    "ToolAdapter",
    "capture_demo_runpack",
    "capture_intent",
    "create_regress_fixture",
    "current_session",
    "evaluate_gate",
    "framework_intent",
    "gate_tool",
    "record_runpack",
    "run_session",
    "write_trace",
]

if TYPE_CHECKING:
    from gait.sdk.adapter import ToolAdapter
    from gait.sdk.artifacts import (
        capture_demo_runpack,
        create_regress_fixture,
        record_runpack,
        write_trace,
    )
    from gait.sdk.client import HttpGate, LocalGate, evaluate_gate
    from gait.sdk.decorators import gate_tool
    from gait.sdk.errors import GaitCommandError, GaitError, GateEnforcementError
    from gait.sdk.frameworks import FRAMEWORKS, framework_intent
    from gait.sdk.intents import IntentRequest, capture_intent
    from gait.sdk.langchain import (
        GaitLangChainCallbackHandler,
        GaitLangChainMiddleware,
        LangChainDecisionMetadata,
    )
    from gait.sdk.result import AdapterOutcome, GateEvalResult
    from gait.sdk.session import RunRecordCapture, RunSession, current_session, run_session


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'gait.sdk' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"gait.sdk.{module}"), name)
    globals()[name] = value
    return value
