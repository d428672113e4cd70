"""``regress run``: graders, result file, JUnit, failure reporting (regress.md §3)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from gait.errors import InvalidInput
from gait.regress import graders as graders_mod
from gait.regress.graders import _mismatch
from gait.regress.init import init_fixture
from gait.regress.run import RunOptions, run_regress

ALLOW_ALL = "schema_id: gait.gate.policy\nschema_version: 1.0.0\ndefault_verdict: allow\n"
BLOCK_FETCH = (
    ALLOW_ALL
    + "rules:\n  - name: block-fetch\n    priority: 5\n    effect: block\n"
    + "    match:\n      tool_names: [tool.fetch]\n    reason_codes: [fetch_blocked]\n"
)


def _opts(root: Path, **kw) -> RunOptions:
    return RunOptions(
        config_path=(root / "gait.yaml").as_posix(),
        output_path=(root / "regress_result.json").as_posix(),
        **kw,
    )


def _meta(root: Path, fixture: str, **changes) -> None:
    path = root / "fixtures" / fixture / "fixture.json"
    doc = json.loads(path.read_text()) | changes
    path.write_text(json.dumps(doc))


def _by_name(run) -> dict:
    return {g["name"]: g for g in run.result["graders"]}


def test_fresh_fixture_passes_the_four_core_graders(
    tmp_path: Path, demo_pack, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo_pack(tmp_path)
    monkeypatch.chdir(tmp_path)
    init_fixture("run_demo")
    run = run_regress(RunOptions(junit_path="out/junit.xml"))
    assert run.passed and run.failed == 0
    written = json.loads((tmp_path / "regress_result.json").read_text())
    assert written == run.result
    assert list(written) == [
        "schema_id",
        "schema_version",
        "created_at",
        "producer_version",
        "fixture_set",
        "status",
        "graders",
    ]
    assert written["schema_id"] == "gait.regress.result"
    assert written["created_at"] == "2026-02-05T00:00:00Z"  # the run's, not the clock's
    assert [g["name"] for g in written["graders"]] == [
        "run_demo/diff",
        "run_demo/expected_exit_code",
        "run_demo/schema_validation",
        "run_demo/trajectory",
    ]
    diff = written["graders"][0]
    assert diff == {
        "name": "run_demo/diff",
        "status": "pass",
        "reason_codes": [],
        "details": {
            "allowed_files": [],
            "candidate_runpack": "fixtures/run_demo/runpack.zip",
            "changed_files": [],
            "fixture": "run_demo",
            "run_id": "run_demo",
        },
    }
    schema = written["graders"][2]["details"]
    assert (schema["intent_records"], schema["result_records"], schema["reference_receipts"]) == (
        3,
        3,
        3,
    )
    assert written["graders"][3]["reason_codes"] == ["trajectory_match"]
    assert run.to_json() == {
        "ok": True,
        "status": "pass",
        "fixture_set": "default",
        "graders": 4,
        "artifact_paths": ["regress_result.json", "out/junit.xml"],
        "output": "regress_result.json",
        "junit": "out/junit.xml",
    }
    assert run.text_lines() == [
        "regress run ok: fixture_set=default graders=4",
        "output: regress_result.json",
        "junit: out/junit.xml",
    ]
    # Re-running gives byte-identical artifacts (no wall clock anywhere).
    first = (tmp_path / "regress_result.json").read_bytes()
    run_regress(RunOptions(junit_path="out/junit.xml"))
    assert (tmp_path / "regress_result.json").read_bytes() == first


def test_drifted_candidate_fails_trajectory_and_diff_with_mismatch_details(
    tmp_path: Path, make_pack
) -> None:
    base = make_pack(tmp_path / "base.zip", "run_a", [("t.search", "allow"), ("t.fetch", "allow")])
    init_fixture(str(base), workdir=tmp_path)
    make_pack(
        tmp_path / "fixtures" / "run_a" / "candidate.zip",
        "run_a",
        [("t.search", "allow"), ("t.fetch", "block"), ("t.extra", "allow")],
    )
    _meta(tmp_path, "run_a", candidate_runpack="candidate.zip")
    run = run_regress(_opts(tmp_path, junit_path=(tmp_path / "j.xml").as_posix()))
    assert not run.passed
    graders = _by_name(run)
    trajectory = graders["run_a/trajectory"]
    assert trajectory["status"] == "fail"
    assert trajectory["reason_codes"] == ["unexpected_tool_sequence", "unexpected_verdict_sequence"]
    d = trajectory["details"]
    assert d["candidate_runpack"].endswith("fixtures/run_a/candidate.zip")
    assert (
        d["tool_sequence_mismatch_index"],
        d["tool_sequence_expected_at_mismatch"],
        d["tool_sequence_actual_at_mismatch"],
    ) == (2, "<missing>", "t.extra")
    assert (
        d["verdict_sequence_mismatch_index"],
        d["verdict_sequence_expected_at_mismatch"],
        d["verdict_sequence_actual_at_mismatch"],
    ) == (1, "allow", "block")
    diff = graders["run_a/diff"]
    assert diff["reason_codes"] == ["unexpected_diff"]
    assert diff["details"]["unexpected_files"] == diff["details"]["changed_files"]
    assert {"intents.jsonl", "results.jsonl", "refs.json"} <= set(diff["details"]["changed_files"])
    # Graders sorted by name: diff is the first failure.
    assert run.top_failure_reason == "unexpected_diff"
    assert run.failed == 2
    assert run.next_command == f"gait regress run --config {tmp_path.as_posix()}/gait.yaml --json"
    root = ET.parse(tmp_path / "j.xml").getroot()
    assert (root.get("tests"), root.get("failures")) == ("4", "2")
    failures = {
        c.get("name"): c.find("failure").get("message")  # type: ignore[union-attr]
        for c in root.iter("testcase")
        if c.find("failure") is not None
    }
    assert failures == {
        "diff": "unexpected_diff",
        "trajectory": "unexpected_tool_sequence,unexpected_verdict_sequence",
    }


def test_diff_allowlist_accepts_listed_changes_only(tmp_path: Path, make_pack) -> None:
    base = make_pack(tmp_path / "base.zip", "run_a", [("t", "allow")])
    init_fixture(str(base), workdir=tmp_path)
    make_pack(tmp_path / "fixtures" / "run_a" / "cand.zip", "run_a", [("t", "block")])
    _meta(
        tmp_path,
        "run_a",
        candidate_runpack="cand.zip",
        diff_allow_changed_files=["refs.json", " refs.json "],
    )
    diff = _by_name(run_regress(_opts(tmp_path)))["run_a/diff"]
    assert diff["status"] == "fail"
    assert diff["details"]["changed_files"] == ["refs.json", "results.jsonl"]
    assert diff["details"]["allowed_files"] == ["refs.json"]
    assert diff["details"]["unexpected_files"] == ["results.jsonl"]
    assert diff["details"]["step_changes"]  # per-step detail from run diff

    _meta(tmp_path, "run_a", diff_allow_changed_files=["refs.json", "results.jsonl"])
    diff = _by_name(run_regress(_opts(tmp_path)))["run_a/diff"]
    assert (diff["status"], diff["reason_codes"]) == ("pass", [])
    assert "unexpected_files" not in diff["details"]


def test_missing_candidate_fails_with_candidate_path_invalid(tmp_path: Path, make_pack) -> None:
    init_fixture(str(make_pack(tmp_path / "b.zip", "run_a", [("t", "allow")])), workdir=tmp_path)
    _meta(tmp_path, "run_a", candidate_runpack="nowhere.zip")
    graders = _by_name(run_regress(_opts(tmp_path)))
    assert graders["run_a/diff"]["reason_codes"] == ["candidate_path_invalid"]
    assert graders["run_a/trajectory"]["reason_codes"] == ["candidate_path_invalid"]
    assert graders["run_a/schema_validation"]["status"] == "pass"


def test_missing_result_changes_the_replay_exit_code(tmp_path: Path, make_pack) -> None:
    pack = make_pack(tmp_path / "b.zip", "run_a", [("tool.summarize", "missing")])
    init_fixture(str(pack), workdir=tmp_path)
    grader = _by_name(run_regress(_opts(tmp_path)))["run_a/expected_exit_code"]
    assert grader["status"] == "fail"
    assert grader["reason_codes"] == ["unexpected_exit_code"]
    assert grader["details"]["actual_exit_code"] == 2
    assert grader["details"]["missing_results"] == ["intent_0001"]
    _meta(tmp_path, "run_a", expected_replay_exit_code=2)
    assert _by_name(run_regress(_opts(tmp_path)))["run_a/expected_exit_code"]["status"] == "pass"


def test_grader_that_crashes_fails_without_aborting_the_run(
    tmp_path: Path, make_pack, monkeypatch: pytest.MonkeyPatch
) -> None:
    init_fixture(str(make_pack(tmp_path / "b.zip", "run_a", [("t", "allow")])), workdir=tmp_path)

    def boom(ctx):
        raise RuntimeError("kaput")

    core = tuple((name, boom if name == "diff" else fn) for name, fn in graders_mod.CORE_GRADERS)
    monkeypatch.setattr("gait.regress.run.CORE_GRADERS", core)
    run = run_regress(_opts(tmp_path))
    diff = _by_name(run)["run_a/diff"]
    assert diff["status"] == "fail"
    assert diff["reason_codes"] == ["grader_error"]
    assert diff["details"] == {
        "error": "RuntimeError: kaput",
        "fixture": "run_a",
        "run_id": "run_a",
    }
    assert run.failed == 1


def test_context_conformance_grader_runs_when_a_fixture_requires_it(tmp_path: Path) -> None:
    from gait.runpack.model import Receipt, Refs, Run
    from gait.runpack.record import record_runpack, write_runpack

    def pack(path: Path, digest: str, receipts: int = 0) -> Path:
        refs = Refs(
            context_set_digest=digest,
            receipts=[
                Receipt(
                    ref_id=f"ref_{n}",
                    source_type="doc",
                    source_locator="kb",
                    query_digest="c" * 64,
                    content_digest="d" * 64,
                )
                for n in range(receipts)
            ],
        )
        built = record_runpack(Run(run_id="run_ctx", created_at="2026-01-01T00:00:00Z"), refs=refs)
        write_runpack(path, built)
        return path

    init_fixture(str(pack(tmp_path / "c.zip", "a" * 64)), workdir=tmp_path)
    run = run_regress(_opts(tmp_path))
    grader = _by_name(run)["run_ctx/context_conformance"]
    assert grader["status"] == "pass"
    assert grader["reason_codes"] == ["context_conformance_pass"]
    assert grader["context_conformance"] == "none"
    assert len(run.graders) == 5

    # Only the digest moved: runtime-only drift, blocked unless allowed.
    pack(tmp_path / "fixtures" / "run_ctx" / "cand.zip", "b" * 64)
    _meta(tmp_path, "run_ctx", candidate_runpack="cand.zip")
    grader = _by_name(run_regress(_opts(tmp_path)))["run_ctx/context_conformance"]
    assert grader["reason_codes"] == ["context_runtime_drift_blocked"]
    assert grader["context_conformance"] == "runtime_only"
    run = run_regress(_opts(tmp_path, allow_context_runtime_drift=True))
    grader = _by_name(run)["run_ctx/context_conformance"]
    assert (grader["status"], grader["context_conformance"]) == ("pass", "runtime_only")

    # A different reference set with a different digest: semantic drift.
    pack(tmp_path / "fixtures" / "run_ctx" / "cand.zip", "b" * 64, receipts=1)
    grader = _by_name(run_regress(_opts(tmp_path)))["run_ctx/context_conformance"]
    assert grader["reason_codes"] == ["context_set_digest_mismatch"]
    assert grader["context_conformance"] == "semantic"


def test_context_conformance_not_required_without_evidence_settings(
    tmp_path: Path, make_pack
) -> None:
    init_fixture(str(make_pack(tmp_path / "b.zip", "run_a", [("t", "allow")])), workdir=tmp_path)
    assert len(run_regress(_opts(tmp_path)).graders) == 4
    run = run_regress(_opts(tmp_path, context_conformance=True))
    grader = _by_name(run)["run_a/context_conformance"]
    assert grader["reason_codes"] == ["context_evidence_missing"]
    assert grader["context_conformance"] == "missing"


@pytest.mark.parametrize(
    ("expected", "actual", "found"),
    [
        (["a", "b"], ["a", "b"], None),
        (["a", "b"], ["a", "c"], (1, "b", "c")),
        (["a"], ["a", "b"], (1, "<missing>", "b")),
        (["a", "b"], ["a"], (1, "b", "<missing>")),
        (["a"], [], (0, "a", "<missing>")),
    ],
)
def test_mismatch_index_rule(expected: list, actual: list, found: tuple | None) -> None:
    assert _mismatch(expected, actual) == found


# ------------------------------------------------------------ policy_verdict ---


def _policy_fixture(tmp_path: Path, make_pack, policy: str = ALLOW_ALL, **kw) -> None:
    (tmp_path / "policy.yaml").write_text(policy, encoding="utf-8")
    pack = make_pack(
        tmp_path / "p.zip",
        "run_p",
        [("tool.search", "allow"), ("tool.fetch", "allow"), ("tool.delete", "block")],
        **kw,
    )
    init_fixture(str(pack), workdir=tmp_path, name="p")
    _meta(tmp_path, "p", policy="policy.yaml")


def test_policy_change_that_blocks_a_recorded_allow_names_step_and_change(
    tmp_path: Path, make_pack
) -> None:
    _policy_fixture(
        tmp_path,
        make_pack,
        policy=ALLOW_ALL.replace("allow\n", "allow\n")
        + "rules:\n  - name: block-delete\n    priority: 1\n    effect: block\n"
        + "    match:\n      tool_names: [tool.delete]\n",
    )
    run = run_regress(_opts(tmp_path))
    assert run.passed, run.top_failure_reason
    grader = _by_name(run)["p/policy_verdict"]
    assert grader["reason_codes"] == ["policy_verdicts_match"]
    assert grader["details"]["steps_evaluated"] == 3

    (tmp_path / "policy.yaml").write_text(
        BLOCK_FETCH + "  - name: block-delete\n    priority: 1\n    effect: block\n"
        "    match:\n      tool_names: [tool.delete]\n",
        encoding="utf-8",
    )
    run = run_regress(_opts(tmp_path))
    assert not run.passed
    assert run.top_failure_reason == "policy_verdict_changed:step_2:tool.fetch:allow->block"
    assert run.top_failure_grader == "p/policy_verdict"
    grader = _by_name(run)["p/policy_verdict"]
    (changed,) = grader["details"]["changed_steps"]
    assert changed["intent_id"] == "intent_0002"
    assert changed["matched_rule"] == "block-fetch"
    assert changed["policy_reason_codes"] == ["fetch_blocked"]
    assert changed["intent_source"] == "recorded_gate_intent"
    assert run.text_lines()[:2] == [
        "regress run failed: fixture_set=default failed=1",
        "top_failure_reason: policy_verdict_changed:step_2:tool.fetch:allow->block",
    ]


def test_policy_that_unblocks_a_recorded_block_also_fails(tmp_path: Path, make_pack) -> None:
    _policy_fixture(tmp_path, make_pack)
    run = run_regress(_opts(tmp_path))
    assert run.top_failure_reason == "policy_verdict_changed:step_3:tool.delete:block->allow"


def test_run_policy_flag_applies_to_every_fixture(tmp_path: Path, make_pack) -> None:
    pack = make_pack(tmp_path / "a.zip", "run_a", [("tool.fetch", "allow")])
    init_fixture(str(pack), workdir=tmp_path)
    (tmp_path / "block.yaml").write_text(BLOCK_FETCH, encoding="utf-8")
    assert len(run_regress(_opts(tmp_path)).graders) == 4
    run = run_regress(_opts(tmp_path, policy=(tmp_path / "block.yaml").as_posix()))
    assert run.top_failure_reason == "policy_verdict_changed:step_1:tool.fetch:allow->block"


def test_reference_capture_cannot_be_rechecked_and_says_so(tmp_path: Path, make_pack) -> None:
    _policy_fixture(tmp_path, make_pack, capture_mode="reference")
    grader = _by_name(run_regress(_opts(tmp_path)))["p/policy_verdict"]
    assert grader["status"] == "fail"
    assert grader["reason_codes"] == ["policy_intent_not_captured"]
    assert grader["details"]["steps_not_captured"] == ["intent_0001", "intent_0002", "intent_0003"]


def test_ungated_packs_are_rebuilt_from_args_with_the_policy_context(
    tmp_path: Path, demo_pack
) -> None:
    demo_pack(tmp_path)
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        ALLOW_ALL + "rules:\n  - name: high-risk-fetch\n    priority: 1\n    effect: block\n"
        "    match:\n      tool_names: [tool.fetch]\n      risk_classes: [high]\n",
        encoding="utf-8",
    )
    source = (tmp_path / "gait-out" / "runpack_run_demo.zip").as_posix()
    init_fixture(source, workdir=tmp_path, policy="policy.yaml")
    grader = _by_name(run_regress(_opts(tmp_path)))["run_demo/policy_verdict"]
    assert grader["reason_codes"] == ["policy_verdicts_match"]  # default context: risk low
    assert {s["intent_source"] for s in grader["details"]["steps"]} == {"rebuilt_from_args"}
    _meta(
        tmp_path,
        "run_demo",
        policy_context={"identity": "a", "workspace": "/", "risk_class": "high"},
    )
    run = run_regress(_opts(tmp_path))
    assert run.top_failure_reason == "policy_verdict_changed:step_2:tool.fetch:allow->block"


def test_broken_policy_fails_the_grader_not_the_run(tmp_path: Path, make_pack) -> None:
    _policy_fixture(tmp_path, make_pack)
    (tmp_path / "policy.yaml").write_text("rules: [", encoding="utf-8")
    run = run_regress(_opts(tmp_path))
    grader = _by_name(run)["p/policy_verdict"]
    assert grader["reason_codes"] == ["policy_invalid"]
    assert "error" in grader["details"]
    assert (tmp_path / "regress_result.json").exists()


def test_policy_grader_on_fixtures_without_a_policy_passes_as_not_configured(
    tmp_path: Path, make_pack
) -> None:
    _policy_fixture(tmp_path, make_pack)
    init_fixture(str(make_pack(tmp_path / "o.zip", "run_o", [("t", "allow")])), workdir=tmp_path)
    grader = _by_name(run_regress(_opts(tmp_path)))["run_o/policy_verdict"]
    assert (grader["status"], grader["reason_codes"]) == ("pass", ["policy_not_configured"])


# ------------------------------------------------------------ invalid input ---


def test_no_fixtures_configured(tmp_path: Path) -> None:
    (tmp_path / "gait.yaml").write_text('{"fixtures": []}', encoding="utf-8")
    with pytest.raises(InvalidInput, match="no fixtures configured"):
        run_regress(_opts(tmp_path))
    assert not (tmp_path / "regress_result.json").exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"config_run_id": "run_other"}, "fixture run_id mismatch for run_a"),
        ({"meta_name": "zzz"}, "fixture metadata name mismatch for run_a"),
        ({"meta_run_id": "run_other"}, "runpack run_id mismatch for run_a"),
        ({"config_runpack": "fixtures/run_a/gone.zip"}, "fixture runpack missing for run_a"),
        ({"corrupt": True}, "read fixture runpack for run_a"),
    ],
)
def test_inconsistent_fixtures_are_invalid_input(
    tmp_path: Path, make_pack, change: dict, message: str
) -> None:
    init_fixture(str(make_pack(tmp_path / "b.zip", "run_a", [("t", "allow")])), workdir=tmp_path)
    config_path = tmp_path / "gait.yaml"
    config = json.loads(config_path.read_text())
    entry = config["fixtures"][0]
    if "config_run_id" in change:
        entry["run_id"] = change["config_run_id"]
    if "config_runpack" in change:
        entry["runpack"] = change["config_runpack"]
    if "meta_name" in change:
        _meta(tmp_path, "run_a", name=change["meta_name"])
    if "meta_run_id" in change:
        entry["run_id"] = ""
        _meta(tmp_path, "run_a", run_id=change["meta_run_id"])
    if "corrupt" in change:
        (tmp_path / "fixtures" / "run_a" / "runpack.zip").write_bytes(b"PK\x03\x04garbage")
    config_path.write_text(json.dumps(config))
    with pytest.raises(InvalidInput, match=message):
        run_regress(_opts(tmp_path))
