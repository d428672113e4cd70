"""Issue 13 item 6: colour and tables on a terminal only, NO_COLOR honoured, progress on stderr."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from gait.cli.term import Progress, colorize, table, use_color

from .conftest import EXAMPLES, INTENTS, run

ESC = "\x1b["


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_only_on_a_terminal_without_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert use_color(FakeTTY()) is True
    assert use_color(io.StringIO()) is False
    monkeypatch.setenv("NO_COLOR", "1")
    assert use_color(FakeTTY()) is False
    monkeypatch.setenv("NO_COLOR", "")  # no-color.org: only a non-empty value disables
    assert use_color(FakeTTY()) is True
    monkeypatch.setenv("TERM", "dumb")
    assert use_color(FakeTTY()) is False


def test_colorize_marks_verdicts_not_rule_names() -> None:
    assert colorize("gate eval: verdict=block") == f"gate eval: verdict={ESC}31mblock{ESC}0m"
    assert colorize("matched_rule: block-destructive") == "matched_rule: block-destructive"
    assert colorize("reasons: destructive_blocked") == "reasons: destructive_blocked"
    assert ESC + "32mPASS" in colorize("PASS delete_is_blocked")
    assert colorize("gate eval error: x").startswith(f"{ESC}31mgate eval error{ESC}0m:")
    assert colorize("warning: dev key").startswith(f"{ESC}33mwarning")


def test_table_aligns_columns() -> None:
    lines = table(("A", "BB", "C"), [("xxx", "y", "z"), ("x", "yyyy", "last column")])
    assert lines == ["A    BB    C", "xxx  y     z", "x    yyyy  last column"]


def test_progress_is_silent_off_a_terminal_and_for_quick_work() -> None:
    plain = io.StringIO()
    with Progress("work", 3, stream=plain, after=0, every=0) as shown:
        shown(1)
    assert plain.getvalue() == ""
    tty = FakeTTY()
    with Progress("work", 3, stream=tty, after=60) as shown:  # finishes before 60 s
        shown(1)
    assert tty.getvalue() == ""


def test_progress_line_is_rewritten_and_erased_on_a_terminal() -> None:
    tty = FakeTTY()
    with Progress("regress run", 0, stream=tty, after=0, every=0) as shown:
        shown(1, 2)
        shown(2, 2)
    assert tty.getvalue() == (f"\r{ESC}Kregress run: 1/2\r{ESC}Kregress run: 2/2\r{ESC}K")


def _in_pty(*args: str, env: dict[str, str]) -> str:
    """Run gait with stdout and stderr on a pseudo-terminal; return what it showed."""
    leader, follower = pty.openpty()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "gait.cli.main", *args],
            stdin=subprocess.DEVNULL,
            stdout=follower,
            stderr=follower,
            env={**os.environ, "TERM": "xterm", **env},
            timeout=60,
            check=False,
        )
        os.close(follower)
        follower = -1
        chunks = []
        while True:
            try:
                data = os.read(leader, 65536)
            except OSError:  # EIO: the terminal has no writer left
                break
            if not data:
                break
            chunks.append(data)
        assert proc.returncode == 0
        return b"".join(chunks).decode().replace("\r\n", "\n")
    finally:
        if follower >= 0:
            os.close(follower)
        os.close(leader)


SIMULATE = (
    "policy",
    "simulate",
    "--baseline",
    str(EXAMPLES / "base_low_risk.yaml"),
    "--policy",
    str(EXAMPLES / "base_high_risk.yaml"),
    "--fixtures",
    str(INTENTS),
)


def test_simulate_on_a_terminal_is_an_aligned_coloured_table() -> None:
    shown = _in_pty(*SIMULATE, env={"NO_COLOR": ""})
    assert "FIXTURE" in shown and "CANDIDATE RULE" in shown
    assert f"{ESC}31mblock{ESC}0m" in shown
    plain = _in_pty(*SIMULATE, env={"NO_COLOR": "1"})
    assert ESC not in plain
    rows = [
        line for line in plain.splitlines() if line.endswith(("block-destructive", "review-writes"))
    ]
    assert len(rows) == 2
    # Aligned: the arrow column starts at the same offset on every row.
    assert len({row.index("->") for row in rows}) == 1


def test_simulate_in_a_pipe_keeps_the_plain_lines(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, *SIMULATE)
    assert code == 0 and ESC not in out
    # a pipe gets the original's one summary line (cmd/gait/policy.go), no table
    assert len(out.splitlines()) == 1 and out.startswith("policy simulate fixtures=")
    assert "FIXTURE" not in out


def test_run_inspect_table_on_a_terminal(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "gait.cli.main", "demo"],
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
        check=True,
    )
    pack = str(tmp_path / "gait-out" / "runpack_run_demo.zip")
    shown = _in_pty("run", "inspect", pack, env={"NO_COLOR": "1"})
    lines = shown.splitlines()
    header = next(line for line in lines if line.startswith("#"))
    assert header.split() == ["#", "INTENT", "TOOL", "STATUS", "VERDICT", "DURATION", "REASONS"]
    assert any(line.split()[:3] == ["1", "intent_1", "tool.search"] for line in lines)


def test_regress_table_lists_every_grader() -> None:
    from gait.cli.tables import regress_graders

    text = [
        "regress run failed: fixture_set=default failed=1",
        "top_failure_reason: diff_changed",
        "failed grader: demo/diff (diff_changed)",
        "next: ...",
    ]
    graders = [
        {"name": "demo/diff", "status": "fail", "reason_codes": ["diff_changed"]},
        {"name": "demo/schema_validation", "status": "pass", "reason_codes": []},
    ]
    lines = regress_graders(graders, text)
    assert lines[0] == text[0]
    assert lines[2:5] == [
        "STATUS  GRADER                  REASON",
        "FAIL    demo/diff               diff_changed",
        "PASS    demo/schema_validation  -",
    ]
    assert "failed grader: demo/diff (diff_changed)" not in lines  # the table says it
    assert "top_failure_reason: diff_changed" in lines and "next: ..." in lines


def test_a_reader_that_leaves_early_is_not_a_crash() -> None:
    """``gait policy fmt --full p | head -1``: no "internal error", no traceback."""
    read, write = os.pipe()
    os.close(read)  # the reader is gone before gait writes a byte
    try:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "gait.cli.main",
                "policy",
                "fmt",
                "--full",
                str(EXAMPLES / "base_high_risk.yaml"),
            ],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write)
    assert proc.stderr == ""
    assert proc.returncode == 1
