"""Run the ``gait`` CLI in a child process for end-to-end tests, as a user would."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any


def gait(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The installed ``gait`` (or ``python -m``), with HOME in ``cwd`` and no policy cache."""
    exe = shutil.which("gait")
    base = [exe] if exe else [sys.executable, "-m", "gait.cli.main"]
    env = {**os.environ, "GAIT_NO_CACHE": "1", "HOME": str(cwd)}
    return subprocess.run(
        [*base, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def gait_json(*args: str, cwd: Path, code: int = 0) -> dict[str, Any]:
    """``gait ... --json``: exactly one line of JSON and the expected exit code."""
    proc = gait(*args, "--json", cwd=cwd)
    assert proc.returncode == code, (proc.stdout, proc.stderr)
    (line,) = proc.stdout.splitlines()
    return json.loads(line)
