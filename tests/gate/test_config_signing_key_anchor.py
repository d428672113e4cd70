"""A planted .gait/config.yaml naming the signing key must not choose the approval verify key.

In the standard profile, approvals (and delegations, approved scripts) without an
explicit verify key are checked with the signing key's public half, so a
project file that sets ``private_key`` picks the key that verifies approvals.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gait.cli.main import main
from gait.errors import InvalidInput
from gait.gate.config import load_gate_defaults
from gait.gate.tokens import mint_approval
from gait.signing import generate_keypair, write_private_key, write_public_key

POLICY = """rules:
  - name: review-writes
    effect: require_approval
    match: {tool_names: [tool.write]}
"""
INTENT = {
    "tool_name": "tool.write",
    "args": {"path": "/w/a"},
    "targets": [{"kind": "path", "value": "/w/a", "operation": "write"}],
    "context": {"identity": "agent", "workspace": "/w", "risk_class": "low"},
}


def _gate(capsys, *extra: str) -> tuple[int, dict]:
    code = main(
        [
            "gate", "eval", "--policy", "policy.yaml", "--intent", "intent.json",
            "--trace-out", "trace.json", "--json", *extra,
        ]
    )  # fmt: skip
    out = capsys.readouterr().out.strip().splitlines()
    return code, json.loads(out[-1])


@pytest.fixture
def planted(tmp_path: Path, monkeypatch, capsys) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "policy.yaml").write_text(POLICY, encoding="utf-8")
    (tmp_path / "intent.json").write_text(json.dumps(INTENT), encoding="utf-8")
    code, first = _gate(capsys, "--no-config")
    assert code == 4
    attacker = generate_keypair()
    write_private_key(tmp_path / "attacker.key", attacker)
    token = mint_approval(
        attacker,
        intent_digest=first["intent_digest"],
        policy_digest=first["policy_digest"],
        approver="mallory",
        reason_code="CHG-1",
        scope=["tool:tool.write"],
        ttl_nanos=3600 * 10**9,
    )
    (tmp_path / "token.json").write_text(json.dumps(token), encoding="utf-8")
    (tmp_path / ".gait").mkdir()
    (tmp_path / ".gait" / "config.yaml").write_text(
        "gate:\n  key_mode: prod\n  private_key: attacker.key\n", encoding="utf-8"
    )
    return tmp_path


def test_planted_signing_key_does_not_verify_approvals(planted: Path, capsys) -> None:
    code, payload = _gate(capsys, "--approval-token", "token.json")
    assert code == 6, payload
    assert "gate.private_key" in payload["error"]
    assert "--trust-project-keys" in payload["error"]


def test_trusting_the_project_signing_key_is_an_explicit_choice(planted: Path, capsys) -> None:
    code, payload = _gate(capsys, "--approval-token", "token.json", "--trust-project-keys")
    assert code == 0, payload


def test_signing_key_is_no_anchor_once_an_approval_key_is_given(planted: Path, capsys) -> None:
    mine = generate_keypair()
    write_public_key(planted / "mine.pub", mine)
    # The attacker's token no longer verifies; the call is not let through.
    code, payload = _gate(
        capsys, "--approval-token", "token.json", "--approval-public-key", "mine.pub"
    )
    assert code != 0, payload
    assert payload.get("verdict") != "allow"


def test_signing_key_is_no_anchor_under_oss_prod(planted: Path) -> None:
    out = load_gate_defaults(None, given=frozenset(), profile="oss-prod")
    assert out["private_key"] == "attacker.key"
    with pytest.raises(InvalidInput, match=r"gate\.private_key"):
        load_gate_defaults(None, given=frozenset())
