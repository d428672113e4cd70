"""``--explain``/``--why`` report: which rows were considered and why each did or did not match."""

from __future__ import annotations

import json
from pathlib import Path

from gait.engine.explain import explain_rows, render_explanation
from gait.intent import normalize_intent
from gait.policy import compile_policy_file

DATA = Path(__file__).parent / "data" / "running_example"


def report_for(fixture: str) -> dict:
    compiled = compile_policy_file(DATA / "policy.yaml", use_cache=False)
    raw = json.loads((DATA / "fixtures" / f"{fixture}.json").read_text())
    return explain_rows(compiled, normalize_intent(raw))


def test_explain_marks_matching_row_and_tier() -> None:
    report = report_for("b_exfil")
    assert [r["status"] for r in report["rows"]] == ["matched", "not_evaluated", "not_evaluated"]
    assert report["tier_priority"] == 10


def test_explain_names_the_failing_selector() -> None:
    report = report_for("a_read")
    deny = report["rows"][0]
    assert deny["status"] == "no_match"
    assert deny["why"].startswith("target_kinds: wants [host, url]")
    assert report["rows"][1]["status"] == "matched"


def test_explain_reports_default_when_nothing_matches(compile_yaml, intent) -> None:
    compiled = compile_yaml(
        "default_verdict: dry_run\nrules:\n  - {name: r, effect: block, match: {tool_names: [x]}}\n"
    )
    report = explain_rows(compiled, normalize_intent(intent()))
    assert report["default_verdict"] == "dry_run"
    assert render_explanation(report)[-1] == "no rule matched: default verdict dry_run"


def test_explain_reports_fail_closed(compile_yaml, intent) -> None:
    compiled = compile_yaml(
        "fail_closed: {enabled: true, required_fields: [targets]}\nrules:\n  - {name: r, effect: allow}\n"
    )
    report = explain_rows(
        compiled, normalize_intent(intent(targets=[], context={"risk_class": "high"}))
    )
    assert report["fail_closed"]["reason_codes"] == ["fail_closed_missing_targets"]
    assert report["rows"][0]["status"] == "not_evaluated"
    assert render_explanation(report)[0] == "fail-closed: block (fail_closed_missing_targets)"


def test_rendered_explanation_has_one_line_per_row() -> None:
    lines = render_explanation(report_for("c_write"))
    assert lines[0] == "rows in evaluation order:"
    assert sum(1 for line in lines if line.startswith("  [")) == 3
    assert lines[-1] == "winning tier: priority 20"
