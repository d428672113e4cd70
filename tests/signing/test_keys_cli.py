"""``gait keys`` through the installed command line (child processes)."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

GaitRunner = Callable[..., subprocess.CompletedProcess[str]]
INIT_FIELDS = {"ok", "prefix", "key_id", "public_key_path", "private_key_path", "correlation_id"}
VERIFY_FIELDS = {"ok", "key_id", "public_key_source", "private_key_source", "correlation_id"}


def test_keys_init_json_then_refuses_overwrite_then_force(
    tmp_path: Path, gait_cli: GaitRunner
) -> None:
    first = gait_cli("keys", "init", "--json", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    out = json.loads(first.stdout)
    assert set(out) == INIT_FIELDS
    assert out["ok"] is True and out["prefix"] == "gait" and len(out["key_id"]) == 64
    assert out["private_key_path"] == "gait-out/keys/gait_private.key"
    assert out["public_key_path"] == "gait-out/keys/gait_public.key"
    for name in ("private_key_path", "public_key_path"):
        path = tmp_path / out[name]
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.read_text().endswith("\n")
    private_before = (tmp_path / out["private_key_path"]).read_bytes()

    again = gait_cli("keys", "init", "--json", cwd=tmp_path)
    assert again.returncode == 6
    err = json.loads(again.stdout)
    assert err["ok"] is False
    assert (
        err["error"]
        == "private key path already exists (use --force): gait-out/keys/gait_private.key"
    )
    assert err["error_code"] == "invalid_input"
    assert (tmp_path / out["private_key_path"]).read_bytes() == private_before

    forced = gait_cli("keys", "init", "-force", "--json", cwd=tmp_path)
    assert forced.returncode == 0
    assert json.loads(forced.stdout)["key_id"] != out["key_id"]


def test_keys_rotate_and_verify(tmp_path: Path, gait_cli: GaitRunner) -> None:
    rotated = gait_cli(
        "keys", "rotate", "--out-dir", "k", "--prefix", "ops", "--json", cwd=tmp_path
    )
    assert rotated.returncode == 0, rotated.stderr
    out = json.loads(rotated.stdout)
    assert re.fullmatch(r"ops_\d{8}T\d{6}Z", out["prefix"])
    assert out["private_key_path"] == f"k/{out['prefix']}_private.key"

    verified = gait_cli(
        "keys",
        "verify",
        "--private-key",
        out["private_key_path"],
        "--public-key",
        out["public_key_path"],
        "--json",
        cwd=tmp_path,
    )
    assert verified.returncode == 0, verified.stdout
    result = json.loads(verified.stdout)
    assert set(result) == VERIFY_FIELDS
    assert result["key_id"] == out["key_id"]
    assert result["private_key_source"] == f"path:{out['private_key_path']}"
    assert result["public_key_source"] == f"path:{out['public_key_path']}"


def test_keys_verify_env_source_and_derived_public(tmp_path: Path, gait_cli: GaitRunner) -> None:
    init = json.loads(gait_cli("keys", "init", "--out-dir", ".", "--json", cwd=tmp_path).stdout)
    env = {"GAIT_TEST_PRIVATE": (tmp_path / "gait_private.key").read_text()}
    result = gait_cli(
        "keys", "verify", "--private-key-env", "GAIT_TEST_PRIVATE", "--json", cwd=tmp_path, env=env
    )
    assert result.returncode == 0, result.stdout
    out = json.loads(result.stdout)
    assert (out["private_key_source"], out["public_key_source"]) == (
        "env:GAIT_TEST_PRIVATE",
        "derived",
    )
    assert out["key_id"] == init["key_id"]


def test_keys_verify_mismatch_and_missing_private_exit_6(
    tmp_path: Path, gait_cli: GaitRunner
) -> None:
    gait_cli("keys", "init", "--out-dir", ".", "--prefix", "a", cwd=tmp_path)
    gait_cli("keys", "init", "--out-dir", ".", "--prefix", "b", cwd=tmp_path)
    mismatch = gait_cli(
        "keys",
        "verify",
        "--private-key",
        "a_private.key",
        "--public-key",
        "b_public.key",
        "--json",
        cwd=tmp_path,
    )
    assert mismatch.returncode == 6
    assert json.loads(mismatch.stdout)["error"] == "public key does not match private key"

    missing = gait_cli("keys", "verify", "--public-key", "b_public.key", cwd=tmp_path)
    assert missing.returncode == 6
    # the original's own check comes before the prod-mode load (cmd/gait/keys.go)
    assert (
        "keys verify error: private key source is required (--private-key or --private-key-env)"
        in missing.stderr
    )

    (tmp_path / "bad.key").write_text("AAAA\n")
    invalid = gait_cli("keys", "verify", "--private-key", "bad.key", "--json", cwd=tmp_path)
    assert invalid.returncode == 6
    assert json.loads(invalid.stdout)["error"] == "invalid private key length: 3"
    assert os.path.exists(tmp_path / "a_private.key")


def test_help_and_imports_do_not_load_cryptography(tmp_path: Path) -> None:
    """Start-up stays cheap: cryptography is imported only when a key is used."""
    code = (
        "import contextlib, io, sys\n"
        "import gait.signing, gait.trace, gait.cli.keys, gait.cli.trace\n"
        "from gait.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    codes = [main(['--help']), main(['keys', '--help']), main(['trace', 'verify', '--help'])]\n"
        "print(codes, 'cryptography' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert result.stdout.strip() == "[0, 0, 0] False", result.stderr
