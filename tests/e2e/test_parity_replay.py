"""Real replay through the installed ``gait`` (issue 16 item 3): every guard, and what runs."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ENV_NAME = "GAIT_ALLOW_REAL_REPLAY"


def gait(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("gait")
    base = [exe] if exe else [sys.executable, "-m", "gait.cli.main"]
    full = {k: v for k, v in os.environ.items() if k != ENV_NAME}
    full.update({"GAIT_NO_CACHE": "1", "HOME": str(cwd), **(env or {})})
    return subprocess.run(
        [*base, *args], cwd=cwd, env=full, capture_output=True, text=True, timeout=60
    )


def gait_json(*args: str, cwd: Path, code: int = 0, env: dict[str, str] | None = None) -> Any:
    proc = gait(*args, "--json", cwd=cwd, env=env)
    assert proc.returncode == code, (proc.stdout, proc.stderr)
    (line,) = proc.stdout.splitlines()
    return json.loads(line)


MARKER = "executed_marker.txt"


@pytest.fixture
def work(tmp_path: Path) -> Path:
    record = {
        "run": {"run_id": "run_real", "created_at": "2026-02-14T00:00:00Z"},
        "intents": [
            {"intent_id": "i1", "tool_name": "echo", "args": {"message": "hello"}},
            {"intent_id": "i2", "tool_name": "file.write",
             "args": {"path": "out/note.txt", "content": "hi"}},
            {"intent_id": "i3", "tool_name": "shell.exec",
             "args": {"argv": [sys.executable, "-c",
                               f"open({MARKER!r}, 'w').write('ran')"]}},
            {"intent_id": "i4", "tool_name": "tool.delete", "args": {"id": 1}},
        ],
        "results": [
            {"intent_id": "i1", "status": "ok", "result": {"message": "hello"}},
            {"intent_id": "i4", "status": "ok", "result": {"deleted": 1}},
        ],
        "capture_mode": "raw",
    }  # fmt: skip
    (tmp_path / "rr.json").write_text(json.dumps(record))
    gait_json("run", "record", "rr.json", cwd=tmp_path)
    return tmp_path


ALL = "echo,file.write,shell.exec,tool.delete"
REAL = ("run", "replay", "run_real", "--real-tools")


def _nothing_ran(work: Path) -> None:
    assert not (work / "out").exists()
    assert not (work / MARKER).exists()


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        ((*REAL, "--allow-tools", ALL), {ENV_NAME: "1"}, "requires --unsafe-real-tools"),
        ((*REAL, "--unsafe-real-tools"), {ENV_NAME: "1"}, "requires --allow-tools"),
        ((*REAL, "--unsafe-real-tools", "--allow-tools", " , "), {ENV_NAME: "1"},
         "requires --allow-tools"),
        ((*REAL, "--unsafe-real-tools", "--allow-tools", ALL), {}, f"requires {ENV_NAME}=1"),
        ((*REAL, "--unsafe-real-tools", "--allow-tools", ALL), {ENV_NAME: "yes"},
         f"requires {ENV_NAME}=1"),
        ((*REAL, "--unsafe-real-tools", "--allow-tools", ALL, "--unsafe-real-tools-env", "MY_OK"),
         {ENV_NAME: "1"}, "requires MY_OK=1"),
    ],
)  # fmt: skip
def test_each_missing_guard_exits_8_and_runs_nothing(
    work: Path, args: tuple[str, ...], env: dict[str, str], message: str
) -> None:
    out = gait_json(*args, cwd=work, code=8, env=env)
    assert out["ok"] is False and message in out["error"]
    _nothing_ran(work)


def test_stub_replay_never_executes(work: Path) -> None:
    # shell.exec has no recorded result and no stub class: missing, exit 2
    out = gait_json("run", "replay", "run_real", cwd=work, code=2, env={ENV_NAME: "1"})
    assert [s["execution"] for s in out["steps"]] == ["recorded", "stubbed", "missing", "recorded"]
    _nothing_ran(work)


def test_real_replay_runs_allowlisted_builtins(work: Path) -> None:
    args = (*REAL, "--unsafe-real-tools", "--allow-tools", ALL)
    out = gait_json(*args, cwd=work, env={ENV_NAME: "1"})
    steps = {s["intent_id"]: s for s in out["steps"]}
    assert out["mode"] == "real" and out["requested_unsafe"] is True
    assert steps["i1"]["execution"] == "executed"
    assert steps["i1"]["result_digest"] == hashlib.sha256(b"hello").hexdigest()
    assert steps["i2"]["execution"] == "executed" and steps["i2"]["status"] == "ok"
    assert (work / "out" / "note.txt").read_text() == "hi"
    assert steps["i3"]["execution"] == "executed" and (work / MARKER).read_text() == "ran"
    # allowlisted but not a built-in: never executed
    assert steps["i4"]["execution"] == "recorded"
    assert out["warnings"][0] == f"allow_tools={ALL}"


def test_allowlist_limits_what_runs(work: Path) -> None:
    out = gait_json(*REAL, "--unsafe-real-tools", "--allow-tools", "echo", cwd=work, code=2,
                    env={ENV_NAME: "1"})  # fmt: skip
    assert [s["execution"] for s in out["steps"]] == ["executed", "stubbed", "missing", "recorded"]
    assert out["ok"] is False and out["missing_results"] == ["i3"]
    _nothing_ran(work)


def test_file_write_outside_the_working_directory_is_refused(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    record = {
        "run": {"run_id": "run_escape"},
        "intents": [{"intent_id": "i1", "tool_name": "write_file",
                     "args": {"path": "../escaped.txt", "content": "x"}}],
    }  # fmt: skip
    (work / "rr.json").write_text(json.dumps(record))
    gait_json("run", "record", "rr.json", cwd=work)
    out = gait_json("run", "replay", "run_escape", "--real-tools", "--unsafe-real-tools",
                    "--allow-tools", "write_file", cwd=work, env={ENV_NAME: "1"})  # fmt: skip
    (step,) = out["steps"]
    assert (step["execution"], step["status"]) == ("executed", "error")
    assert "escapes the working directory" in step["error"]
    assert not (tmp_path / "escaped.txt").exists()
