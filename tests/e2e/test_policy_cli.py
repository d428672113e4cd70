"""The installed ``gait`` command, run as a child process in temporary directories.

policy validate / fmt / compile / test / simulate / init and gate eval: JSON fields,
exit codes (policy_cli.md, trace.md §1 and §5.5), the error envelope, and never a
traceback. Each test starts real processes, so the list is kept short; finer
behaviour is tested in-process under tests/policy and tests/engine.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RUNNING = REPO / "tests" / "engine" / "data" / "running_example"
CANDIDATE_DIGEST = "0fab29967ba110e13ffe615190d7a15ad80deb278a76c91c591990dd77bae96f"
ENVELOPE = {"ok", "error", "error_code", "error_category", "hint", "retryable", "correlation_id"}


def gait_command() -> list[str]:
    search = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    found = shutil.which("gait", path=search)
    return [found] if found else [sys.executable, "-m", "gait.cli.main"]


GAIT = gait_command()


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A directory holding the running example (policy.yaml, baseline.yaml, fixtures/)."""
    shutil.copytree(RUNNING, tmp_path / "ex")
    return tmp_path / "ex"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GAIT_CACHE_DIR": str(cwd.parent / "gait-cache")}
    env.pop("GAIT_NO_CACHE", None)
    result = subprocess.run(
        [*GAIT, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert "Traceback" not in result.stderr, result.stderr
    assert "Traceback" not in result.stdout, result.stdout
    return result


def run_json(*args: str, cwd: Path) -> tuple[int, dict]:
    result = run(*args, cwd=cwd)
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout
    return result.returncode, json.loads(lines[0])


def assert_invalid_input(code: int, out: dict, fragment: str) -> None:
    assert code == 6
    assert ENVELOPE <= set(out)
    assert out["ok"] is False
    assert (out["error_code"], out["error_category"], out["retryable"]) == (
        "invalid_input",
        "invalid_input",
        False,
    )
    assert out["hint"] == "check command usage and input schema"
    assert fragment in out["error"]


# ------------------------------------------------------------ top level ---


def test_help_lists_command_groups(tmp_path: Path) -> None:
    result = run("--help", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.startswith("Usage: gait")
    for name in ("gate", "policy", "trace", "keys"):
        assert f"\n  {name} " in result.stdout


def test_help_does_not_import_lark_or_cryptography(tmp_path: Path) -> None:
    probe = (
        "import io, sys, contextlib\n"
        "from gait.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    code = main(['--help'])\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('lark', 'cryptography'))\n"
        "print(code, heavy)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.stdout.strip() == "0 []", result.stdout + result.stderr


def test_unknown_subcommand_exit_6_with_envelope(work: Path) -> None:
    code, out = run_json("policy", "frobnicate", "--json", cwd=work)
    assert_invalid_input(code, out, "frobnicate")


# ------------------------------------------------------------ validate ---


def test_validate_json(work: Path) -> None:
    code, out = run_json("policy", "validate", "policy.yaml", "--json", cwd=work)
    assert code == 0
    assert {k: v for k, v in out.items() if k != "correlation_id"} == {
        "ok": True,
        "schema_id": "gait.gate.policy",
        "schema_version": "1.0.0",
        "policy_digest": CANDIDATE_DIGEST,
        "default_verdict": "block",
        "rule_count": 3,
        "summary": f"policy validate ok: default=block rules=3 digest={CANDIDATE_DIGEST}",
    }
    assert len(out["correlation_id"]) == 24


def test_validate_text_prints_summary(work: Path) -> None:
    result = run("policy", "validate", "policy.yaml", cwd=work)
    assert (result.returncode, result.stdout) == (
        0,
        f"policy validate ok: default=block rules=3 digest={CANDIDATE_DIGEST}\n",
    )


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "read policy"),
        (b"rules: [\n", "parse policy yaml: "),
        (b"rules:\n  - name: r\n    efect: block\n", 'unknown field "efect"'),
        (b"\x00\xff\xfe\x89garbage\x00", "parse policy yaml: "),
    ],
    ids=["missing-file", "bad-yaml", "unknown-key", "binary-garbage"],
)
def test_validate_rejects_bad_policy_with_envelope(
    work: Path, content: bytes | None, fragment: str
) -> None:
    if content is not None:
        (work / "bad.yaml").write_bytes(content)
    code, out = run_json("policy", "validate", "bad.yaml", "--json", cwd=work)
    assert_invalid_input(code, out, fragment)


@pytest.mark.parametrize(
    "argv",
    [
        ["policy", "validate", "bad.yaml", "--json"],
        ["policy", "test", "bad.yaml", "fixtures/a_read.json", "--json"],
        ["gate", "eval", "--policy", "bad.yaml", "--intent", "fixtures/a_read.json", "--json"],
    ],
    ids=["validate", "test", "gate-eval"],
)
def test_unknown_verdict_exits_6_not_1(work: Path, argv: list[str]) -> None:
    text = (work / "policy.yaml").read_text().replace("effect: block", "effect: blocked")
    (work / "bad.yaml").write_text(text)
    code, out = run_json(*argv, cwd=work)
    assert_invalid_input(code, out, 'invalid rule effect "blocked" for deny-external-egress')
    assert out["error"] == 'invalid rule effect "blocked" for deny-external-egress'


# ------------------------------------------------------------ intents ---


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"", "parse intent json"),
        (b"[1, 2]", "parse intent json"),
        (b"\xff\x00\x13", "parse intent json"),
    ],
    ids=["empty", "json-array", "binary"],
)
def test_policy_test_rejects_bad_intent_with_envelope(
    work: Path, content: bytes, fragment: str
) -> None:
    (work / "intent.json").write_bytes(content)
    code, out = run_json("policy", "test", "policy.yaml", "intent.json", "--json", cwd=work)
    assert_invalid_input(code, out, fragment)


def test_too_few_positionals_exit_6(work: Path) -> None:
    code, out = run_json("policy", "test", "policy.yaml", "--json", cwd=work)
    assert_invalid_input(code, out, "expected <policy.yaml> <intent_fixture.json>")


def test_unknown_flag_exit_6(work: Path) -> None:
    code, out = run_json("policy", "validate", "policy.yaml", "--frobnicate", "--json", cwd=work)
    assert code == 6
    assert ENVELOPE <= set(out)
    assert "frobnicate" in out["error"]


# ------------------------------------------------------------ test ---


@pytest.mark.parametrize(
    ("fixture", "exit_code", "verdict"),
    [("a_read", 0, "allow"), ("b_exfil", 3, "block"), ("c_write", 4, "require_approval")],
)
def test_policy_test_json_and_exit_codes(
    work: Path, fixture: str, exit_code: int, verdict: str
) -> None:
    code, out = run_json(
        "policy", "test", "policy.yaml", f"fixtures/{fixture}.json", "--json", cwd=work
    )
    assert (code, out["ok"], out["verdict"]) == (exit_code, True, verdict)
    assert (out["schema_id"], out["schema_version"], out["created_at"]) == (
        "gait.policytest.result",
        "1.0.0",
        "1980-01-01T00:00:00Z",
    )
    assert out["policy_digest"] == CANDIDATE_DIGEST
    assert out["summary"].startswith(f"policy test verdict={verdict} reasons=")


def test_flags_after_positionals_and_single_dash_json(work: Path) -> None:
    code, out = run_json(
        "policy", "test", "-json", "policy.yaml", "fixtures/b_exfil.json", cwd=work
    )
    assert (code, out["verdict"], out["reason_codes"]) == (3, "block", ["blocked_untrusted_egress"])


def test_json_equals_true_spelling(work: Path) -> None:
    code, out = run_json("policy", "validate", "policy.yaml", "--json=true", cwd=work)
    assert (code, out["policy_digest"]) == (0, CANDIDATE_DIGEST)


def test_explain_alone_prints_one_line(work: Path) -> None:
    result = run("policy", "test", "--explain", cwd=work)
    assert result.returncode == 0
    assert len(result.stdout.splitlines()) == 1 and result.stdout.strip()


def test_gaitpol_accepted_as_policy_path(work: Path) -> None:
    shutil.copy(REPO / "tests/policy/data/handwritten.gaitpol", work / "p.gaitpol")
    code, out = run_json("policy", "test", "p.gaitpol", "fixtures/c_write.json", "--json", cwd=work)
    assert (code, out["policy_digest"], out["matched_rule"]) == (
        4,
        CANDIDATE_DIGEST,
        "write-needs-review",
    )


# ------------------------------------------------------------ fmt / compile / simulate / init ---


def test_fmt_write_then_check_is_clean(work: Path) -> None:
    original = (work / "policy.yaml").read_text()
    code, out = run_json("policy", "fmt", "policy.yaml", "--write", "--json", cwd=work)
    assert (code, out["changed"], out["written"], out["policy_digest"]) == (
        0,
        True,
        True,
        CANDIDATE_DIGEST,
    )
    assert (work / "policy.yaml").read_text() != original
    check = run("policy", "fmt", "policy.yaml", "--check", cwd=work)
    assert check.returncode == 0
    code, out = run_json("policy", "fmt", "policy.yaml", "--write", "--json", cwd=work)
    assert (code, "changed" in out, "written" in out) == (0, False, False)


def test_fmt_check_fails_on_unformatted_file_without_touching_it(work: Path) -> None:
    before = (work / "policy.yaml").read_bytes()
    result = run("policy", "fmt", "policy.yaml", "--check", cwd=work)
    assert result.returncode == 2  # --check: "not formatted" (gait policy fmt --help)
    assert (work / "policy.yaml").read_bytes() == before


def test_compile_emit_ir_json(work: Path) -> None:
    code, out = run_json("policy", "compile", "policy.yaml", "--emit", "ir", "--json", cwd=work)
    assert (code, out["policy_digest"], out["rule_count"]) == (0, CANDIDATE_DIGEST, 3)
    assert [row["name"] for row in out["ir"]["rows"]] == [
        "deny-external-egress",
        "read-files",
        "write-needs-review",
    ]


def test_simulate_running_example(work: Path) -> None:
    code, out = run_json(
        "policy", "simulate", "--baseline", "baseline.yaml", "--policy", "policy.yaml", "--fixtures", "fixtures",
        "--json", cwd=work,
    )  # fmt: skip
    assert code == 0
    assert (out["fixtures_total"], out["changed_fixtures"], out["recommendation"]) == (
        3,
        1,
        "enforce",
    )
    assert out["summary"] == "policy simulate fixtures=3 changed=1 recommendation=enforce"
    assert [c["fixture_path"] for c in out["changed"]] == ["fixtures/c_write.json"]
    # text (not a terminal): the summary line only, as the original
    text = run(
        "policy", "simulate", "--baseline", "baseline.yaml", "--policy", "policy.yaml",
        "--fixtures", "fixtures", cwd=work,
    ).stdout  # fmt: skip
    assert text == "policy simulate fixtures=3 changed=1 recommendation=enforce\n"


def test_init_writes_a_valid_template(tmp_path: Path) -> None:
    code, out = run_json("policy", "init", "HIGH", "--out", "p.yaml", "--json", cwd=tmp_path)
    assert (code, out["template"], out["policy_path"]) == (0, "baseline-highrisk", "p.yaml")
    assert out["next_commands"][0] == "gait policy validate p.yaml --json"
    assert run("policy", "validate", "p.yaml", cwd=tmp_path).returncode == 0


# ------------------------------------------------------------ gate eval ---


def test_gate_eval_allow_json_fields(work: Path) -> None:
    code, out = run_json(
        "gate", "eval", "--policy", "policy.yaml", "--intent", "fixtures/a_read.json", "--trace-out", "t.json",
        "--json", cwd=work,
    )  # fmt: skip
    assert code == 0
    assert (out["ok"], out["profile"], out["verdict"], out["phase"]) == (
        True,
        "standard",
        "allow",
        "apply",
    )
    assert (out["policy_digest"], out["matched_rule"]) == (CANDIDATE_DIGEST, "read-files")
    assert (
        out["intent_digest"] == "a0583979cc03519b72bb744b6e848425411b644d67de964e86c2856c1673181a"
    )
    assert out["reason_codes"] == ["matched_rule_read_files"]
    assert "violations" not in out
    assert out["trace_path"] == "t.json"
    assert json.loads((work / "t.json").read_text())["trace_id"] == out["trace_id"]
    assert any(w.startswith("dev mode: signed with this user's dev key") for w in out["warnings"])


def test_gate_eval_block_exit_3(work: Path) -> None:
    code, out = run_json(
        "gate",
        "eval",
        "--policy",
        "policy.yaml",
        "--intent",
        "fixtures/b_exfil.json",
        "--json",
        cwd=work,
    )
    assert (code, out["ok"], out["verdict"], out["violations"]) == (
        3,
        True,
        "block",
        ["untrusted_egress"],
    )
    assert (work / out["trace_path"]).is_file()


def test_gate_eval_simulate_never_enforces(work: Path) -> None:
    code, out = run_json(
        "gate", "eval", "--policy", "policy.yaml", "--intent", "fixtures/b_exfil.json", "--simulate", "--json",
        cwd=work,
    )  # fmt: skip
    assert code == 0
    assert (
        out["verdict"],
        out["simulate_mode"],
        out["would_have_blocked"],
        out["simulated_verdict"],
    ) == (
        "allow",
        True,
        True,
        "block",
    )
    assert out["reason_codes"] == [
        "blocked_untrusted_egress",
        "simulate_mode_non_enforcing",
        "simulated_block",
    ]
    assert out["simulated_reason_codes"] == ["blocked_untrusted_egress"]
    assert "violations" not in out
