"""Approval tokens through the SDK: same outcome as ``gate eval --approval-token``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gait.sdk import ToolAdapter, capture_intent, evaluate_gate
from gait.signing import generate_keypair, write_private_key, write_public_key

from .conftest import CliRunner, path_target


def _keys(tmp_path: Path) -> dict[str, str]:
    out = {}
    for name in ("signer", "approver"):
        pair = generate_keypair()
        write_private_key(tmp_path / f"{name}.key", pair)
        write_public_key(tmp_path / f"{name}.pub", pair)
        out[name] = str(tmp_path / f"{name}.key")
        out[f"{name}_pub"] = str(tmp_path / f"{name}.pub")
    return out


def test_approval_token_turns_require_approval_into_allow(
    cli: CliRunner, policy: str, tmp_path: Path, ctx: dict[str, Any]
) -> None:
    keys = _keys(tmp_path)
    intent = capture_intent(
        "tool.write", {"path": "/tmp/a"}, ctx, targets=[path_target("/tmp/a", "write")]
    )
    first = evaluate_gate(policy, intent, key_mode="prod", private_key=keys["signer"])
    assert first.verdict == "require_approval" and first.exit_code == 4
    code, minted = cli(
        "approve", "--intent-digest", first.intent_digest, "--policy-digest", first.policy_digest,
        "--ttl", "1h", "--scope", "tool:tool.write", "--approver", "bob",
        "--reason-code", "CHG-1", "--key-mode", "prod", "--private-key", keys["approver"],
        "--out", "token.json",
    )  # fmt: skip
    assert code == 0, minted
    Path("intent.json").write_bytes(intent.to_json())
    code, cli_result = cli(
        "gate", "eval", "--policy", policy, "--intent", "intent.json", "--key-mode", "prod",
        "--private-key", keys["signer"], "--approval-token", "token.json",
        "--approval-public-key", keys["approver_pub"], "--trace-out", "cli_trace.json",
    )  # fmt: skip
    ran: list[bool] = []
    adapter = ToolAdapter(
        policy,
        key_mode="prod",
        private_key=keys["signer"],
        approval_token="token.json",
        approval_public_key=keys["approver_pub"],
    )
    outcome = adapter.execute(intent, lambda i: ran.append(True), trace_out="sdk_trace.json")
    assert code == 0 and cli_result["verdict"] == "allow"
    assert outcome.executed and ran == [True]
    d = outcome.decision.to_dict()
    for field in ("verdict", "reason_codes", "approval_ref", "policy_digest", "intent_digest"):
        assert d.get(field) == cli_result.get(field), field
    assert outcome.decision.approval_ref


def test_wrong_approver_key_keeps_the_call_blocked(
    policy: str, tmp_path: Path, ctx: dict[str, Any], cli: CliRunner
) -> None:
    keys = _keys(tmp_path)
    intent = capture_intent("tool.write", {}, ctx, targets=[path_target("/tmp/a", "write")])
    first = evaluate_gate(policy, intent, write_trace=False)
    code, _ = cli(
        "approve", "--intent-digest", first.intent_digest, "--policy-digest", first.policy_digest,
        "--ttl", "1h", "--scope", "tool:tool.write", "--approver", "bob", "--reason-code", "x",
        "--key-mode", "prod", "--private-key", keys["approver"], "--out", "token.json",
    )  # fmt: skip
    assert code == 0
    adapter = ToolAdapter(
        policy, approval_token="token.json", approval_public_key=keys["signer_pub"]
    )  # not the approver's key
    import pytest

    from gait.sdk import GateEnforcementError

    with pytest.raises(GateEnforcementError, match="verdict=require_approval") as err:
        adapter.execute(intent, lambda i: pytest.fail("must not run"))
    assert any(r.startswith("approval_token_") for r in err.value.decision.reason_codes)
