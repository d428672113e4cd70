"""``gait doctor adoption --from <events.jsonl>``: the adoption report over telemetry events."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gait.cli.telemetry import adoption_event

from .conftest import run, run_json

BASE_NS = 1770372000 * 1_000_000_000  # 2026-02-06T10:00:00Z


def _event(command: str, code: int, elapsed: int, offset_s: float, workflow: str = "") -> str:
    ns = BASE_NS + int(offset_s * 1_000_000_000)
    return json.dumps(adoption_event(command, code, elapsed, ns, workflow))


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GAIT_ADOPTION_LOG", raising=False)
    return tmp_path


def _report(capsys: pytest.CaptureFixture[str], path: str = "events.jsonl") -> dict[str, Any]:
    code, out = run_json(capsys, "doctor", "adoption", "--from", path)
    assert code == 0 and out["ok"] is True, out
    return out["report"]


def test_one_demo_event(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "events.jsonl").write_text(_event("demo", 0, 100, 0) + "\n")
    report = _report(capsys)
    assert report["total_events"] == 1 and report["activation_complete"] is False
    assert report["blockers"] == [
        "missing A2: run `gait verify <run_id>`",
        "missing A3: run `gait regress init --from <run_id>`",
        "missing A4: run `gait regress run`",
    ]
    assert report["activation_timing_ms"] == {"A1": 0}
    assert report["activation_medians_ms"] == {"m1_demo_elapsed_ms": 100}
    assert "skill_workflows" not in report


def test_full_activation(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = [
        _event("demo", 0, 120, 0),
        _event("verify", 0, 130, 1),
        _event("regress init", 0, 140, 2),
        _event("regress run", 0, 150, 3.5),
    ]
    (work / "events.jsonl").write_text("\n".join(events) + "\n\n")
    report = _report(capsys)
    assert report["activation_complete"] is True and "blockers" not in report
    assert report["activation_timing_ms"] == {"A1": 0, "A2": 1000, "A3": 2000, "A4": 3500}
    assert report["activation_medians_ms"] == {
        "m1_demo_elapsed_ms": 120,
        "m2_regress_run_elapsed_ms": 150,
    }
    assert report["created_at"] == report["last_event_at"] == "2026-02-06T10:00:03.5Z"
    assert report["first_event_at"] == "2026-02-06T10:00:00Z"
    assert [m["name"] for m in report["milestones"]] == ["A1", "A2", "A3", "A4", "E1", "E2", "E3"]
    assert [m["achieved"] for m in report["milestones"]] == [True] * 4 + [False] * 3
    assert report["commands"] == [
        {"command": "demo", "total": 1, "success": 1, "failure": 0},
        {"command": "regress init", "total": 1, "success": 1, "failure": 0},
        {"command": "regress run", "total": 1, "success": 1, "failure": 0},
        {"command": "verify", "total": 1, "success": 1, "failure": 0},
    ]
    workflows = {w["workflow"]: w for w in report["skill_workflows"]}
    assert workflows["gait-incident-to-regression"]["median_runtime_ms"] == 145
    assert workflows["gait-capture-runpack"]["success_rate"] == 1


def test_skill_workflow_stats(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = [
        _event("run record", 0, 100, 0, "gait-capture-runpack"),
        _event("run record", 12, 200, 1, "gait-capture-runpack"),
        _event("run record", 0, 300, 2, "gait-capture-runpack"),
        _event("something", 3, 10, 3, "not-an-official-workflow"),
    ]
    (work / "events.jsonl").write_text("\n".join(events))
    code, text, _ = run(capsys, "doctor", "adoption", "--from", "events.jsonl", "--json")
    assert code == 0
    assert '"success_rate":0.6666666666666666' in text  # Go's float text, not Python's 1.0
    (stat,) = json.loads(text)["report"]["skill_workflows"]
    assert stat == {
        "workflow": "gait-capture-runpack",
        "total": 3,
        "success": 2,
        "failure": 1,
        "success_rate": 2 / 3,
        "median_runtime_ms": 200,
        "most_common_failure_code": 12,
    }


def test_empty_log(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "events.jsonl").write_text("")
    report = _report(capsys)
    assert report["created_at"] == "1980-01-01T00:00:00Z"
    assert report["first_event_at"] == report["last_event_at"] == "0001-01-01T00:00:00Z"
    assert report["commands"] == [] and report["total_events"] == 0
    assert len(report["blockers"]) == 4
    for absent in ("activation_timing_ms", "activation_medians_ms", "skill_workflows"):
        assert absent not in report


def test_reads_what_telemetry_wrote(
    work: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GAIT_ADOPTION_LOG", str(work / "events.jsonl"))
    run(capsys, "version")
    run(capsys, "regress", "run", "--help")
    monkeypatch.delenv("GAIT_ADOPTION_LOG")
    report = _report(capsys)
    assert report["total_events"] == 2 and report["source"] == "events.jsonl"
    assert [m["name"] for m in report["milestones"] if m["achieved"]] == ["A4"]


def test_text_output(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "events.jsonl").write_text(_event("demo", 0, 5, 0) + "\n")
    code, out, _ = run(capsys, "doctor", "adoption", "--from", " events.jsonl ")
    assert code == 0
    assert out.splitlines() == [
        "doctor adoption: source=events.jsonl total_events=1 activation_complete=false",
        "blockers: missing A2: run `gait verify <run_id>`; missing A3: run "
        "`gait regress init --from <run_id>`; missing A4: run `gait regress run`",
    ]


GOOD = {
    "schema_id": "gait.scout.adoption_event",
    "schema_version": "1.0.0",
    "created_at": "2026-02-06T16:00:00Z",
    "producer_version": "test",
    "command": "demo",
    "success": True,
    "exit_code": 0,
    "elapsed_ms": 12,
    "environment": {"os": "darwin", "arch": "arm64"},
}


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"schema_id": "bad"}, 'validate adoption log line 1: unsupported schema_id "bad"'),
        (
            {"schema_version": "2.0.0"},
            'validate adoption log line 1: unsupported schema_version "2.0.0"',
        ),
        ({"created_at": None}, "validate adoption log line 1: created_at is required"),
        ({"command": " "}, "validate adoption log line 1: command is required"),
        ({"exit_code": -1}, "validate adoption log line 1: exit_code must be >= 0"),
        ({"exit_code": 256}, "validate adoption log line 1: exit_code must be <= 255"),
        (
            {"environment": {"arch": "arm64"}},
            "validate adoption log line 1: environment.os is required",
        ),
        (
            {"environment": {"os": "linux", "arch": ""}},
            "validate adoption log line 1: environment.arch is required",
        ),
        (
            {"exit_code": "0"},
            "parse adoption log line 1: json: cannot unmarshal string into Go struct field AdoptionEvent.exit_code of type int",
        ),
        (
            {"created_at": 5},
            "parse adoption log line 1: Time.UnmarshalJSON: input is not a JSON string",
        ),
    ],
)
def test_invalid_events_exit_6(
    work: Path, capsys: pytest.CaptureFixture[str], change: dict[str, Any], error: str
) -> None:
    (work / "events.jsonl").write_text(json.dumps({**GOOD, **change}) + "\n")
    code, out = run_json(capsys, "doctor", "adoption", "--from", "events.jsonl")
    assert code == 6 and out["ok"] is False and out["error"] == error


def test_defaults_and_case_insensitive_names(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    event = {k: v for k, v in GOOD.items() if k not in ("schema_id", "schema_version")}
    event["Command"] = event.pop("command")
    (work / "events.jsonl").write_text(json.dumps(event) + "\n")
    report = _report(capsys)
    assert report["commands"][0]["command"] == "demo"


def test_input_errors(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "bad.jsonl").write_text("{\n")
    code, out = run_json(capsys, "doctor", "adoption", "--from", "bad.jsonl")
    assert code == 6 and out["error"].startswith("parse adoption log line 1: ")
    code, out = run_json(capsys, "doctor", "adoption")
    assert code == 6 and out["error"] == "missing required --from <path>"
    code, out = run_json(capsys, "doctor", "adoption", "--from", "missing.jsonl")
    assert code == 6
    assert out["error"] == "open adoption log: open missing.jsonl: no such file or directory"
    code, out = run_json(capsys, "doctor", "adoption", "--from", "x", "y")
    assert code == 6 and out["error"] == "unexpected positional arguments"
    code, _, err = run(capsys, "doctor", "adoption", "--from", "missing.jsonl")
    assert code == 6 and err.startswith("doctor adoption error: open adoption log")
    assert run(capsys, "doctor", "adoption", "--workdir", ".")[0] == 6


def test_help_and_explain(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "doctor", "adoption", "--help")
    assert code == 0 and out.startswith("Usage: gait doctor adoption [OPTIONS]")
    assert "--from" in out and "--workdir" not in out
    code, out, _ = run(capsys, "doctor", "adoption", "--explain")
    assert (code, out) == (
        0,
        "Summarize local activation milestones and blockers from GAIT_ADOPTION_LOG events.\n",
    )


def test_plain_doctor_is_unchanged(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_json(capsys, "doctor", "--output-dir", str(work / "out"))
    assert code == 0 and out["schema_id"] == "gait.doctor.result"
    assert run_json(capsys, "doctor", "--from", "x")[0] == 6
    code, out = run_json(capsys, "doctor", "extra")
    assert code == 6 and out["error"] == "unexpected positional arguments"
