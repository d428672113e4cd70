"""Issue 11 A3: fail-closed requirements apply to every script step."""

from __future__ import annotations

from gait.engine import evaluate

POLICY = """fail_closed:
  enabled: true
  required_fields: [targets, endpoint_class]
rules:
  - {name: allow-all, effect: allow}
"""
CTX = {"identity": "agent", "workspace": "/w", "risk_class": "high"}
READ = {"kind": "path", "value": "/w/a.txt", "operation": "read"}


def _script(steps, **extra):
    return {"tool_name": "script", "args": {}, "context": CTX, "script": {"steps": steps}, **extra}


def test_single_call_without_targets_is_blocked(compile_yaml) -> None:
    d = evaluate(compile_yaml(POLICY), {"tool_name": "git.push", "args": {}, "context": CTX})
    assert d.verdict == "block"


def test_step_without_targets_behind_top_level_decoy_is_blocked(compile_yaml) -> None:
    intent = _script([{"tool_name": "git.push"}], targets=[READ])
    d = evaluate(compile_yaml(POLICY), intent)
    assert d.verdict == "block"
    assert "fail_closed_missing_targets" in d.reason_codes


def test_step_without_targets_behind_sibling_step_is_blocked(compile_yaml) -> None:
    intent = _script([{"tool_name": "tool.read", "targets": [READ]}, {"tool_name": "git.push"}])
    d = evaluate(compile_yaml(POLICY), intent)
    assert d.verdict == "block"
    assert "fail_closed_missing_targets" in d.reason_codes


def test_step_with_unclassified_target_is_blocked(compile_yaml) -> None:
    other = {"kind": "other", "value": "x", "operation": "frob"}
    intent = _script(
        [{"tool_name": "tool.read", "targets": [READ]}, {"tool_name": "x.y", "targets": [other]}],
        targets=[READ],
    )
    d = evaluate(compile_yaml(POLICY), intent)
    assert d.verdict == "block"
    assert "fail_closed_endpoint_class_unknown" in d.reason_codes


def test_complete_script_is_still_allowed(compile_yaml) -> None:
    intent = _script([{"tool_name": "tool.read", "targets": [READ]}])
    assert evaluate(compile_yaml(POLICY), intent).verdict == "allow"
