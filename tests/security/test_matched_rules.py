"""Issue 11 A7: Decision.matched_rules is a tuple; a comma in a rule name is not a separator."""

from __future__ import annotations

from gait.engine import evaluate
from gait.regress.policytest import rule_coverage

POLICY = """rules:
  - name: "reads,writes"
    effect: allow
    match: {tool_names: [tool.read]}
  - name: other
    effect: block
    match: {tool_names: [tool.exec]}
"""
CTX = {"identity": "agent", "workspace": "/w", "risk_class": "low"}
TARGET = {"kind": "path", "value": "/w/a", "operation": "read"}


def test_rule_name_with_comma_is_one_rule_and_gets_coverage(compile_yaml) -> None:
    compiled = compile_yaml(POLICY)
    d = evaluate(
        compiled, {"tool_name": "tool.read", "args": {}, "targets": [TARGET], "context": CTX}
    )
    assert d.matched_rules == ("reads,writes",)
    assert d.matched_rule == "reads,writes"  # rendering keeps the old string
    rows, unmatched = rule_coverage(compiled, [d])
    assert {r.name: r.hits for r in rows} == {"reads,writes": 1, "other": 0}
    assert unmatched == 0


def test_script_steps_carry_tuples(compile_yaml) -> None:
    compiled = compile_yaml(POLICY)
    intent = {
        "tool_name": "script",
        "args": {},
        "context": CTX,
        "script": {"steps": [{"tool_name": "tool.read", "targets": [TARGET]}]},
    }
    d = evaluate(compiled, intent)
    assert d.matched_rules == ("reads,writes",)
    assert d.step_verdicts[0].matched_rules == ("reads,writes",)
    hits = {r.name: r.hits for r in rule_coverage(compiled, [d])[0]}
    assert hits == {"reads,writes": 1, "other": 0}
