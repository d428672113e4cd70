"""Golden policy tests: ``gait policy test <policy> <DIR>`` and gait.regress.policytest."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from gait.errors import InvalidInput
from gait.regress.policytest import (
    discover_policy_fixtures,
    parse_expectation,
    run_policy_tests,
)

POLICY = """\
schema_id: gait.gate.policy
schema_version: 1.0.0
default_verdict: block
rules:
  - name: block-delete
    priority: 10
    effect: block
    match:
      tool_names: [fs.delete]
    reason_codes: [delete_blocked]
    violations: [destructive]
  - name: allow-delete-shadowed
    priority: 20
    effect: allow
    match:
      tool_names: [fs.delete]
  - name: allow-read
    priority: 30
    effect: allow
    match:
      tool_names: [fs.read]
"""
CONTEXT = {"identity": "agent", "workspace": "/w", "risk_class": "low"}


def intent(tool: str, **extra: Any) -> dict[str, Any]:
    return {"tool_name": tool, "args": {"path": "/w/a"}, "context": dict(CONTEXT), **extra}


def write_json(path: Path, value: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value), encoding="utf-8")
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "policy.yaml").write_text(POLICY, encoding="utf-8")
    fx = tmp_path / "fixtures"
    write_json(fx / "read.json", intent("fs.read"))
    write_json(fx / "read.expect.json", {"verdict": "allow", "matched_rule": "allow-read"})
    write_json(
        fx / "nested" / "delete.json",
        {
            "description": "deletes are blocked",
            "intent": intent("fs.delete"),
            "expect": {
                "verdict": "block",
                "reason_codes": ["delete_blocked"],
                "violations": ["destructive"],
                "matched_rule": "block-delete",
            },
        },
    )
    return tmp_path


def test_both_fixture_formats_are_discovered_recursively_and_sorted(project: Path) -> None:
    fixtures = discover_policy_fixtures(project / "fixtures")
    assert [f.name for f in fixtures] == ["nested/delete", "read"]
    single, pair = fixtures
    assert single.intent_path == single.expect_path
    assert single.description == "deletes are blocked"
    assert pair.expect_path.endswith("read.expect.json")
    assert pair.intent.tool_name == "fs.read"


def test_all_fixtures_pass_and_coverage_names_the_shadowed_rule(project: Path) -> None:
    report = run_policy_tests(str(project / "policy.yaml"), str(project / "fixtures"))
    assert report.passed
    assert [r.fixture.name for r in report.results] == ["nested/delete", "read"]
    hits = {row.name: row.hits for row in report.coverage}
    assert hits == {"block-delete": 1, "allow-delete-shadowed": 0, "allow-read": 1}
    assert report.uncovered == ["allow-delete-shadowed"]
    cov = report.coverage_dict()
    assert (cov["rules_total"], cov["rules_covered"]) == (3, 2)
    assert cov["uncovered_rules"] == ["allow-delete-shadowed"]
    assert cov["no_rule_matched"] == 0


def test_shadowed_rule_stays_uncovered_even_with_more_delete_fixtures(project: Path) -> None:
    for n in range(3):
        write_json(
            project / "fixtures" / f"delete_{n}.json",
            {"intent": intent("fs.delete"), "expect": {"verdict": "block"}},
        )
    report = run_policy_tests(str(project / "policy.yaml"), str(project / "fixtures"))
    hits = {row.name: row.hits for row in report.coverage}
    assert hits["block-delete"] == 4
    assert report.uncovered == ["allow-delete-shadowed"]


def test_default_verdict_decisions_count_as_no_rule_matched(project: Path) -> None:
    write_json(
        project / "fixtures" / "push.json",
        {"intent": intent("git.push"), "expect": {"verdict": "block", "matched_rule": ""}},
    )
    report = run_policy_tests(str(project / "policy.yaml"), str(project / "fixtures"))
    assert report.passed
    assert report.coverage_dict()["no_rule_matched"] == 1


def test_every_kind_of_mismatch_is_reported(project: Path) -> None:
    write_json(
        project / "fixtures" / "wrong.json",
        {
            "intent": intent("fs.delete"),
            "expect": {
                "verdict": "allow",
                "reason_codes": ["other"],
                "violations": [],
                "matched_rule": "allow-delete-shadowed",
            },
        },
    )
    report = run_policy_tests(str(project / "policy.yaml"), str(project / "fixtures"))
    assert not report.passed
    (failed,) = report.failed
    assert failed.fixture.name == "wrong"
    assert failed.failures == [
        "verdict: expected allow, got block",
        "reason_codes: expected [other], got [delete_blocked]",
        "violations: expected [], got [destructive]",
        "matched_rule: expected allow-delete-shadowed, got block-delete",
    ]
    assert report.to_dict()["failed_fixtures"] == ["wrong"]


def test_matched_rule_expectation_is_order_and_space_insensitive() -> None:
    expect = parse_expectation({"verdict": "BLOCK", "matched_rule": "b, a"}, "x")
    assert expect.verdict == "block"
    assert expect.matched_rule == "a,b"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"verdict": "blocked"}, "expect.verdict must be one of"),
        ({"verdit": "block"}, "unknown expectation key(s): verdit"),
        ({"verdict": "block", "reason_codes": "x"}, "reason_codes must be a list of strings"),
        ({"verdict": "block", "matched_rule": 3}, "matched_rule must be a string"),
        (["block"], "expectation must be a JSON object"),
    ],
)
def test_invalid_expectations_are_rejected(value: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_expectation(value, "fixture.json")


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"a.json": intent("fs.read")}, "no expectation for this intent"),
        ({"a.expect.json": {"verdict": "allow"}}, "expectation without an intent file"),
        ({"a.json": {"expect": {"verdict": "allow"}}}, 'needs an "intent" object'),
        (
            {"a.json": {"intent": intent("fs.read"), "expect": "allow", "extra": 1}},
            "unknown key",
        ),
        (
            {"a.json": {"intent": {"tool_name": "fs.read"}, "expect": "allow"}},
            "context.identity is required",
        ),
        ({}, "no policy test fixtures found"),
    ],
)
def test_unusable_fixture_directories_are_invalid_input(
    tmp_path: Path, files: dict[str, Any], message: str
) -> None:
    (tmp_path / "fx").mkdir()
    for name, value in files.items():
        write_json(tmp_path / "fx" / name, value)
    with pytest.raises(InvalidInput, match=message):
        discover_policy_fixtures(tmp_path / "fx")


def test_malformed_json_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "fx").mkdir()
    (tmp_path / "fx" / "bad.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"bad\.json"):
        discover_policy_fixtures(tmp_path / "fx")


def test_hidden_and_non_json_files_are_ignored(project: Path) -> None:
    (project / "fixtures" / "README.md").write_text("notes", encoding="utf-8")
    write_json(project / "fixtures" / ".hidden" / "x.json", intent("fs.read"))
    write_json(project / "fixtures" / ".draft.json", intent("fs.read"))
    assert len(discover_policy_fixtures(project / "fixtures")) == 2


# ------------------------------------------------------------ CLI ---


def test_cli_directory_pass_exit_0_with_json_report(project: Path, gait_main) -> None:
    result = gait_main("policy", "test", "policy.yaml", "fixtures", "--json", cwd=project)
    assert result.code == 0, result.stdout
    out = result.json()
    assert out["ok"] is True
    assert out["schema_id"] == "gait.policytest.suite"
    assert (out["fixtures_total"], out["passed"], out["failed"]) == (2, 2, 0)
    assert out["coverage"]["uncovered_rules"] == ["allow-delete-shadowed"]
    assert [f["status"] for f in out["fixtures"]] == ["pass", "pass"]


def test_cli_directory_text_output(project: Path, gait_main) -> None:
    result = gait_main("policy", "test", "policy.yaml", "fixtures", cwd=project)
    assert result.code == 0
    assert result.stdout.splitlines() == [
        "PASS nested/delete (verdict=block matched_rule=block-delete)",
        "PASS read (verdict=allow matched_rule=allow-read)",
        "coverage: 2/3 rules matched; never matched: allow-delete-shadowed",
        "policy test: fixtures=2 passed=2 failed=0 coverage=2/3",
    ]


def test_cli_directory_failure_exits_5_and_writes_junit(project: Path, gait_main) -> None:
    write_json(project / "fixtures" / "z.expect.json", {"verdict": "allow"})
    write_json(project / "fixtures" / "z.json", intent("fs.delete"))
    result = gait_main(
        "policy",
        "test",
        "policy.yaml",
        "fixtures",
        "--junit",
        "out/ci/junit.xml",
        "--json",
        cwd=project,
    )
    assert result.code == 5, result.stdout
    out = result.json()
    assert out["ok"] is False and out["status"] == "fail"
    assert out["failed_fixtures"] == ["z"]
    assert out["junit"] == "out/ci/junit.xml"
    root = ET.parse(project / "out" / "ci" / "junit.xml").getroot()
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures")) == ("3", "1")
    (suite,) = root.findall("testsuite")
    assert suite.get("name") == "gait.policytest"
    props = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert props["coverage.uncovered_rules"] == "allow-delete-shadowed"
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == ["nested/delete", "read", "z"]
    assert all(c.get("classname") == "policy.yaml" and c.get("time") == "0" for c in cases)
    failure = cases[2].find("failure")
    assert failure is not None
    assert failure.get("message") == "verdict: expected allow, got block"
    assert failure.get("type") == "policy_test_failure"
    assert cases[0].find("failure") is None


def test_cli_directory_invalid_fixture_exits_6(project: Path, gait_main) -> None:
    write_json(project / "fixtures" / "lonely.json", intent("fs.read"))
    result = gait_main("policy", "test", "policy.yaml", "fixtures", "--json", cwd=project)
    assert result.code == 6
    out = result.json()
    assert out["error_code"] == "invalid_input"
    assert "lonely.json" in out["error"]


def test_cli_single_file_behaviour_is_unchanged(project: Path, gait_main) -> None:
    result = gait_main(
        "policy", "test", "policy.yaml", "fixtures/nested/delete.json", "--json", cwd=project
    )
    # A single-file fixture is not an intent: the spec'd single-intent path still reads it
    # as an intent (and fails to normalize it), proving the directory branch did not leak.
    assert result.code == 6
    write_json(project / "one.json", intent("fs.delete"))
    result = gait_main("policy", "test", "policy.yaml", "one.json", "--json", cwd=project)
    assert result.code == 3
    out = result.json()
    assert out["schema_id"] == "gait.policytest.result"
    assert out["verdict"] == "block"
    assert out["matched_rule"] == "block-delete"


def test_cli_junit_requires_a_directory(project: Path, gait_main) -> None:
    write_json(project / "one.json", intent("fs.read"))
    result = gait_main(
        "policy", "test", "policy.yaml", "one.json", "--junit", "j.xml", "--json", cwd=project
    )
    assert result.code == 6
    assert "requires a fixtures directory" in result.json()["error"]
    assert not (project / "j.xml").exists()


def test_rules_deciding_steps_of_a_script_intent_are_covered(project: Path) -> None:
    script = {
        "tool_name": "script",
        "script": {
            "steps": [
                {"tool_name": "fs.read", "args": {"path": "/w/a"}},
                {"tool_name": "fs.delete", "args": {"path": "/w/b"}},
            ]
        },
        "context": dict(CONTEXT),
    }
    fx = project / "script_only"
    write_json(fx / "s.json", {"intent": script, "expect": {"verdict": "block"}})
    report = run_policy_tests(str(project / "policy.yaml"), str(fx))
    assert report.passed, report.text_lines()
    hits = {row.name: row.hits for row in report.coverage}
    assert hits == {"block-delete": 1, "allow-delete-shadowed": 0, "allow-read": 1}
