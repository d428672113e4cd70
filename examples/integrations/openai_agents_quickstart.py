#!/usr/bin/env python3
"""OpenAI Agents SDK call shape → gait decision.

A function tool call as the Agents SDK reports it: ``{"name", "arguments"}``.

    python examples/integrations/openai_agents_quickstart.py --scenario allow|block|require_approval
"""

from __future__ import annotations

import sys

from _quickstart import run

CALL = {
    "name": "write_file",
    "arguments": {"path": "hello.txt", "content": "hello from an agent\n"},
}

if __name__ == "__main__":
    sys.exit(run("openai_agents", CALL))
