from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
MEDIUM = REPO / "examples" / "policy" / "base_medium_risk.yaml"
INTENTS = REPO / "examples" / "policy" / "intents"

CliRunner = Callable[..., tuple[int, Any]]
CONTEXT = {"identity": "alice", "workspace": "/repo", "risk_class": "high", "session_id": "s1"}


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every SDK test writes its traces and packs under its own directory."""
    monkeypatch.chdir(tmp_path)
    yield tmp_path


@pytest.fixture
def policy() -> str:
    return str(MEDIUM)


@pytest.fixture
def ctx() -> dict[str, Any]:
    return dict(CONTEXT)


def path_target(path: str, operation: str) -> dict[str, Any]:
    return {"kind": "path", "value": path, "operation": operation}


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> CliRunner:
    """``gait ... --json`` in process: ``(exit code, parsed JSON)``."""
    from gait.cli.main import main

    def run(*args: str) -> tuple[int, Any]:
        capsys.readouterr()
        code = main([*args, "--json"])
        out = capsys.readouterr().out
        lines = [line for line in out.splitlines() if line.strip()]
        assert len(lines) == 1, out
        return code, json.loads(lines[0])

    return run
