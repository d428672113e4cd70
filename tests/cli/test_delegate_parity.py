"""``gait delegate mint|verify`` output as the original (cmd/gait/delegate.go)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gait.signing.keys import encode_private_key, encode_public_key, generate_keypair
from tests.inproc import run_cli


@pytest.fixture
def key_files(tmp_path: Path) -> tuple[str, str]:
    pair = generate_keypair()
    private, public = tmp_path / "k.key", tmp_path / "k.pub"
    private.write_text(encode_private_key(pair))
    public.write_text(encode_public_key(pair))
    return str(private), str(public)


def _mint(private: str, *args: str) -> tuple[int, dict]:
    code, text = run_cli(
        "delegate", "mint", "--ttl", "1h", "--key-mode", "prod", "--private-key", private,
        *args, "--json",
    )  # fmt: skip
    return code, json.loads(text)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--delegator", "a", "--delegate", "b"), "scope is required"),
        (("--scope", "x", "--delegate", "b"), "delegator and delegate identities are required"),
        (
            ("--scope", "x", "--delegator", "a", "--delegate", "b", "--intent-digest", "zz"),
            "intent_digest must be sha256 hex when set",
        ),
        (
            ("--scope", "x", "--delegator", "a", "--delegate", "b", "--policy-digest", "zz"),
            "policy_digest must be sha256 hex when set",
        ),
    ],
)
def test_mint_errors(key_files: tuple[str, str], args: tuple[str, ...], message: str) -> None:
    code, out = _mint(key_files[0], *args)
    assert code == 6 and out["error"] == message


def test_mint_and_verify_outputs(key_files: tuple[str, str], tmp_path: Path) -> None:
    token = tmp_path / "d.json"
    code, out = _mint(
        key_files[0], "--delegator", "alice", "--delegate", "agent", "--scope", "Deploy",
        "--out", str(token),
    )  # fmt: skip
    assert code == 0 and out["expires_at"].endswith("Z") and "." not in out["expires_at"]
    assert "scope_class" not in out
    code, text = run_cli("delegate", "verify", "--token", str(token), "--public-key", key_files[1])
    assert code == 0 and text == f"delegation token ok: {token}\n"
    code, text = run_cli(
        "delegate", "verify", "--token", str(token), "--public-key", key_files[1], "--json"
    )
    ver = json.loads(text)
    assert ver["description"] == "delegation token verified" and ver["token_path"] == str(token)
    assert (ver["delegator_identity"], ver["delegate_identity"]) == ("alice", "agent")
    assert ver["scope"] == ["deploy"] and ver["expires_at"] == out["expires_at"]
    code, text = run_cli(
        "delegate", "verify", "--token", str(token), "--public-key", key_files[1],
        "--delegate", "mallory", "--json",
    )  # fmt: skip
    bad = json.loads(text)
    assert code == 2 and bad["error"] == "delegation_token_delegate_mismatch: delegate mismatch"
    assert bad["token_path"] == str(token)
    code, text = run_cli("delegate", "verify", "--json")
    assert code == 6 and json.loads(text)["error"] == "--token is required"
