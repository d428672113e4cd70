"""Real replay built-ins: what runs, where it may write, and how commands run."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import pytest

from gait.runpack import realtools
from gait.runpack.reader import read_runpack
from gait.runpack.realtools import builtin, run_tool
from gait.runpack.record import record_runpack, write_runpack
from gait.runpack.replay import replay_stub


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_builtin_names() -> None:
    assert builtin("Tool.Echo") == "echo" and builtin("write_file") == "file.write"
    assert builtin("command.run") == "shell.exec" and builtin("tool.search") == ""


def test_echo_digest_is_the_message() -> None:
    assert run_tool("echo", {"message": "hi"}, ".").result_digest == _sha("hi")
    assert run_tool("echo", None, ".").result_digest == _sha("echo")


def test_file_write_stays_in_the_working_directory(tmp_path: Path) -> None:
    run = run_tool("fs.write", {"path": "a/b.txt", "content": "x"}, str(tmp_path))
    assert (run.status, run.result_digest) == ("ok", _sha("x"))
    assert (tmp_path / "a" / "b.txt").read_text() == "x"
    assert (tmp_path / "a" / "b.txt").stat().st_mode & 0o777 == 0o600
    inside_abs = run_tool("file.write", {"path": str(tmp_path / "c.txt")}, str(tmp_path))
    assert inside_abs.status == "ok" and (tmp_path / "c.txt").exists()
    outside = tmp_path.parent / f"{tmp_path.name}-outside.txt"
    work = tmp_path / "work"
    work.mkdir()
    (work / "link").symlink_to(tmp_path)  # a directory link leading out
    (work / "file_link").symlink_to(tmp_path / "c.txt")
    for path in ("../escape.txt", str(outside), "link/x.txt", "file_link", "", "a/.."):
        run = run_tool("file.write", {"path": path, "content": "bad"}, str(work))
        assert run.status == "error", path
        assert run.result_digest == _sha(run.error)
    assert not outside.exists() and not (tmp_path / "escape.txt").exists()
    assert not (tmp_path / "x.txt").exists()
    assert (tmp_path / "c.txt").read_text() == ""


def test_exec_runs_argv_without_a_shell(tmp_path: Path) -> None:
    run = run_tool("shell.exec", {"command": "echo 'a b' ;rm -rf x $HOME"}, str(tmp_path))
    assert run.status == "ok"
    assert run.result_digest == _sha("a b ;rm -rf x $HOME\n")  # one argv, nothing expanded
    argv = [sys.executable, "-c", "import os; print(os.getcwd())"]
    run = run_tool("exec", {"argv": argv}, str(tmp_path))
    assert run.result_digest == _sha(os.path.realpath(tmp_path) + "\n")
    failing = run_tool("exec", {"argv": [sys.executable, "-c", "raise SystemExit(3)"]}, ".")
    assert failing.status == "error"
    for bad in ({}, {"argv": []}, {"argv": ["ok", 1]}, {"command": "'unclosed"}):
        assert run_tool("shell.exec", bad, ".").status == "error", bad
    missing = run_tool("shell.exec", {"argv": ["/no/such/program"]}, ".")
    assert missing.status == "error" and "/no/such/program" in missing.error


def test_exec_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(realtools, "EXEC_TIMEOUT_SECONDS", 0.2)
    argv = [sys.executable, "-c", "import time; time.sleep(5)"]
    run = run_tool("shell.exec", {"argv": argv}, ".")
    assert run.status == "error" and "timed out" in run.error


def _pack(tmp_path: Path) -> Path:
    intents = [
        {"intent_id": "i1", "tool_name": "tool.echo", "args": {"message": "m"}},
        {"intent_id": "i2", "tool_name": "write_file", "args": {"path": "w.txt", "content": "c"}},
        {"intent_id": "i3", "tool_name": "tool.fetch", "args": {}},
    ]
    results = [{"intent_id": "i1", "status": "ok", "result": {"m": 1}}]
    built = record_runpack(
        {"run_id": "run_r", "created_at": "2026-01-01T00:00:00Z"}, intents, results
    )
    path = tmp_path / "p.zip"
    write_runpack(path, built)
    return path


def test_library_checks_the_guards_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gait.errors import UnsafeOperation

    pack = read_runpack(_pack(tmp_path))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.delenv("GAIT_ALLOW_REAL_REPLAY", raising=False)
    for kwargs in (
        {"unsafe": True, "allow_tools": ["write_file"]},  # no env var
        {"allow_tools": ["write_file"]},  # not confirmed
        {"unsafe": True, "allow_tools": []},  # empty allowlist
    ):
        if kwargs.get("allow_tools") == []:
            monkeypatch.setenv("GAIT_ALLOW_REAL_REPLAY", "1")
        with pytest.raises(UnsafeOperation):
            replay_stub(pack, real_tools=True, workdir=str(work), **kwargs)  # type: ignore[arg-type]
    assert not (work / "w.txt").exists()


def test_replay_executes_only_allowlisted_builtins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GAIT_ALLOW_REAL_REPLAY", "1")
    pack = read_runpack(_pack(tmp_path))
    work = tmp_path / "work"
    work.mkdir()
    stub = replay_stub(pack, workdir=str(work))
    assert [s["execution"] for s in stub["steps"]] == ["recorded", "stubbed", "stubbed"]
    assert not (work / "w.txt").exists()
    real = replay_stub(pack, real_tools=True, allow_tools=["tool.echo", "tool.fetch"],
                       workdir=str(work), unsafe=True)  # fmt: skip
    steps = real["steps"]
    assert steps[0]["execution"] == "executed" and steps[0]["result_digest"] == _sha("m")
    assert steps[0]["recorded_result_digest"] != steps[0]["result_digest"]
    assert steps[1]["execution"] == "stubbed"  # write_file is a built-in but not allowed
    assert steps[2]["execution"] == "stubbed"  # tool.fetch is allowed but not a built-in
    assert not (work / "w.txt").exists()
    assert real["mode"] == "real" and real["warnings"][0] == "allow_tools=tool.echo,tool.fetch"
    assert any("tool.fetch" in w for w in real["warnings"])
    real = replay_stub(
        pack, real_tools=True, allow_tools=["WRITE_FILE"], workdir=str(work), unsafe=True
    )
    assert real["steps"][1]["execution"] == "executed"
    assert (work / "w.txt").read_text() == "c"
