from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gait.cli.main import main


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    def json(self) -> dict[str, Any]:
        return json.loads(self.stdout)


GaitMain = Callable[..., CliResult]


@pytest.fixture
def gait_main(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> GaitMain:
    """Run the CLI in-process in ``cwd`` and capture what it printed."""

    def run(*args: str, cwd: Path) -> CliResult:
        monkeypatch.chdir(cwd)
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        return CliResult(code, out, err)

    return run
