"""docs/serve.md: the copy-paste quickstart runs as written (port swapped for a free one)."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

from tests.serve.conftest import REPO

DOC = REPO / "docs" / "serve.md"


def _block(marker: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    match = re.search(rf"<!-- e2e: {marker} -->\n```bash\n(.*?)```", text, re.S)
    assert match, f"no e2e block {marker} in {DOC}"
    return match.group(1)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_quickstart_runs_and_blocks_the_delete(tmp_path: Path):
    assert shutil.which("curl"), "the quickstart uses curl"
    script = _block("serve-quickstart")
    script = script.replace("127.0.0.1:8787", f"127.0.0.1:{_free_port()}")
    script = script.replace("examples/policy/", f"{REPO}/examples/policy/")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(
        ["bash", "-e", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    health, decision = lines
    assert health["ok"] is True and health["service"] == "gait.mcp.serve"
    assert decision["verdict"] == "block" and decision["exit_code"] == 3
    assert decision["matched_rule"] == "block-destructive"
    assert (tmp_path / decision["trace_path"]).is_file()
    assert "Traceback" not in result.stderr
