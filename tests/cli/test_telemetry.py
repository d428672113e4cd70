"""Optional telemetry streams (GAIT_ADOPTION_LOG, GAIT_OPERATIONAL_LOG, GAIT_TELEMETRY_HEALTH_PATH)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from gait.cli import telemetry
from gait.cli.output import correlation_id
from gait.cli.telemetry import append_line, normalize_command

from .conftest import run

STREAM_VARS = (
    "GAIT_ADOPTION_LOG",
    "GAIT_ADOPTION_WORKFLOW",
    "GAIT_OPERATIONAL_LOG",
    "GAIT_TELEMETRY_HEALTH_PATH",
    "GAIT_TELEMETRY_WARN",
)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in STREAM_VARS:
        monkeypatch.delenv(name, raising=False)


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], "version"),
        (["version"], "version"),
        (["--version"], "version"),
        (["-v"], "version"),
        (["--help"], "help"),
        (["--explain"], "explain"),
        (["regress", "run"], "regress run"),
        (["keys", "verify"], "keys verify"),
        (["report", "top"], "report top"),
        (["doctor", "adoption"], "doctor adoption"),
        (["doctor", "--json"], "doctor"),
        (["gateway", "ingest", "--source", "kong"], "gateway ingest"),
        (["verify", "run_demo"], "verify"),  # verify takes no subcommand
        (["unknown-command", "arg"], "unknown-command"),
        (["  "], "unknown"),
    ],
)
def test_normalize_command(args: list[str], expected: str) -> None:
    assert normalize_command(args) == expected


def test_adoption_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "logs" / "adoption.jsonl"  # the folder is created
    monkeypatch.setenv("GAIT_ADOPTION_LOG", str(log))
    assert run(capsys, "version")[:2] == (0, "gait 0.1.0\n")
    assert run(capsys, "regress", "run", "--help")[0] == 0
    assert run(capsys, "policy", "test")[0] == 6
    first, second, third = _lines(log)
    assert first["schema_id"] == "gait.scout.adoption_event"
    assert first["schema_version"] == "1.0.0"
    assert first["command"] == "version" and first["success"] is True
    assert first["exit_code"] == 0 and isinstance(first["elapsed_ms"], int)
    assert "milestones" not in first and "workflow_id" not in first
    assert set(first["environment"]) == {"os", "arch"} and all(first["environment"].values())
    assert first["created_at"].endswith("Z")
    assert second["command"] == "regress run" and second["milestones"] == ["A4"]
    assert third["command"] == "policy test" and third["success"] is False
    assert third["exit_code"] == 6 and "milestones" not in third
    assert log.stat().st_mode & 0o777 == 0o600


def test_adoption_workflow_from_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "adoption.jsonl"
    monkeypatch.setenv("GAIT_ADOPTION_LOG", str(log))
    monkeypatch.setenv("GAIT_ADOPTION_WORKFLOW", " gait-capture-runpack ")
    run(capsys, "version")
    assert _lines(log)[0]["workflow_id"] == "gait-capture-runpack"


def test_operational_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "operational.jsonl"
    monkeypatch.setenv("GAIT_OPERATIONAL_LOG", str(log))
    assert run(capsys, "version")[0] == 0
    assert run(capsys, "policy", "test")[0] == 6
    start, end, failed_start, failed_end = _lines(log)
    assert (start["phase"], end["phase"]) == ("start", "end")
    assert start["correlation_id"] == end["correlation_id"] == correlation_id(["gait", "version"])
    assert start["schema_id"] == "gait.scout.operational_event"
    assert start["elapsed_ms"] == 0 and start["error_category"] == "none"
    assert end["exit_code"] == 0 and end["error_category"] == "none" and end["retryable"] is False
    assert failed_start["command"] == failed_end["command"] == "policy test"
    assert failed_end["exit_code"] == 6
    assert failed_end["error_category"] == "invalid_input" and failed_end["retryable"] is False
    assert start["created_at"] <= end["created_at"]


def test_health_snapshot_counts_this_invocation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    health = tmp_path / "health.json"
    monkeypatch.setenv("GAIT_ADOPTION_LOG", str(tmp_path / "a.jsonl"))
    monkeypatch.setenv("GAIT_OPERATIONAL_LOG", str(tmp_path / "o.jsonl"))
    monkeypatch.setenv("GAIT_TELEMETRY_HEALTH_PATH", str(health))
    run(capsys, "version")
    run(capsys, "version")
    snapshot = json.loads(health.read_text())
    assert snapshot["schema_id"] == "gait.scout.telemetry_health"
    assert snapshot["schema_version"] == "1.0.0" and snapshot["producer_version"] == "0.1.0"
    one = {"attempts": 1, "success": 1, "failed": 0}
    assert snapshot["streams"] == {
        "adoption": one,
        "operational_end": one,
        "operational_start": one,
    }
    assert health.read_text().endswith("}\n") and health.stat().st_mode & 0o777 == 0o600


def test_health_alone_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GAIT_TELEMETRY_HEALTH_PATH", str(tmp_path / "health.json"))
    assert run(capsys, "version")[0] == 0
    assert not (tmp_path / "health.json").exists()


def test_failed_write_warns_and_changes_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "file").write_text("in the way")
    health = tmp_path / "health.json"
    monkeypatch.setenv("GAIT_ADOPTION_LOG", str(tmp_path / "file" / "a.jsonl"))
    monkeypatch.setenv("GAIT_TELEMETRY_HEALTH_PATH", str(health))
    code, out, err = run(capsys, "version")
    assert (code, out) == (0, "gait 0.1.0\n")
    assert err == (
        "gait warning: telemetry stream=adoption write failed: "
        f"create adoption log directory: mkdir {tmp_path / 'file'}: not a directory\n"
    )
    streams = json.loads(health.read_text())["streams"]
    assert streams == {"adoption": {"attempts": 1, "success": 0, "failed": 1}}

    monkeypatch.setenv("GAIT_TELEMETRY_WARN", " OFF ")
    assert run(capsys, "version") == (0, "gait 0.1.0\n", "")


def test_json_output_is_unchanged_by_telemetry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = run(capsys, "policy", "test", "--json")
    monkeypatch.setenv("GAIT_OPERATIONAL_LOG", str(tmp_path / "o.jsonl"))
    monkeypatch.setenv("GAIT_ADOPTION_LOG", str(tmp_path / "a.jsonl"))
    assert run(capsys, "policy", "test", "--json") == plain


def test_a_telemetry_bug_never_changes_the_exit_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(*_: Any) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(telemetry, "append_line", broken)
    monkeypatch.setenv("GAIT_OPERATIONAL_LOG", str(tmp_path / "o.jsonl"))
    code, _, err = run(capsys, "policy", "test")
    assert code == 6
    assert err.count("gait warning: telemetry stream=operational_") == 2
    assert "RuntimeError: disk on fire" in err


def test_operational_log_that_is_a_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GAIT_OPERATIONAL_LOG", str(tmp_path))
    code, _, err = run(capsys, "version")
    assert code == 0
    assert (
        f"telemetry stream=operational_start write failed: open operational log: open {tmp_path}: is a directory"
        in err
    )


def test_concurrent_appends_stay_whole(tmp_path: Path) -> None:
    path = str(tmp_path / "a.jsonl")
    lines = [json.dumps({"n": n, "pad": "x" * 2000}).encode() for n in range(64)]
    threads = [
        threading.Thread(target=append_line, args=(path, line, "adoption log")) for line in lines
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    got = sorted(json.loads(line)["n"] for line in Path(path).read_text().splitlines())
    assert got == list(range(64))


def test_a_real_process_writes_the_streams(tmp_path: Path, gait_cli) -> None:
    env = {
        "GAIT_ADOPTION_LOG": str(tmp_path / "a.jsonl"),
        "GAIT_OPERATIONAL_LOG": str(tmp_path / "o.jsonl"),
        "GAIT_TELEMETRY_HEALTH_PATH": str(tmp_path / "h.json"),
    }
    done = gait_cli("gateway", "ingest", "--json", cwd=tmp_path, env=env)
    assert done.returncode == 6 and done.stderr == ""
    assert json.loads(done.stdout)["ok"] is False
    (adoption,) = _lines(tmp_path / "a.jsonl")
    assert adoption["command"] == "gateway ingest" and adoption["exit_code"] == 6
    start, end = _lines(tmp_path / "o.jsonl")
    assert (
        start["correlation_id"]
        == end["correlation_id"]
        == json.loads(done.stdout)["correlation_id"]
    )
    assert json.loads((tmp_path / "h.json").read_text())["streams"]["adoption"]["success"] == 1


def test_a_failed_write_without_stderr_keeps_the_exit_code(tmp_path: Path) -> None:
    """``gait ... 2>&-``: nowhere to warn (sys.stderr is None), the command still runs."""
    import os
    import subprocess
    import sys

    (tmp_path / "file").write_text("in the way")
    env = {k: v for k, v in os.environ.items() if k not in STREAM_VARS}
    env.update(GAIT_WARM="0", GAIT_OPERATIONAL_LOG=str(tmp_path / "file" / "o.jsonl"))
    code = "import os, sys; os.close(2); os.execv(sys.executable, sys.argv[1:])"
    argv = [sys.executable, "-m", "gait.cli.main", "version", "--json"]
    done = subprocess.run(
        [sys.executable, "-c", code, *argv],
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout
    assert json.loads(done.stdout)["ok"] is True
