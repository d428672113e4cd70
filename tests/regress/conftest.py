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


@pytest.fixture(autouse=True)
def _in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Like the CLI, regress resolves run_ids and policies against the working directory."""
    monkeypatch.chdir(tmp_path)


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


PackBuilder = Callable[..., Path]
CREATED_AT = "2026-03-01T12:00:00Z"


CONTEXT = {"identity": "agent", "workspace": "/w", "risk_class": "low"}


@pytest.fixture
def make_pack() -> PackBuilder:
    """Write a gated runpack whose steps are ``(tool_name, verdict)`` pairs (Recorder API).

    Verdict ``"missing"`` records an allowed step without a result. ``raw``
    capture (default) stores args and the gate intent, so policies can re-decide
    the steps; ``reference`` capture keeps only digests and the verdicts.
    """
    from datetime import UTC, datetime

    from gait.runpack.recorder import Recorder

    def build(
        path: Path,
        run_id: str,
        steps: list[tuple[str, str]],
        *,
        capture_mode: str = "raw",
    ) -> Path:
        when = datetime.fromisoformat(CREATED_AT.replace("Z", "+00:00")).astimezone(UTC)
        verdicts = iter("allow" if v == "missing" else v for _, v in steps)
        rec = Recorder(
            run_id,
            capture_mode=capture_mode,
            gate=lambda _intent: next(verdicts),
            context=dict(CONTEXT),
            clock=lambda: when,
            producer_version="test",
        )
        for n, (tool, verdict) in enumerate(steps, start=1):
            if verdict == "missing":
                rec.begin(tool, {"n": n}).no_outcome()
                continue
            with rec.step(tool, {"n": n}) as step:
                if step.allowed:
                    step.ok({"n": n})
        rec.write(path)
        return path

    return build


@pytest.fixture
def demo_pack() -> Callable[[Path], Path]:
    """Write the standard demo runpack to ``<dir>/gait-out/runpack_run_demo.zip``."""
    from gait.runpack.demo import build_demo_runpack
    from gait.runpack.record import write_runpack

    def build(directory: Path) -> Path:
        target = directory / "gait-out" / "runpack_run_demo.zip"
        write_runpack(target, build_demo_runpack("0.0.0-dev"))
        return target

    return build
