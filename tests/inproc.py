"""Run the gait CLI in this process (fast): exit code and stdout, stderr dropped."""

from __future__ import annotations

import contextlib
import io


def run_cli(*args: str) -> tuple[int, str]:
    """``gait <args>`` in-process: (exit code, stdout)."""
    from gait.cli.main import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(list(args))
    return code, out.getvalue()
