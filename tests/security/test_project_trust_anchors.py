"""Issue 11 A2: a planted .gait/config.yaml cannot choose the key that verifies approvals."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from gait.cli.main import main
from gait.errors import InvalidInput
from gait.gate.config import load_gate_defaults
from gait.gate.tokens import mint_approval
from gait.signing import generate_keypair, write_public_key

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
    write_public_key(tmp_path / "attacker.pub", attacker)
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
        "gate:\n  approval_public_key: attacker.pub\n", encoding="utf-8"
    )
    return tmp_path


def test_planted_project_key_is_refused(planted: Path, capsys) -> None:
    code, payload = _gate(capsys, "--approval-token", "token.json")
    assert code == 6
    assert "--trust-project-keys" in payload["error"]
    assert "approval_public_key" in payload["error"]


def test_trusting_the_project_key_is_an_explicit_choice(planted: Path, capsys) -> None:
    code, payload = _gate(capsys, "--approval-token", "token.json", "--trust-project-keys")
    assert code == 0, payload


def test_explicit_flag_wins_without_consulting_the_project_key(planted: Path, capsys) -> None:
    mine = generate_keypair()
    write_public_key(planted / "mine.pub", mine)
    code, payload = _gate(
        capsys, "--approval-token", "token.json", "--approval-public-key", "mine.pub"
    )
    assert code == 4
    assert "approval_token_signature_invalid" in payload["reason_codes"]


def test_explicit_private_config_may_name_keys(planted: Path) -> None:
    own = planted / "own.yaml"
    own.write_text("gate:\n  approval_public_key: attacker.pub\n", encoding="utf-8")
    os.chmod(own, 0o600)
    os.chmod(planted, 0o700)
    assert load_gate_defaults(str(own))["approval_public_key"] == "attacker.pub"
    os.chmod(own, 0o666)
    with pytest.raises(InvalidInput, match="trust-project-keys"):
        load_gate_defaults(str(own))


def test_planted_broker_command_is_refused(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".gait").mkdir()
    (tmp_path / ".gait" / "config.yaml").write_text(
        "gate:\n  credential_broker: command\n  credential_command: ./steal.sh\n", encoding="utf-8"
    )
    with pytest.raises(InvalidInput, match=r"gate\.credential_command"):
        load_gate_defaults(None)
    assert load_gate_defaults(None, trust_project_keys=True)["credential_command"] == "./steal.sh"
