"""The quick start in docs/sdk.md runs as written and prints what the page shows."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from .conftest import REPO

DOC = REPO / "docs" / "sdk.md"


def _quickstart() -> tuple[str, str]:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    output = re.search(r"Output:\n\n```\n(.*?)```", section, re.S)
    assert code and output, "docs/sdk.md quick start must have a python block and its output"
    return code.group(1), output.group(1)


def test_quickstart_runs_and_prints_the_documented_output(tmp_path: Path) -> None:
    code, expected = _quickstart()
    (tmp_path / "quickstart.py").write_text(code)
    proc = subprocess.run(
        [sys.executable, "quickstart.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == expected
    assert (tmp_path / "notes.txt").is_file()  # the delete was blocked
    from gait.runpack import verify_runpack

    assert verify_runpack(tmp_path / "gait-out" / "runpack_run_quickstart.zip").ok
    traces = sorted(p.name for p in (tmp_path / "gait-out" / "traces").iterdir())
    assert traces == [
        "trace_run_quickstart_intent_0001.json",
        "trace_run_quickstart_intent_0002.json",
    ]
