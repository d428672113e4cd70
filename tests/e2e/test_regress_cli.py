"""``gait regress`` and ``gait policy test <DIR>`` through the real command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

POLICY = """\
schema_id: gait.gate.policy
schema_version: 1.0.0
default_verdict: allow
rules:
  - name: block-destructive-tool-delete
    priority: 10
    effect: block
    match:
      tool_names: [tool.delete]
      risk_classes: [high]
    reason_codes: [destructive_tool_blocked]
"""
BLOCK_FETCH = """\
  - name: block-fetch
    priority: 5
    effect: block
    match:
      tool_names: [tool.fetch]
    reason_codes: [fetch_blocked]
"""
SPEC_FILES = ("gait.yaml", "fixtures/run_demo/fixture.json", "fixtures/run_demo/runpack.zip")


def gait(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(cwd), "GAIT_NO_CACHE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "gait.cli.main", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def gait_json(*args: str, cwd: Path, code: int) -> dict[str, Any]:
    proc = gait(*args, "--json", cwd=cwd)
    assert proc.returncode == code, (proc.stdout, proc.stderr)
    (line,) = proc.stdout.splitlines()
    return json.loads(line)


@pytest.fixture
def demo_dir(tmp_path: Path) -> Path:
    proc = gait("demo", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    return tmp_path


def test_demo_then_bootstrap_with_junit_writes_every_spec_file(demo_dir: Path) -> None:
    proc = gait(
        "regress", "bootstrap", "--from", "run_demo", "--junit", "out/junit.xml", cwd=demo_dir
    )
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    assert proc.stdout.splitlines() == [
        "regress bootstrap ok: run_id=run_demo fixture=run_demo",
        "output: regress_result.json",
        "junit: out/junit.xml",
    ]
    for name in (*SPEC_FILES, "regress_result.json", "out/junit.xml"):
        assert (demo_dir / name).is_file(), name
    result = json.loads((demo_dir / "regress_result.json").read_text())
    assert result["status"] == "pass"
    assert len(result["graders"]) == 4
    config = json.loads((demo_dir / "gait.yaml").read_text())
    assert config["fixtures"] == [
        {"name": "run_demo", "run_id": "run_demo", "runpack": "fixtures/run_demo/runpack.zip"}
    ]

    root = ET.parse(demo_dir / "out" / "junit.xml").getroot()
    assert root.tag == "testsuites"
    counters = ("tests", "failures", "errors", "skipped", "time")
    assert {k: root.get(k) for k in counters} == {
        "tests": "4",
        "failures": "0",
        "errors": "0",
        "skipped": "0",
        "time": "0",
    }
    (suite,) = list(root)
    assert suite.tag == "testsuite"
    assert suite.get("name") == "gait.regress.default"
    assert {k: suite.get(k) for k in counters} == {k: root.get(k) for k in counters}
    cases = list(suite)
    assert all(c.tag == "testcase" for c in cases)
    assert [(c.get("classname"), c.get("name"), c.get("time")) for c in cases] == [
        ("run_demo", "diff", "0"),
        ("run_demo", "expected_exit_code", "0"),
        ("run_demo", "schema_validation", "0"),
        ("run_demo", "trajectory", "0"),
    ]
    assert all(len(c) == 0 for c in cases)


def test_canonical_first_run_flow_json(demo_dir: Path) -> None:
    out = gait_json(
        "regress",
        "bootstrap",
        "--from",
        "run_demo",
        "--junit",
        "./gait-out/junit.xml",
        cwd=demo_dir,
        code=0,
    )
    assert {k: out[k] for k in ("ok", "status", "run_id", "fixture_name")} == {
        "ok": True,
        "status": "pass",
        "run_id": "run_demo",
        "fixture_name": "run_demo",
    }
    assert out["artifact_paths"] == ["regress_result.json", "./gait-out/junit.xml"]
    assert (out["fixture_dir"], out["runpack_path"], out["config_path"]) == (
        "fixtures/run_demo",
        "fixtures/run_demo/runpack.zip",
        "gait.yaml",
    )
    assert "failed" not in out and "top_failure_reason" not in out
    again = gait_json("regress", "run", cwd=demo_dir, code=0)
    assert again["graders"] == 4


def test_policy_change_turning_a_recorded_allow_into_block_exits_5(demo_dir: Path) -> None:
    assert gait("demo", "--policy", cwd=demo_dir).returncode == 0
    (demo_dir / "policy.yaml").write_text(POLICY, encoding="utf-8")
    out = gait_json(
        "regress",
        "bootstrap",
        "--from",
        "run_demo_policy",
        "--policy",
        "policy.yaml",
        cwd=demo_dir,
        code=0,
    )
    assert out["status"] == "pass"
    assert len(json.loads((demo_dir / "regress_result.json").read_text())["graders"]) == 5
    assert (
        json.loads((demo_dir / "fixtures/run_demo_policy/fixture.json").read_text())["policy"]
        == "policy.yaml"
    )

    (demo_dir / "policy.yaml").write_text(POLICY + BLOCK_FETCH, encoding="utf-8")
    out = gait_json("regress", "run", "--junit", "out/junit.xml", cwd=demo_dir, code=5)
    assert out["ok"] is False and out["status"] == "fail" and out["failed"] == 1
    assert out["top_failure_reason"] == "policy_verdict_changed:step_2:tool.fetch:allow->block"
    assert out["next_command"] == "gait regress run --json"
    assert out["artifact_paths"] == ["regress_result.json", "out/junit.xml"]
    result = json.loads((demo_dir / "regress_result.json").read_text())
    assert result["status"] == "fail"
    failure = ET.parse(demo_dir / "out" / "junit.xml").getroot().find(".//failure")
    assert failure is not None
    assert failure.get("message") == out["top_failure_reason"]

    text = gait("regress", "run", cwd=demo_dir)
    assert text.returncode == 5
    assert text.stdout.splitlines() == [
        "regress run failed: fixture_set=default failed=1",
        "top_failure_reason: policy_verdict_changed:step_2:tool.fetch:allow->block",
        "next: gait regress run --json",
        "artifacts: regress_result.json",
        "output: regress_result.json",
    ]
    # The lines for a person go to stderr (stdout keeps the reference's lines).
    assert text.stderr.splitlines()[:2] == [
        "failed grader: run_demo_policy/policy_verdict "
        "(policy_verdict_changed:step_2:tool.fetch:allow->block)",
        "hint: read the failing graders' details in regress_result.json; if the change is "
        "intended, re-record the fixture: gait regress init --from <run> --name run_demo_policy --force",
    ]


def test_init_refuses_to_replace_a_different_recording_without_force(demo_dir: Path) -> None:
    assert gait("demo", "--policy", cwd=demo_dir).returncode == 0
    gait_json("regress", "init", "--from", "run_demo", cwd=demo_dir, code=0)
    gait_json("regress", "init", "--from", "run_demo", cwd=demo_dir, code=0)  # idempotent
    other = "gait-out/runpack_run_demo_policy.zip"
    out = gait_json("regress", "init", "--from", other, "--name", "run_demo", cwd=demo_dir, code=6)
    assert "already exists with a different runpack" in out["error"]
    assert out["error_code"] == "invalid_input"
    out = gait_json(
        "regress", "init", "--from", other, "--name", "run_demo", "--force", cwd=demo_dir, code=0
    )
    assert out["replaced"] is True and out["run_id"] == "run_demo_policy"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("regress", "run"), "read config"),
        (("regress", "run", "extra"), "unexpected positional arguments"),
        (("regress", "init"), "missing required --from"),
        (("regress", "init", "--from", "run_missing"), "runpack not found for run_id: run_missing"),
        (("regress", "bootstrap", "--from", "nope.zip"), "runpack not found: nope.zip"),
        (("regress", "run", "--bogus"), "--bogus"),
    ],
)
def test_invalid_input_exits_6(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    out = gait_json(*args, cwd=tmp_path, code=6)
    assert out["ok"] is False
    assert message in out["error"]


def test_error_text_and_no_fixtures(tmp_path: Path) -> None:
    (tmp_path / "gait.yaml").write_text('{"fixtures": []}', encoding="utf-8")
    proc = gait("regress", "run", cwd=tmp_path)
    assert proc.returncode == 6
    assert "regress run error: no fixtures configured" in proc.stderr
    assert not (tmp_path / "regress_result.json").exists()


def test_explain_describes_without_side_effects(tmp_path: Path) -> None:
    proc = gait("regress", "bootstrap", "--from", "run_demo", "--explain", cwd=tmp_path)
    assert proc.returncode == 0
    assert proc.stdout.strip()
    assert list(tmp_path.iterdir()) == []


def test_policy_test_directory_through_the_cli(tmp_path: Path) -> None:
    (tmp_path / "policy.yaml").write_text(POLICY + BLOCK_FETCH, encoding="utf-8")
    ctx = {"identity": "a", "workspace": "/", "risk_class": "high"}
    fx = tmp_path / "fx"
    fx.mkdir()
    for name, tool, verdict in (
        ("fetch", "tool.fetch", "block"),
        ("search", "tool.search", "allow"),
    ):
        doc = {"intent": {"tool_name": tool, "args": {}, "context": ctx}, "expect": verdict}
        (fx / f"{name}.json").write_text(json.dumps(doc), encoding="utf-8")
    out = gait_json("policy", "test", "policy.yaml", "fx", "--junit", "j.xml", cwd=tmp_path, code=0)
    assert out["coverage"]["uncovered_rules"] == ["block-destructive-tool-delete"]
    assert ET.parse(tmp_path / "j.xml").getroot().get("tests") == "2"
    doc = json.loads((fx / "search.json").read_text()) | {"expect": "block"}
    (fx / "search.json").write_text(json.dumps(doc), encoding="utf-8")
    proc = gait("policy", "test", "policy.yaml", "fx", cwd=tmp_path)
    assert proc.returncode == 5
    assert "FAIL search: verdict: expected block, got allow" in proc.stdout
