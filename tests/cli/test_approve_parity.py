"""``gait approve`` messages and text as the original (cmd/gait/approve.go, core/gate/approval.go)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.inproc import run_cli

A, B = "a" * 64, "b" * 64


def _approve(*args: str) -> tuple[int, str]:
    return run_cli("approve", "--ttl", "1h", "--scope", "tool:x", "--reason-code", "r", *args)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--policy-digest", B, "--approver", "me"), "intent_digest must be sha256 hex"),
        (("--intent-digest", A, "--approver", "me"), "policy_digest must be sha256 hex"),
        (
            ("--intent-digest", A, "--policy-digest", B, "--delegation-binding-digest", "x"),
            "delegation_binding_digest must be sha256 hex when set",
        ),
        (("--intent-digest", A, "--policy-digest", B), "approver identity is required"),
    ],
)
def test_mint_errors(args: tuple[str, ...], message: str) -> None:
    code, text = _approve(*args, "--json")
    assert code == 6 and json.loads(text)["error"] == message


def test_text_line(tmp_path: Path) -> None:
    token = tmp_path / "t.json"
    code, text = _approve(
        "--intent-digest", A, "--policy-digest", B, "--approver", "me", "--out", str(token)
    )
    assert code == 0 and text == f"approval token created: {token}\n" and token.is_file()
