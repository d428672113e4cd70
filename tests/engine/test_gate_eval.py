"""``gait gate eval`` in-process: JSON fields and exit codes (trace.md §5.1, §5.5, §5.7)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from gait.cli.main import main
from gait.intent import intent_digest, normalize_intent, prepare_intent

DATA = Path(__file__).parent / "data" / "running_example"
CANDIDATE_DIGEST = "0fab29967ba110e13ffe615190d7a15ad80deb278a76c91c591990dd77bae96f"


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(DATA, tmp_path / "ex")
    monkeypatch.chdir(tmp_path / "ex")
    return tmp_path / "ex"


def gate(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:
    code = main(["gate", "eval", *argv, "--json"])
    out = capsys.readouterr().out
    assert len(out.splitlines()) == 1, out
    return code, json.loads(out)


def fixture_args(name: str, *extra: str) -> list[str]:
    return ["--policy", "policy.yaml", "--intent", f"fixtures/{name}.json", *extra]


@pytest.mark.parametrize(
    ("name", "code", "verdict"),
    [("a_read", 0, "allow"), ("b_exfil", 3, "block"), ("c_write", 4, "require_approval")],
)
def test_gate_eval_exit_code_follows_verdict(
    work: Path, capsys, name: str, code: int, verdict: str
) -> None:
    got, out = gate(capsys, *fixture_args(name))
    assert (got, out["ok"], out["verdict"]) == (code, True, verdict)


def test_gate_eval_required_fields(work: Path, capsys) -> None:
    _, out = gate(capsys, *fixture_args("b_exfil"))
    for key in (
        "ok",
        "profile",
        "verdict",
        "trace_id",
        "trace_path",
        "policy_digest",
        "intent_digest",
        "phase",
        "correlation_id",
    ):
        assert key in out, key
    assert (out["policy_digest"], out["matched_rule"], out["phase"]) == (
        CANDIDATE_DIGEST,
        "deny-external-egress",
        "apply",
    )
    assert len(out["trace_id"]) == 24


def test_gate_eval_omits_empty_optional_fields(work: Path, capsys) -> None:
    _, out = gate(capsys, *fixture_args("a_read"))
    for key in (
        "violations",
        "simulate_mode",
        "would_have_blocked",
        "script",
        "context_set_digest",
        "step_verdicts",
    ):
        assert key not in out, key


def test_gate_eval_and_policy_test_agree(work: Path, capsys) -> None:
    _, evaled = gate(capsys, *fixture_args("b_exfil"))
    main(["policy", "test", "policy.yaml", "fixtures/b_exfil.json", "--json"])
    tested = json.loads(capsys.readouterr().out)
    for key in ("verdict", "reason_codes", "matched_rule", "policy_digest", "intent_digest"):
        assert evaled[key] == tested[key], key


def test_gate_eval_digests_the_prepared_intent(work: Path, capsys) -> None:
    raw = json.loads(Path("fixtures/a_read.json").read_text())
    raw["context"]["context_set_digest"] = "c" * 64
    Path("claim.json").write_text(json.dumps(raw))
    _, out = gate(capsys, "--policy", "policy.yaml", "--intent", "claim.json")
    normalized = normalize_intent(raw)
    assert out["intent_digest"] == intent_digest(prepare_intent(normalized))
    assert out["intent_digest"] != intent_digest(normalized)
    assert "context_set_digest" not in out


def test_gate_eval_plan_phase_reported(work: Path, capsys) -> None:
    raw = json.loads(Path("fixtures/a_read.json").read_text())
    raw["context"]["phase"] = "plan"
    Path("plan.json").write_text(json.dumps(raw))
    _, out = gate(capsys, "--policy", "policy.yaml", "--intent", "plan.json")
    assert out["phase"] == "plan"


def test_gate_eval_writes_trace_to_default_path(work: Path, capsys) -> None:
    _, out = gate(capsys, *fixture_args("a_read"))
    assert out["trace_path"] == f"trace_{out['trace_id']}.json"
    trace = json.loads(Path(out["trace_path"]).read_text())
    assert (trace["verdict"], trace["policy_digest"], trace["intent_digest"]) == (
        "allow",
        out["policy_digest"],
        out["intent_digest"],
    )


def test_gate_eval_simulate_allow_is_not_would_have_blocked(work: Path, capsys) -> None:
    code, out = gate(capsys, *fixture_args("a_read", "--simulate"))
    assert (code, out["verdict"], out["simulate_mode"], out["simulated_verdict"]) == (
        0,
        "allow",
        True,
        "allow",
    )
    assert "would_have_blocked" not in out
    assert out["reason_codes"] == ["matched_rule_read_files", "simulate_mode_non_enforcing"]


def test_gate_eval_simulate_require_approval(work: Path, capsys) -> None:
    code, out = gate(capsys, *fixture_args("c_write", "--simulate"))
    assert (code, out["verdict"], out["would_have_blocked"], out["simulated_verdict"]) == (
        0,
        "allow",
        True,
        "require_approval",
    )
    assert "simulated_require_approval" in out["reason_codes"]


def test_gate_eval_simulate_trace_records_allow(work: Path, capsys) -> None:
    _, out = gate(capsys, *fixture_args("b_exfil", "--simulate"))
    assert json.loads(Path(out["trace_path"]).read_text())["verdict"] == "allow"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--policy", "policy.yaml"], "both --policy and --intent are required"),
        (["--intent", "fixtures/a_read.json"], "both --policy and --intent are required"),
        (["stray", *fixture_args("a_read")], "unexpected positional arguments"),
        (
            fixture_args("a_read", "--profile", "fancy"),
            'unsupported --profile value "fancy" (expected standard or oss-prod)',
        ),
        (
            fixture_args("a_read", "--profile", "oss-prod", "--simulate"),
            "oss-prod profile does not allow --simulate",
        ),
        (
            fixture_args("a_read", "--profile", "oss-prod"),
            "oss-prod profile requires --key-mode prod",
        ),
    ],
)
def test_gate_eval_usage_errors_exit_6(work: Path, capsys, argv: list[str], message: str) -> None:
    code, out = gate(capsys, *argv)
    assert (code, out["ok"], out["error"], out["error_code"]) == (
        6,
        False,
        message,
        "invalid_input",
    )


def test_gate_eval_missing_policy_exit_6(work: Path, capsys) -> None:
    code, out = gate(capsys, "--policy", "absent.yaml", "--intent", "fixtures/a_read.json")
    assert (code, out["error_category"]) == (6, "invalid_input")


def test_gate_eval_bad_intent_writes_no_trace(work: Path, capsys) -> None:
    Path("bad.json").write_text("{")
    code, _ = gate(capsys, "--policy", "policy.yaml", "--intent", "bad.json")
    assert code == 6
    assert not list(Path().glob("trace_*.json"))


def test_gate_eval_text_output(work: Path, capsys) -> None:
    code = main(["gate", "eval", *fixture_args("b_exfil", "--trace-out", "t.json")])
    captured = capsys.readouterr()
    assert code == 3
    assert captured.out.splitlines() == [
        "gate eval: verdict=block",
        "trace: t.json",
        "reasons: blocked_untrusted_egress",
        "violations: untrusted_egress",
        "warning: dev mode: signed with this user's dev key, not a production key; "
        "signatures verify only where this dev key is",
    ]
    # The original (cmd/gait/gate.go) prints warnings on stdout, after the other lines.
    assert "warning" not in captured.err


def test_gate_eval_explain_alone_prints_one_line(work: Path, capsys) -> None:
    code = main(["gate", "eval", "--explain"])
    out = capsys.readouterr().out
    assert code == 0
    assert len(out.splitlines()) == 1


def test_gate_eval_why_adds_explanation(work: Path, capsys) -> None:
    _, out = gate(capsys, *fixture_args("a_read", "--why"))
    assert [r["status"] for r in out["explanation"]["rows"]] == ["no_match", "matched", "no_match"]
