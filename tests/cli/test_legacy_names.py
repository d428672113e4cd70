"""Legacy spellings are refused (exit 6) with their replacement: text hint, JSON ``migration``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gait.cli.migration import migration_for
from gait.cli.output import envelope

from .conftest import run, run_json


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


COMMAND_ERROR = "deprecated command spelling: gait mcp-verify -> gait mcp verify"


def test_mcp_verify_json(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_json(capsys, "mcp-verify", "policy.yaml")
    assert code == 6
    assert {k: v for k, v in out.items() if k != "correlation_id"} == {
        "ok": False,
        "error": COMMAND_ERROR,
        "error_code": "invalid_input",
        "error_category": "invalid_input",
        "retryable": False,
        "hint": "use `gait mcp verify` instead",
        "migration": {
            "kind": "command",
            "deprecated_command": "gait mcp-verify",
            "replacement_command": "gait mcp verify",
        },
    }


def test_mcp_verify_text(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for extra in ((), ("--explain",), ("--help",)):
        code, out, err = run(capsys, "mcp-verify", *extra)
        lines = err.splitlines()
        assert code == 6 and out == "", extra
        assert lines[:2] == [f"error: {COMMAND_ERROR}", "hint: use `gait mcp verify` instead"]
        assert lines[2].startswith("Usage: gait")


def test_mcp_verify_in_a_real_process(work: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "gait.cli.main", "mcp-verify", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 6
    assert '"kind":"command"' in done.stdout and done.stderr == ""


def test_the_new_spelling_still_works(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_json(capsys, "mcp", "verify")
    assert code == 6 and "migration" not in out  # a plain usage error, no legacy hint


FLAG_ERROR = "deprecated flag spelling: --save-as -> --out"


@pytest.mark.parametrize(
    "args",
    [
        ("--from", "run_x", "--save-as", "r.json"),
        ("--save-as=r.json", "--from", "run_x"),
        ("--save-as",),
        ("-save-as", "r.json"),
    ],
)
def test_capture_save_as_json(
    work: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...]
) -> None:
    code, out = run_json(capsys, "capture", *args)
    assert code == 6
    assert out["ok"] is False and out["error"] == FLAG_ERROR
    assert out["hint"] == "use `--out` instead"
    assert out["migration"] == {
        "kind": "flag",
        "deprecated_flag": "--save-as",
        "replacement_flag": "--out",
    }
    assert out["schema_id"] == "gait.capture.receipt" and out["schema_version"] == "1.0.0"
    assert list(work.iterdir()) == []  # nothing written


def test_capture_save_as_text_and_explain(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "capture", "--from", "run_x", "--save-as", "r.json")
    assert code == 6 and out == ""
    assert err.splitlines() == [f"capture error: {FLAG_ERROR}"]
    code, out, _ = run(capsys, "capture", "--save-as", "r.json", "--explain")
    assert code == 0 and out.strip()
    # after "--" it is an argument, not a flag
    code, _, err = run(capsys, "capture", "--from", "run_x", "--", "--save-as")
    assert code == 6 and "deprecated" not in err and "unexpected positional" in err


LEGACY_POLICY = "version: 1\nboundaries: []\nname: old\nunknown_server: block\n"


def test_legacy_policy_fields(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "legacy.yaml").write_text(LEGACY_POLICY)
    code, out = run_json(capsys, "policy", "validate", "legacy.yaml")
    assert code == 6
    assert out["error"].startswith(
        "parse policy yaml: legacy policy proposal fields are not supported "
        "[version, name, boundaries, unknown_server]"
    )
    assert out["hint"].startswith("use the repo-root `.gait.yaml` contract")
    assert out["migration"] == {
        "kind": "policy_fields",
        "deprecated_fields": ["version", "name", "boundaries", "unknown_server"],
        "field_replacements": [
            {
                "field": "version",
                "replacement_fields": ["schema_id", "schema_version"],
                "note": "set schema_id=gait.gate.policy and schema_version=1.0.0",
            },
            {
                "field": "name",
                "note": (
                    "remove the top-level policy name; rule names remain under rules[].name "
                    "when needed"
                ),
            },
            {"field": "boundaries", "replacement_fields": ["rules", "mcp_trust"]},
            {
                "field": "unknown_server",
                "replacement_fields": ["mcp_trust.action"],
                "note": (
                    "enforce unknown servers through local snapshot coverage and a "
                    "fail-closed action"
                ),
            },
        ],
    }


def test_envelope_adds_migration_only_for_legacy_errors() -> None:
    plain = envelope({"ok": False, "error": "deprecated thing happened"}, 6, ["gait"])
    assert "migration" not in plain and plain["hint"] == "check command usage and input schema"
    assert migration_for("deprecated command spelling: no arrow") == ("", None)
    assert migration_for("legacy policy proposal fields are not supported [") == ("", None)
    own_hint = envelope(
        {"ok": False, "error": "deprecated flag spelling: -a -> -b", "hint": "mine"}, 6, ["gait"]
    )
    assert own_hint["hint"] == "mine" and own_hint["migration"]["replacement_flag"] == "-b"
    ok = envelope({"ok": True, "note": "deprecated flag spelling: -a -> -b"}, 0, ["gait"])
    assert "migration" not in ok
