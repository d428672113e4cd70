"""The ``gait_policy`` pytest fixture, exercised the way a user's project uses it."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from gait.regress.harness import PolicyDecision, PolicyUnderTest

POLICY = """\
schema_id: gait.gate.policy
schema_version: 1.0.0
default_verdict: allow
rules:
  - name: block-delete
    priority: 10
    effect: block
    match:
      tool_names: [fs.delete]
    reason_codes: [delete_blocked]
"""
INTENT = (
    '{"tool_name": "fs.delete", "args": {"path": "/w/a"}, '
    '"context": {"identity": "u", "workspace": "/w", "risk_class": "low"}}'
)
USER_TESTS = """
import json

DELETE = json.loads(INTENT_TEXT)


def test_blocks_deletes(gait_policy):
    assert gait_policy("policies/prod.yaml").evaluate(DELETE).verdict == "block"


def test_intent_file_path(gait_policy):
    decision = gait_policy("policies/prod.yaml").evaluate("intents/delete.json")
    assert decision.matched_rule == "block-delete"
    assert decision.to_dict()["reason_codes"] == ["delete_blocked"]


def test_compiled_once_per_session(gait_policy):
    assert gait_policy("policies/prod.yaml") is gait_policy("policies/prod.yaml")


def test_snapshot(gait_policy, snapshot):
    assert gait_policy("policies/prod.yaml").evaluate(DELETE).to_dict() == snapshot
"""


def _project(tmp_path: Path) -> Path:
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "prod.yaml").write_text(POLICY, encoding="utf-8")
    (tmp_path / "intents").mkdir()
    (tmp_path / "intents" / "delete.json").write_text(INTENT, encoding="utf-8")
    (tmp_path / "tests").mkdir()
    body = USER_TESTS.replace("INTENT_TEXT", repr(INTENT))
    (tmp_path / "tests" / "test_policy.py").write_text(body, encoding="utf-8")
    return tmp_path


# hypothesis is not needed by these user tests and costs seconds to import.
_NO_HYPOTHESIS = ("-p", "no:hypothesispytest")


def _pytest(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *_NO_HYPOTHESIS, *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_plugin_is_registered_as_a_pytest11_entry_point() -> None:
    found = [ep for ep in entry_points(group="pytest11") if ep.name == "gait"]
    assert [ep.value for ep in found] == ["gait.pytest_plugin"]


def test_user_project_tests_and_syrupy_snapshots(tmp_path: Path) -> None:
    project = _project(tmp_path)
    first = _pytest(project, "--snapshot-update")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "4 passed" in first.stdout
    snapshots = list((project / "tests" / "__snapshots__").glob("*.ambr"))
    assert len(snapshots) == 1
    assert "'verdict': 'block'" in snapshots[0].read_text(encoding="utf-8")

    again = _pytest(project)
    assert again.returncode == 0, again.stdout + again.stderr

    # A policy change that flips the decision breaks both the assertion and the snapshot.
    policy = project / "policies" / "prod.yaml"
    policy.write_text(POLICY.replace("effect: block", "effect: allow"), encoding="utf-8")
    broken = _pytest(project)
    assert broken.returncode == 1
    assert "2 failed, 2 passed" in broken.stdout, broken.stdout
    assert "FAILED tests/test_policy.py::test_blocks_deletes" in broken.stdout
    assert "FAILED tests/test_policy.py::test_snapshot" in broken.stdout


def test_plugin_import_loads_no_engine_code() -> None:
    probe = (
        "import sys, gait.pytest_plugin\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('lark', 'msgspec', 'yaml', "
        "'cryptography') or m.startswith(('gait.engine', 'gait.policy', 'gait.intent', "
        "'gait.regress', 'gait.runpack'))]\n"
        "print(','.join(sorted(heavy)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == ""


def test_harness_accepts_mapping_json_text_and_paths(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(POLICY, encoding="utf-8")
    (tmp_path / "i.json").write_text(INTENT, encoding="utf-8")
    policy = PolicyUnderTest(path)
    expected = PolicyDecision(
        verdict="block",
        reason_codes=("delete_blocked",),
        violations=(),
        matched_rule="block-delete",
    )
    assert policy.evaluate(INTENT) == expected
    assert policy.evaluate(tmp_path / "i.json") == expected
    assert policy.evaluate(str(tmp_path / "i.json")) == expected
    assert policy.rule_names == ["block-delete"]
    read = policy.evaluate(INTENT.replace("fs.delete", "fs.read"))
    assert read.verdict == "allow" and read.matched_rule == ""
    with pytest.raises(TypeError):
        policy.evaluate(42)  # type: ignore[arg-type]


def test_harness_runs_a_golden_fixture_directory(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(POLICY, encoding="utf-8")
    (tmp_path / "fx").mkdir()
    (tmp_path / "fx" / "d.json").write_text(
        '{"intent": ' + INTENT + ', "expect": {"verdict": "allow"}}', encoding="utf-8"
    )
    report = PolicyUnderTest(path).run_fixtures(tmp_path / "fx")
    assert not report.passed
    assert report.failed[0].failures == ["verdict: expected allow, got block"]
