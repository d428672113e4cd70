"""``gait policy`` subcommands run in-process (``gait.cli.main.main``), policy_cli.md §1–§5."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest

from gait.cli.main import main

REPO = Path(__file__).resolve().parents[2]
RUNNING = REPO / "tests" / "engine" / "data" / "running_example"
CANDIDATE_DIGEST = "0fab29967ba110e13ffe615190d7a15ad80deb278a76c91c591990dd77bae96f"
BASELINE_DIGEST = "2753de3311806ddce3d3947d04df18628c87d2466d42fa1a7ffd7080cd3712c5"


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(RUNNING, tmp_path / "ex")
    monkeypatch.chdir(tmp_path / "ex")
    return tmp_path / "ex"


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:
    code = main([*argv, "--json"])
    out = capsys.readouterr().out
    assert len(out.splitlines()) == 1, out
    return code, json.loads(out)


def cli_text(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def write_intent(work: Path, name: str, **overrides: object) -> str:
    raw = json.loads((work / "fixtures" / "a_read.json").read_text())
    raw.update(overrides)
    (work / name).write_text(json.dumps(raw))
    return name


# ------------------------------------------------------------ common ---


def test_no_policy_subcommand_is_usage_exit_6(work: Path, capsys) -> None:
    code, _out, err = cli_text(capsys, "policy")
    assert code == 6
    assert "Usage:" in err


def test_unknown_policy_subcommand_prints_usage_exit_6(work: Path, capsys) -> None:
    code, out, err = cli_text(capsys, "policy", "frobnicate")
    assert (code, out) == (6, "")
    assert "frobnicate" in err and "Usage:" in err


def test_help_exits_0(work: Path, capsys) -> None:
    code, out, _ = cli_text(capsys, "policy", "test", "--help")
    assert code == 0
    assert "Usage:" in out


@pytest.mark.parametrize("sub", ["validate", "fmt", "compile", "simulate", "init"])
def test_explain_alone_prints_one_line(work: Path, capsys, sub: str) -> None:
    code, out, _ = cli_text(capsys, "policy", sub, "--explain")
    assert code == 0
    assert len(out.splitlines()) == 1 and out.strip()


def test_policy_error_envelope(work: Path, capsys) -> None:
    (work / "bad.yaml").write_text("rules:\n  - name: r1\n    effect: permit\n")
    code, out = cli(capsys, "policy", "validate", "bad.yaml")
    assert code == 6
    assert out["error"] == 'invalid rule effect "permit" for r1'
    assert (out["ok"], out["error_code"], out["error_category"], out["retryable"]) == (
        False,
        "invalid_input",
        "invalid_input",
        False,
    )
    assert out["hint"] == "check command usage and input schema"
    assert len(out["correlation_id"]) == 24


def test_text_mode_error_names_file_line_column_and_field(work: Path, capsys) -> None:
    (work / "bad.yaml").write_text("rules:\n  - name: r1\n    effect: permit\n")
    code, out, err = cli_text(capsys, "policy", "validate", "bad.yaml")
    assert (code, out) == (6, "")
    assert 'invalid rule effect "permit" for r1' in err
    assert "bad.yaml:3:13" in err and "rules[0].effect" in err


def test_legacy_policy_error_exits_6(work: Path, capsys) -> None:
    (work / "legacy.yaml").write_text("version: 1\nboundaries: []\n")
    code, out = cli(capsys, "policy", "validate", "legacy.yaml")
    assert code == 6
    assert out["error"].startswith(
        "parse policy yaml: legacy policy proposal fields are not supported [version, boundaries]"
    )
    assert out["migration"]  # [adv] migration hints for legacy policies


# ------------------------------------------------------------ validate ---


def test_validate_omits_rule_count_for_empty_policy(work: Path, capsys) -> None:
    (work / "empty.yaml").write_text("")
    code, out = cli(capsys, "policy", "validate", "empty.yaml")
    assert (code, out["default_verdict"], "rule_count" in out) == (0, "require_approval", False)
    assert out["summary"].startswith(
        "policy validate ok: default=require_approval rules=0 digest=07a528a8"
    )


def test_validate_needs_exactly_one_positional(work: Path, capsys) -> None:
    code, out = cli(capsys, "policy", "validate", "policy.yaml", "baseline.yaml")
    assert (code, out["error"]) == (6, "expected <policy.yaml>")


def test_validate_accepts_gaitpol(work: Path, capsys) -> None:
    shutil.copy(REPO / "tests/policy/data/handwritten.gaitpol", "p.gaitpol")
    code, out = cli(capsys, "policy", "validate", "p.gaitpol")
    assert (code, out["policy_digest"]) == (0, CANDIDATE_DIGEST)


# ------------------------------------------------------------ fmt ---


def test_fmt_prints_formatted_yaml_raw(work: Path, capsys) -> None:
    code, out, _ = cli_text(capsys, "policy", "fmt", "policy.yaml")
    assert code == 0
    assert out.startswith("schema_id: gait.gate.policy\n")
    assert out.endswith("\n")


def test_fmt_json_without_write_includes_formatted_text(work: Path, capsys) -> None:
    code, out = cli(capsys, "policy", "fmt", "policy.yaml")
    assert (code, out["path"], out["changed"], out["policy_digest"], out["rule_count"]) == (
        0,
        "policy.yaml",
        True,
        CANDIDATE_DIGEST,
        3,
    )
    assert out["formatted"].startswith("schema_id: ")
    assert "written" not in out


def test_fmt_write_text_form(work: Path, capsys) -> None:
    code, out, _ = cli_text(capsys, "policy", "fmt", "policy.yaml", "--write")
    assert (code, out) == (0, "policy fmt ok: path=policy.yaml changed=true written=true rules=3\n")


def test_fmt_write_is_idempotent(work: Path, capsys) -> None:
    cli(capsys, "policy", "fmt", "policy.yaml", "--write")
    first = (work / "policy.yaml").read_bytes()
    code, out = cli(capsys, "policy", "fmt", "policy.yaml", "--write")
    assert (code, "changed" in out, "written" in out) == (0, False, False)
    assert (work / "policy.yaml").read_bytes() == first


def test_fmt_write_keeps_digest_and_comments(work: Path, capsys) -> None:
    (work / "c.yaml").write_text("# keep me\n" + (work / "policy.yaml").read_text())
    cli(capsys, "policy", "fmt", "c.yaml", "--write")
    assert "# keep me\n" in (work / "c.yaml").read_text()
    code, out = cli(capsys, "policy", "validate", "c.yaml")
    assert (code, out["policy_digest"]) == (0, CANDIDATE_DIGEST)


def test_fmt_write_preserves_permissions(work: Path, capsys) -> None:
    os.chmod("policy.yaml", 0o640)
    cli(capsys, "policy", "fmt", "policy.yaml", "--write")
    assert stat.S_IMODE(os.stat("policy.yaml").st_mode) == 0o640


def test_fmt_unchanged_file_is_not_rewritten(work: Path, capsys) -> None:
    cli(capsys, "policy", "fmt", "policy.yaml", "--write")
    os.utime("policy.yaml", (1_000_000, 1_000_000))
    cli(capsys, "policy", "fmt", "policy.yaml", "--write")
    assert os.stat("policy.yaml").st_mtime == 1_000_000


def test_fmt_invalid_policy_leaves_file_alone(work: Path, capsys) -> None:
    (work / "bad.yaml").write_text("rules:\n  - {name: r, effect: nope}\n")
    code, _ = cli(capsys, "policy", "fmt", "bad.yaml", "--write")
    assert code == 6
    assert (work / "bad.yaml").read_text() == "rules:\n  - {name: r, effect: nope}\n"


def test_fmt_empty_path_message(work: Path, capsys) -> None:
    code, out = cli(capsys, "policy", "fmt", " ")
    assert (code, out["error"]) == (6, "policy path must not be empty")


# ------------------------------------------------------------ compile ---


def test_compile_emits_canonical_dsl(work: Path, capsys) -> None:
    code, out, _ = cli_text(capsys, "policy", "compile", "policy.yaml")
    assert code == 0
    assert 'rule "deny-external-egress" priority 10 => block {' in out


def test_compile_json_carries_dsl_and_digests(work: Path, capsys) -> None:
    code, out = cli(capsys, "policy", "compile", "policy.yaml", "--no-cache")
    assert (code, out["policy_digest"], out["rule_count"]) == (0, CANDIDATE_DIGEST, 3)
    assert out["dsl"].startswith("# gait policy (canonical DSL)\n")
    assert len(out["source_digest"]) == 64


def test_compile_emit_ir_text_is_json(work: Path, capsys) -> None:
    code, out, _ = cli_text(capsys, "policy", "compile", "policy.yaml", "--emit", "ir")
    ir = json.loads(out)
    assert (code, ir["policy_digest"], ir["ir_schema"]) == (0, CANDIDATE_DIGEST, "gait.policy.ir")


# ------------------------------------------------------------ test ---


def test_policy_test_text_prints_only_summary(work: Path, capsys) -> None:
    code, out, _ = cli_text(capsys, "policy", "test", "policy.yaml", "fixtures/c_write.json")
    assert (code, out) == (
        4,
        "policy test verdict=require_approval reasons=write_review violations=none\n",
    )


def test_policy_test_json_fields(work: Path, capsys) -> None:
    code, out = cli(capsys, "policy", "test", "policy.yaml", "fixtures/b_exfil.json")
    assert code == 3
    assert set(out) == {
        "ok",
        "schema_id",
        "schema_version",
        "created_at",
        "policy_digest",
        "intent_digest",
        "verdict",
        "reason_codes",
        "violations",
        "matched_rule",
        "summary",
        "correlation_id",
    }
    assert (
        out["intent_digest"] == "c952f56119a7b89d717f4b81d0f1b02ba701d85cde5bf643e061d1b4b0fee1c6"
    )


def test_policy_test_omits_empty_optional_fields(work: Path, capsys) -> None:
    (work / "allow.yaml").write_text("default_verdict: allow\n")
    code, out = cli(capsys, "policy", "test", "allow.yaml", "fixtures/a_read.json")
    assert (code, out["reason_codes"]) == (0, ["default_allow"])
    assert "violations" not in out and "matched_rule" not in out


def test_policy_test_created_at_from_intent_in_utc(work: Path, capsys) -> None:
    name = write_intent(work, "t.json", created_at="2026-02-18T01:30:00.500+01:00")
    _, out = cli(capsys, "policy", "test", "policy.yaml", name)
    assert out["created_at"] == "2026-02-18T00:30:00.5Z"


def test_policy_test_summary_capped_at_240(work: Path, capsys) -> None:
    codes = ", ".join(f"reason_code_number_{i:03d}" for i in range(20))
    (work / "long.yaml").write_text(
        f"rules:\n  - {{name: r, effect: allow, reason_codes: [{codes}]}}\n"
    )
    _, out = cli(capsys, "policy", "test", "long.yaml", "fixtures/a_read.json")
    full = "policy test verdict=allow reasons=" + codes.replace(", ", ",") + " violations=none"
    suffix = f"...(+{len(full) - 240})"
    assert len(out["summary"]) == 240
    assert out["summary"] == full[: 240 - len(suffix)] + suffix


def test_policy_test_dry_run_exits_0(work: Path, capsys) -> None:
    (work / "dry.yaml").write_text("default_verdict: dry_run\n")
    code, out = cli(capsys, "policy", "test", "dry.yaml", "fixtures/a_read.json")
    assert (code, out["verdict"]) == (0, "dry_run")


def test_policy_test_missing_intent_is_read_error(work: Path, capsys) -> None:
    code, out = cli(capsys, "policy", "test", "policy.yaml", "absent.json")
    assert code == 6
    assert out["error"].startswith("read intent: ")


def test_policy_test_normalize_error_exits_6_even_when_fail_closed_applies(
    work: Path, capsys
) -> None:
    name = write_intent(
        work,
        "t.json",
        tool_name=" ",
        context={"identity": "a", "workspace": "/w", "risk_class": "high"},
    )
    code, out = cli(capsys, "policy", "test", "policy.yaml", name)
    assert (code, out["error"]) == (6, "normalize intent: tool_name is required")


def test_policy_test_intent_of_wrong_type_is_parse_error(work: Path, capsys) -> None:
    name = write_intent(work, "t.json", targets="not-a-list")
    code, out = cli(capsys, "policy", "test", "policy.yaml", name)
    assert code == 6
    assert out["error"].startswith("parse intent json: ")


def test_policy_test_why_lists_rows(work: Path, capsys) -> None:
    code, out, _ = cli_text(
        capsys, "policy", "test", "policy.yaml", "fixtures/a_read.json", "--why"
    )
    lines = out.splitlines()
    assert code == 0
    assert lines[0] == "rows in evaluation order:"
    assert lines[-1].startswith("policy test verdict=allow")
    assert any("MATCH" in line and "read-files" in line for line in lines)


def test_policy_test_explain_with_inputs_adds_explanation(work: Path, capsys) -> None:
    code, out = cli(capsys, "policy", "test", "policy.yaml", "fixtures/b_exfil.json", "--explain")
    assert code == 3
    assert out["explanation"]["tier_priority"] == 10


def test_policy_test_writes_nothing_to_disk(work: Path, capsys) -> None:
    before = sorted(p.name for p in work.iterdir())
    cli(capsys, "policy", "test", "policy.yaml", "fixtures/b_exfil.json")
    assert sorted(p.name for p in work.iterdir()) == before


# ------------------------------------------------------------ simulate ---


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["x.yaml"], "unexpected positional arguments"),
        ([], "missing required --policy <candidate_policy.yaml>"),
        (["--policy", "policy.yaml"], "missing required --baseline <baseline_policy.yaml>"),
        (["--policy", "p", "--baseline", "b"], "missing required --fixtures <csv files/dirs>"),
    ],
)
def test_simulate_argument_errors_in_order(
    work: Path, capsys, argv: list[str], message: str
) -> None:
    code, out = cli(capsys, "policy", "simulate", *argv)
    assert (code, out["error"]) == (6, message)


def test_simulate_resolves_fixtures_before_loading_policies(work: Path, capsys) -> None:
    code, out = cli(
        capsys,
        "policy",
        "simulate",
        "--policy",
        "nope.yaml",
        "--baseline",
        "nope.yaml",
        "--fixtures",
        "missing",
    )
    assert code == 6
    assert out["error"].startswith("fixtures path: ")


def test_simulate_explicit_file_must_be_json(work: Path, capsys) -> None:
    Path("notes.txt").write_text("{}")
    code, out = cli(
        capsys,
        "policy",
        "simulate",
        "--policy",
        "policy.yaml",
        "--baseline",
        "baseline.yaml",
        "--fixtures",
        "notes.txt",
    )
    assert (code, out["error"]) == (6, "fixture file must be .json: notes.txt")


def test_simulate_empty_directory_has_no_fixtures(work: Path, capsys) -> None:
    Path("empty").mkdir()
    code, out = cli(
        capsys,
        "policy",
        "simulate",
        "--policy",
        "policy.yaml",
        "--baseline",
        "baseline.yaml",
        "--fixtures",
        "empty",
    )
    assert (code, out["error"]) == (6, "no intent fixtures discovered from --fixtures")


def test_simulate_walks_directories_and_dedups_csv(work: Path, capsys) -> None:
    Path("fixtures/nested").mkdir()
    shutil.copy("fixtures/a_read.json", "fixtures/nested/UPPER.JSON")
    code, out = cli(
        capsys, "policy", "simulate", "--policy", "policy.yaml", "--baseline", "baseline.yaml",
        "--fixtures", "fixtures, fixtures/a_read.json ,fixtures",
    )  # fmt: skip
    assert (code, out["fixtures_total"]) == (0, 4)
    assert (out["baseline_policy_digest"], out["candidate_policy_digest"]) == (
        BASELINE_DIGEST,
        CANDIDATE_DIGEST,
    )


def test_simulate_aborts_on_a_bad_fixture(work: Path, capsys) -> None:
    Path("fixtures/bad.json").write_text("[]")
    code, out = cli(
        capsys,
        "policy",
        "simulate",
        "--policy",
        "policy.yaml",
        "--baseline",
        "baseline.yaml",
        "--fixtures",
        "fixtures",
    )
    assert code == 6
    assert out["error"].startswith("parse intent json: ")


# ------------------------------------------------------------ init ---


@pytest.mark.parametrize(
    ("alias", "template"),
    [
        ("baseline-lowrisk", "baseline-lowrisk"),
        ("Baseline_Medium_Risk", "baseline-mediumrisk"),
        ("low", "baseline-lowrisk"),
        ("HIGH", "baseline-highrisk"),
    ],
)
def test_init_template_aliases(work: Path, capsys, alias: str, template: str) -> None:
    code, out = cli(capsys, "policy", "init", alias, "--out", "new.yaml")
    assert (code, out["template"], out["policy_path"]) == (0, template, "new.yaml")
    assert out["next_commands"] == [
        "gait policy validate new.yaml --json",
        "gait policy fmt new.yaml --write --json",
        "gait doctor --json",
    ]
    assert cli(capsys, "policy", "validate", "new.yaml")[0] == 0


def test_init_default_output_path(work: Path, capsys) -> None:
    code, out = cli(capsys, "policy", "init", "medium")
    assert (code, out["policy_path"]) == (0, "gait.policy.yaml")
    assert Path("gait.policy.yaml").is_file()


def test_init_unknown_template(work: Path, capsys) -> None:
    code, out = cli(capsys, "policy", "init", "extreme")
    assert (code, out["error"]) == (6, "unknown template: extreme")


def test_init_needs_a_template(work: Path, capsys) -> None:
    code, out = cli(capsys, "policy", "init")
    assert (code, out["error"]) == (
        6,
        "expected <template>, one of: baseline-lowrisk, baseline-mediumrisk, baseline-highrisk",
    )


def test_init_refuses_to_overwrite(work: Path, capsys) -> None:
    code, out = cli(capsys, "policy", "init", "low", "--out", "policy.yaml")
    assert (code, out["error"]) == (
        6,
        "output path already exists (use --force to overwrite): policy.yaml",
    )
    assert Path("policy.yaml").read_bytes() == (RUNNING / "policy.yaml").read_bytes()


def test_init_force_overwrites(work: Path, capsys) -> None:
    code, _ = cli(capsys, "policy", "init", "low", "--out", "policy.yaml", "--force")
    assert code == 0
    assert Path("policy.yaml").read_bytes() != (RUNNING / "policy.yaml").read_bytes()


def test_dsl_decode_errors_name_the_dsl(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "bad.gaitpol").write_text('rule "a" => allow { efect "x" }\n', encoding="utf-8")
    code, out = cli(capsys, "policy", "validate", "bad.gaitpol", "--json")
    assert code == 6
    assert out["error"].startswith("parse policy dsl: [1:")
    assert 'unknown field "efect"' in out["error"]


def test_group_without_subcommand_says_so_even_with_json(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out = cli(capsys, "policy", "--json")
    assert code == 6
    assert out["error"] == "missing subcommand"
