"""docs/first-ten-minutes.md runs as written: every bash block, in order, in one empty directory.

Each ```bash block runs with ``bash -e`` (a failing command fails the test);
the ```text block that follows it, if any, lists lines the output must contain
(``...`` stands for a value that changes from run to run). The install step
(the ```sh block) is the README's install command; this test runs inside that
installed environment, so it checks the command is the same and ``gait`` is
the installed one instead of installing again.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PAGE = REPO / "docs" / "first-ten-minutes.md"
FENCE = re.compile(r"```(\w+)\n(.*?)```", re.S)


def steps() -> list[tuple[str, list[str]]]:
    """``(bash script, expected lines)`` for every bash block of the page."""
    blocks = FENCE.findall(PAGE.read_text())
    out: list[tuple[str, list[str]]] = []
    for i, (lang, body) in enumerate(blocks):
        if lang != "bash":
            continue
        following = blocks[i + 1] if i + 1 < len(blocks) else ("", "")
        expected = following[1].splitlines() if following[0] == "text" else []
        out.append((body, [line for line in expected if line.strip()]))
    return out


def matches(expected: str, lines: list[str]) -> bool:
    pattern = ".*".join(re.escape(part) for part in expected.split("..."))
    return any(re.fullmatch(pattern, line) for line in lines)


def test_install_step_is_the_readme_one() -> None:
    install = [body for lang, body in FENCE.findall(PAGE.read_text()) if lang == "sh"]
    assert len(install) == 1
    command = install[0].strip()
    assert command in (REPO / "README.md").read_text()


def test_the_page_runs_as_written(tmp_path: Path) -> None:
    found = steps()
    assert len(found) >= 6
    work = tmp_path / "work"
    work.mkdir()
    env = {
        **os.environ,
        "HOME": str(tmp_path / "home"),
        # The dev key goes where the page says (~/.local/state/gait), in this HOME.
        "GAIT_STATE_DIR": "",
        "XDG_STATE_HOME": "",
        "NO_COLOR": "1",
        # `gait` resolves to this interpreter's environment, as after `pip install .`.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    for number, (script, expected) in enumerate(found, start=1):
        proc = subprocess.run(
            ["bash", "-e", "-c", script],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        where = f"step {number}:\n{script}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
        assert proc.returncode == 0, where
        assert "Traceback" not in proc.stderr, where
        lines = (proc.stdout + proc.stderr).splitlines()
        for line in expected:
            assert matches(line, lines), f"missing {line!r} in {where}"

    # What the page promises, checked on the files it left behind.
    dev_key = tmp_path / "home" / ".local" / "state" / "gait" / "keys" / "gait_dev_private.key"
    assert dev_key.is_file() and (dev_key.stat().st_mode & 0o777) == 0o600
    assert "trace_*.json" in (work / ".gitignore").read_text().splitlines()
    assert (work / "prod-trace.json").is_file() and (work / "policy-tests").is_dir()


@pytest.mark.parametrize("expected", ["exit code 3", "verdict=block ..."])
def test_matching_rule(expected: str) -> None:
    assert matches(expected, ["verdict=block key_id=abc", "exit code 3"])
    assert not matches(expected, ["nothing here"])
