"""The integration quickstarts run as a user runs them (a child process per scenario)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO

EXAMPLES = REPO / "examples" / "integrations"
EXIT = {"allow": 0, "block": 3, "require_approval": 4}


def _run(script: Path, scenario: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(script), "--scenario", scenario],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("framework", ["openai_agents", "autogen", "autogpt", "langchain"])
def test_quickstart_scenarios(framework: str, tmp_path: Path) -> None:
    script = EXAMPLES / f"{framework}_quickstart.py"
    for scenario, code in EXIT.items():
        proc = _run(script, scenario, tmp_path)
        assert proc.returncode == code, proc.stderr
        lines = dict(line.split("=", 1) for line in proc.stdout.splitlines())
        assert lines["framework"] == framework
        assert lines["scenario"] == scenario
        assert lines["verdict"] == scenario
        assert lines["executed"] == ("true" if scenario == "allow" else "false")
        assert (tmp_path / lines["trace_path"]).is_file()
        written = tmp_path / "gait-out" / "integrations" / framework / "hello.txt"
        if scenario == "allow":
            assert lines["executor_output"].startswith("wrote 20 bytes to ")
            assert written.read_text() == "hello from an agent\n"
            written.unlink()
        else:
            assert "executor_output" not in lines
            assert not written.exists()
        assert "Traceback" not in proc.stderr
