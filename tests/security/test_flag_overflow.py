"""Issue 11 B9: overflowing TTLs and wrongly-cased enum flags are exit 6, not exit 1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gait.cli.main import main
from gait.errors import InvalidInput
from gait.signing import format_rfc3339


def _run(capsys, *argv: str) -> tuple[int, dict]:
    code = main([*argv, "--json"])
    return code, json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_huge_approval_ttl_is_invalid_input(tmp_path: Path, capsys) -> None:
    code, payload = _run(
        capsys, "approve", "--intent-digest", "a" * 64, "--policy-digest", "b" * 64,
        "--ttl", "99999999999h", "--scope", "tool:x", "--approver", "a",
        "--reason-code", "r", "--out", str(tmp_path / "t.json"),
    )  # fmt: skip
    assert code == 6
    assert "--ttl" in payload["error"]


def test_time_beyond_year_9999_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="time out of range"):
        format_rfc3339(10**12)


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--profile", "OSS-PROD"), ("--profile", "Standard"), ("--key-mode", "PROD")],
)
def test_enum_flags_are_case_sensitive(tmp_path: Path, capsys, flag: str, value: str) -> None:
    (tmp_path / "p.yaml").write_text("rules:\n  - {name: a, effect: allow}\n", encoding="utf-8")
    intent = {
        "tool_name": "t",
        "args": {},
        "context": {"identity": "a", "workspace": "/w", "risk_class": "low"},
    }
    (tmp_path / "i.json").write_text(json.dumps(intent), encoding="utf-8")
    code, payload = _run(
        capsys, "gate", "eval", "--policy", str(tmp_path / "p.yaml"), "--intent",
        str(tmp_path / "i.json"), "--no-config", flag, value,
    )  # fmt: skip
    assert code == 6
    assert value in payload["error"]
