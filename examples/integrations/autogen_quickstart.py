#!/usr/bin/env python3
"""AutoGen call shape → gait decision.

An AutoGen function call message: ``{"function_call": {"name", "arguments": "<json string>"}}``.

    python examples/integrations/autogen_quickstart.py --scenario allow|block|require_approval
"""

from __future__ import annotations

import json
import sys

from _quickstart import run

CALL = {
    "function_call": {
        "name": "write_file",
        "arguments": json.dumps({"path": "hello.txt", "content": "hello from an agent\n"}),
    }
}

if __name__ == "__main__":
    sys.exit(run("autogen", CALL))
