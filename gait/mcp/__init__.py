"""Tool calls from agent runtimes meet the gate (serve_sdk.md §1-§2).

:func:`decode_tool_call` turns an adapter payload (MCP, OpenAI, Anthropic,
LangChain, Claude Code) into a normalized intent; :func:`evaluate_call`
decides it through a :class:`gait.gate.Gate` and writes the signed trace and
optional runpack / exports. Nothing here executes a tool.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

# Submodules load on first use: importing gait.mcp stays cheap.
_LAZY = {
    "ADAPTERS": "decode",
    "DecodedCall": "decode",
    "ToolCall": "decode",
    "decode_tool_call": "decode",
    "ProxyResult": "proxy",
    "default_trace_name": "proxy",
    "evaluate_call": "proxy",
    "normalize_run_id": "proxy",
    "resolve_run_id": "proxy",
}

if TYPE_CHECKING:
    from gait.mcp.decode import ADAPTERS, DecodedCall, ToolCall, decode_tool_call
    from gait.mcp.proxy import (
        ProxyResult,
        default_trace_name,
        evaluate_call,
        normalize_run_id,
        resolve_run_id,
    )


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'gait.mcp' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"gait.mcp.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "ADAPTERS",
    "DecodedCall",
    "ProxyResult",
    "ToolCall",
    "decode_tool_call",
    "default_trace_name",
    "evaluate_call",
    "normalize_run_id",
    "resolve_run_id",
]
