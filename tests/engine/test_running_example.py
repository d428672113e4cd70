"""The running example of policy_cli.md §3/§4: verdict table, variations, digests, simulate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gait.engine import evaluate
from gait.intent import intent_digest, normalize_intent
from gait.policy import compile_policy_file
from gait.regress.simulate import simulate

DATA = Path(__file__).parent / "data" / "running_example"
FIXTURES = DATA / "fixtures"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


@pytest.fixture(scope="module")
def candidate():
    return compile_policy_file(DATA / "policy.yaml", use_cache=False)


@pytest.fixture(scope="module")
def baseline():
    return compile_policy_file(DATA / "baseline.yaml", use_cache=False)


@pytest.mark.parametrize(
    ("name", "verdict", "reasons", "violations", "matched"),
    [
        ("a_read", "allow", ("matched_rule_read_files",), (), "read-files"),
        (
            "b_exfil",
            "block",
            ("blocked_untrusted_egress",),
            ("untrusted_egress",),
            "deny-external-egress",
        ),
        ("c_write", "require_approval", ("write_review",), (), "write-needs-review"),
    ],
)
def test_running_example_table(candidate, name, verdict, reasons, violations, matched) -> None:
    d = evaluate(candidate, fixture(name))
    assert (d.verdict, d.reason_codes, d.violations, d.matched_rule) == (
        verdict,
        reasons,
        violations,
        matched,
    )


@pytest.mark.parametrize(
    ("name", "digest"),
    [
        ("a_read", "a0583979cc03519b72bb744b6e848425411b644d67de964e86c2856c1673181a"),
        ("b_exfil", "c952f56119a7b89d717f4b81d0f1b02ba701d85cde5bf643e061d1b4b0fee1c6"),
        ("c_write", "1635dff29eaa8475c3afe7e0573ae0f1e9d6fd30c8a316d367c5e36786444e24"),
    ],
)
def test_running_example_intent_digests(candidate, name: str, digest: str) -> None:
    assert evaluate(candidate, fixture(name)).intent_digest == digest


def test_write_review_needs_two_distinct_approvers(candidate) -> None:
    d = evaluate(candidate, fixture("c_write"))
    assert (d.min_approvals, d.require_distinct_approvers) == (2, True)


def delete_variation(phase: str | None) -> dict:
    intent = fixture("a_read")
    intent["targets"] = [{"kind": "path", "value": "/repo/old.txt", "operation": "delete"}]
    if phase:
        intent["context"]["phase"] = phase
    return intent


def test_variation_plan_phase_delete_is_dry_run(candidate) -> None:
    d = evaluate(candidate, delete_variation("plan"))
    assert (d.verdict, d.reason_codes, d.matched_rule) == (
        "dry_run",
        ("matched_rule_read_files", "plan_phase_non_destructive"),
        "read-files",
    )


def test_variation_apply_phase_delete_requires_approval(candidate) -> None:
    d = evaluate(candidate, delete_variation(None))
    assert (d.verdict, d.reason_codes) == (
        "require_approval",
        ("destructive_apply_requires_approval", "matched_rule_read_files"),
    )


def git_push(risk: str, targets: list[dict]) -> dict:
    return {
        "tool_name": "git.push",
        "args": {"remote": "origin"},
        "targets": targets,
        "arg_provenance": [{"arg_path": "$.remote", "source": "user"}],
        "context": {"identity": "dev-bot", "workspace": "/repo", "risk_class": risk},
    }


def test_variation_unmatched_low_risk_gets_default_block(candidate) -> None:
    d = evaluate(candidate, git_push("low", [{"kind": "repo", "value": "org/repo"}]))
    assert (d.verdict, d.reason_codes, d.matched_rule) == ("block", ("default_block",), "")


def test_variation_high_risk_repo_target_is_fail_closed(candidate) -> None:
    d = evaluate(candidate, git_push("high", [{"kind": "repo", "value": "org/repo"}]))
    assert (d.verdict, d.reason_codes, d.violations) == (
        "block",
        ("fail_closed_endpoint_class_unknown",),
        ("endpoint_class_unknown",),
    )


def test_exfil_is_not_a_fail_closed_block(candidate) -> None:
    d = evaluate(candidate, fixture("b_exfil"))
    assert "fail_closed_endpoint_class_unknown" not in d.reason_codes


def test_simulate_running_example(candidate, baseline) -> None:
    fixtures = [
        (f"fixtures/{n}.json", normalize_intent(fixture(n)))
        for n in ("a_read", "b_exfil", "c_write")
    ]
    report = simulate(baseline, candidate, fixtures)
    assert report == {
        "ok": True,
        "baseline_policy_digest": "2753de3311806ddce3d3947d04df18628c87d2466d42fa1a7ffd7080cd3712c5",
        "candidate_policy_digest": "0fab29967ba110e13ffe615190d7a15ad80deb278a76c91c591990dd77bae96f",
        "fixtures_total": 3,
        "changed_fixtures": 1,
        "baseline_verdicts": [{"verdict": "allow", "count": 2}, {"verdict": "block", "count": 1}],
        "candidate_verdicts": [
            {"verdict": "allow", "count": 1},
            {"verdict": "block", "count": 1},
            {"verdict": "require_approval", "count": 1},
        ],
        "recommendation": "enforce",
        "summary": "policy simulate fixtures=3 changed=1 recommendation=enforce",
        "changed": [
            {
                "fixture_path": "fixtures/c_write.json",
                "intent_digest": intent_digest(normalize_intent(fixture("c_write"))),
                "baseline_verdict": "allow",
                "candidate_verdict": "require_approval",
                "baseline_reason_codes": ["write_ok"],
                "candidate_reason_codes": ["write_review"],
                "baseline_matched_rule": "write-files",
                "candidate_matched_rule": "write-needs-review",
                "changed": True,
            }
        ],
    }


def test_simulate_swapped_recommends_observe(candidate, baseline) -> None:
    fixtures = [("c.json", normalize_intent(fixture("c_write")))]
    assert simulate(candidate, baseline, fixtures)["recommendation"] == "observe"


def test_simulate_new_block_recommends_require_approval(compile_yaml, candidate) -> None:
    strict = compile_yaml("default_verdict: block\n")
    fixtures = [("b.json", normalize_intent(fixture("c_write")))]
    assert simulate(candidate, strict, fixtures)["recommendation"] == "require_approval"


def test_simulate_without_changes_recommends_enforce(candidate) -> None:
    fixtures = [("a.json", normalize_intent(fixture("a_read")))]
    report = simulate(candidate, candidate, fixtures)
    assert (report["recommendation"], "changed" in report, "changed_fixtures" in report) == (
        "enforce",
        False,
        False,
    )
