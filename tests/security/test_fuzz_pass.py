"""Issue 11 E16: a short, bounded fuzz pass of every reader finds no crash.

Each target gets about a second of the seeded mutation fuzzer (the same one
``python -m tools.fuzz.run --engine mutate`` runs for longer).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools.fuzz.run import fuzz_mutate, main  # noqa: E402
from tools.fuzz.targets import TARGETS  # noqa: E402


@pytest.fixture(autouse=True)
def _scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tools.fuzz.targets as targets

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(targets, "_TMP", str(scratch))


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_short_fuzz_pass_finds_no_crash(tmp_path: Path, target: str) -> None:
    report = fuzz_mutate(
        target, iterations=10_000, seconds=1.0, seed=11, crash_dir=tmp_path, slow=10.0
    )
    assert report.runs > 0
    assert report.crashes == []


def test_runner_reports_a_crashing_harness(tmp_path: Path) -> None:
    def broken(data: bytes) -> None:
        raise KeyError("boom")

    report = fuzz_mutate(
        "intent", iterations=3, seconds=5, seed=0, crash_dir=tmp_path, slow=10, harness=broken
    )
    assert len(report.crashes) == 3 and "KeyError" in report.crashes[0]
    assert list(tmp_path.glob("intent-*.bin"))


def test_runner_command_runs_n_iterations(tmp_path: Path, capsys) -> None:
    code = main(
        ["--engine", "mutate", "--iterations", "20", "--target", "intent",
         "--crash-dir", str(tmp_path)],
        limit_memory=False,
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "intent: 20 runs" in out
