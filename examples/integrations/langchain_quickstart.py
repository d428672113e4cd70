#!/usr/bin/env python3
"""LangChain call shape → gait decision.

A LangChain ``ToolCall``: ``{"name", "args", "id"}`` (built with langchain-core
when it is installed).

    python examples/integrations/langchain_quickstart.py --scenario allow|block|require_approval
"""

from __future__ import annotations

import sys

from _quickstart import run

ARGS = {"path": "hello.txt", "content": "hello from an agent\n"}

try:
    from langchain_core.messages.tool import tool_call

    CALL = dict(tool_call(name="write_file", args=ARGS, id="call_quickstart_1"))
except ImportError:  # the same documented shape without the package
    CALL = {"name": "write_file", "args": ARGS, "id": "call_quickstart_1", "type": "tool_call"}

if __name__ == "__main__":
    sys.exit(run("langchain", CALL))
