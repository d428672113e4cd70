"""``gait trace verify`` through the installed command line (child processes)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from gait.signing import KeyPair, write_private_key, write_public_key
from gait.trace import build_trace_record, sign_trace, write_trace

GaitRunner = Callable[..., subprocess.CompletedProcess[str]]
OUTPUT_FIELDS = {
    "ok",
    "path",
    "trace_id",
    "verdict",
    "signature_status",
    "key_id",
    "correlation_id",
}


@pytest.fixture
def signed_trace(tmp_path: Path, fixed_key: KeyPair) -> dict:
    record = build_trace_record(
        policy_digest="a" * 64,
        intent_digest="b" * 64,
        args_digest="c" * 64,
        tool_name="fs.delete",
        verdict="block",
        violations=["destructive"],
    )
    signed = sign_trace(record, fixed_key)
    write_trace(tmp_path / "trace.json", signed)
    write_public_key(tmp_path / "pub.key", fixed_key)
    write_private_key(tmp_path / "priv.key", fixed_key)
    return signed


def test_verified_trace_json_output(
    tmp_path: Path, gait_cli: GaitRunner, signed_trace: dict, fixed_key: KeyPair
) -> None:
    result = gait_cli(
        "trace", "verify", "trace.json", "--public-key", "pub.key", "--json", cwd=tmp_path
    )
    assert result.returncode == 0, result.stdout
    out = json.loads(result.stdout)
    assert set(out) == OUTPUT_FIELDS
    assert out["ok"] is True
    assert out["path"] == "trace.json"
    assert out["trace_id"] == signed_trace["trace_id"]
    assert out["verdict"] == "block"
    assert out["signature_status"] == "verified"
    assert out["key_id"] == fixed_key.key_id


def test_path_flag_private_key_and_text_output(
    tmp_path: Path, gait_cli: GaitRunner, signed_trace: dict
) -> None:
    result = gait_cli(
        "trace", "verify", "--path", "trace.json", "--private-key", "priv.key", cwd=tmp_path
    )
    assert result.returncode == 0
    # exactly the original's one line (cmd/gait/trace.go writeTraceVerifyOutput)
    assert result.stdout.splitlines() == ["trace verify ok: trace.json"]


def test_tampered_trace_exits_2_with_error(
    tmp_path: Path, gait_cli: GaitRunner, signed_trace: dict
) -> None:
    text = (tmp_path / "trace.json").read_text().replace('"block"', '"allow"')
    (tmp_path / "trace.json").write_text(text)
    result = gait_cli(
        "trace", "verify", "trace.json", "--public-key", "pub.key", "--json", cwd=tmp_path
    )
    assert result.returncode == 2
    out = json.loads(result.stdout)
    assert (out["ok"], out["signature_status"], out["error"]) == (
        False,
        "failed",
        "signed_digest mismatch",
    )
    assert out["error_code"] == "verification_failed"
    assert out["verdict"] == "allow"


def test_unsigned_trace_exits_2(tmp_path: Path, gait_cli: GaitRunner, signed_trace: dict) -> None:
    unsigned = {k: v for k, v in signed_trace.items() if k != "signature"}
    write_trace(tmp_path / "trace.json", unsigned)
    result = gait_cli("trace", "verify", "trace.json", "--public-key", "pub.key", cwd=tmp_path)
    assert result.returncode == 2
    assert "trace verify error: trace signature missing" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["trace.json"], "public key not configured"),
        # Go's wording, as core/gate/trace.go ReadTraceRecord prints it
        (
            ["missing.json", "--public-key", "pub.key"],
            "read trace record: open missing.json: no such file or directory",
        ),
        (["sub", "--public-key", "pub.key"], "read trace record: read sub: is a directory"),
        (["garbage.json", "--public-key", "pub.key"], "parse trace record: "),
        (["trace.json", "--public-key", "nope.key"], "read public key: "),
        ([], "expected trace path"),
        (["trace.json", "--path", "trace.json", "--public-key", "pub.key"], "expected trace path"),
    ],
)
def test_invalid_input_exits_6(
    tmp_path: Path, gait_cli: GaitRunner, signed_trace: dict, args: list[str], message: str
) -> None:
    (tmp_path / "garbage.json").write_text('{"trace_id": ')
    (tmp_path / "sub").mkdir()
    # An empty state dir: no per-user dev key to fall back on.
    env = {"GAIT_STATE_DIR": str(tmp_path / "state")}
    result = gait_cli("trace", "verify", *args, "--json", cwd=tmp_path, env=env)
    assert result.returncode == 6
    out = json.loads(result.stdout)
    assert out["ok"] is False and out["error"].startswith(message)
    assert out["error_code"] == "invalid_input"
