"""docs/mcp-wrap.md: the quickstart runs as written and prints what the page says."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "mcp-wrap.md"


def doc_block(name: str, lang: str) -> str:
    match = re.search(
        rf"<!-- e2e: {re.escape(name)} -->\n```{lang}\n(.*?)```", DOC.read_text(), re.S
    )
    assert match, f"docs/mcp-wrap.md has no {lang} block marked e2e: {name}"
    return match.group(1)


def run_block(name: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(cwd)}
    # `gait` and `python` resolve to this interpreter's environment, as after `pip install`
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(
        ["bash", "-e", "-c", doc_block(name, "bash")],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_quickstart_runs_as_written(tmp_path: Path) -> None:
    setup = run_block("wrap-setup", tmp_path)
    assert setup.returncode == 0, setup.stderr
    ran = run_block("wrap-run", tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == doc_block("wrap-output", "text")
    # the blocked delete never reached the server; the approved write did
    assert (tmp_path / "notes" / "todo.txt").read_text() == "ship it\n"
    log = (tmp_path / "gateway.log").read_text()
    assert "tool=delete_note verdict=block" in log
    verify = run_block("wrap-verify", tmp_path)
    assert verify.returncode == 0, verify.stderr
    assert verify.stdout == doc_block("wrap-verify-output", "text")
