"""Run the gait CLI in-process (fast) and read its one-line JSON output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gait.cli.main import main

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "policy"
INTENTS = EXAMPLES / "intents"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``(exit code, stdout, stderr)`` of one CLI call."""
    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code, out, _ = run(capsys, *args, "--json")
    lines = out.splitlines()
    assert len(lines) == 1, out
    return code, json.loads(lines[0])
