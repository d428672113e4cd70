"""docs/packs.md, scout.md, doctor.md and sessions.md: each quickstart runs as written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"


def doc_block(doc: str, name: str, lang: str) -> str:
    text = (DOCS / doc).read_text()
    match = re.search(rf"<!-- e2e: {re.escape(name)} -->\n```{lang}\n(.*?)```", text, re.S)
    assert match, f"docs/{doc} has no {lang} block marked e2e: {name}"
    return match.group(1)


def run_block(doc: str, name: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    home = cwd / "home"
    home.mkdir(exist_ok=True)
    env = {**os.environ, "HOME": str(home)}
    # `gait` resolves to this interpreter's environment, as after `pip install`.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(
        ["bash", "-e", "-c", doc_block(doc, name, "bash")],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("doc", "name"),
    [
        ("packs.md", "packs-quickstart"),
        ("scout.md", "scout-quickstart"),
        ("doctor.md", "doctor-quickstart"),
        ("sessions.md", "sessions-quickstart"),
    ],
)
def test_quickstart_runs_and_prints_what_the_page_says(doc: str, name: str, tmp_path: Path) -> None:
    ran = run_block(doc, name, tmp_path)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    printed = ran.stdout.splitlines()
    expected = doc_block(doc, f"{name}-output", "text").splitlines()
    assert expected, f"docs/{doc}: the {name}-output block is empty, so nothing is checked"
    # Every line the page shows appears, in order (other lines may sit between them).
    position = 0
    for line in expected:
        assert line in printed[position:], (line, printed)
        position = printed.index(line, position) + 1
