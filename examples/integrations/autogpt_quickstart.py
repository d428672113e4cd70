#!/usr/bin/env python3
"""AutoGPT call shape → gait decision.

An AutoGPT command with the provenance of the skill that issued it:
``{"command": {"name", "args"}, "skill_provenance": {...}}``.

    python examples/integrations/autogpt_quickstart.py --scenario allow|block|require_approval
"""

from __future__ import annotations

import sys

from _quickstart import run

CALL = {
    "command": {
        "name": "write_file",
        "args": {"path": "hello.txt", "content": "hello from an agent\n"},
    },
    "skill_provenance": {
        "skill_name": "file-writer",
        "skill_version": "1.2.0",
        "source": "registry",
        "publisher": "example-publisher",
    },
}

if __name__ == "__main__":
    sys.exit(run("autogpt", CALL))
