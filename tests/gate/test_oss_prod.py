"""The ``oss-prod`` production posture fails closed (trace.md §5.2 steps 2 and 5, §5.3, §6.3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import CliRunner, Keys, gate, make_intent, write_json

HIGH_RISK = """
schema_id: gait.gate.policy
schema_version: 1.0.0
default_verdict: block
rules:
  - name: high-risk-read
    effect: allow
    match:
      risk_classes: [high]
      tool_names: [tool.read]
    require_broker_credential: true
    broker_reference: prod-db
  - name: high-risk-write
    effect: require_approval
    match:
      risk_classes: [critical, high]
      tool_names: [tool.write]
    require_broker_credential: true
  - name: block-the-rest
    priority: 100
    effect: block
    match:
      risk_classes: [high]
"""
LOW_RISK_REVIEW = """
schema_id: gait.gate.policy
schema_version: 1.0.0
default_verdict: block
rules:
  - name: review-writes
    effect: require_approval
    match:
      tool_names: [tool.write]
"""


def read_intent() -> dict:
    return make_intent(
        "tool.read",
        targets=[{"kind": "path", "value": "/w/a", "operation": "read"}],
        risk_class="high",
    )


@pytest.fixture
def files(keys: Keys) -> Keys:
    Path("high.yaml").write_text(HIGH_RISK)
    Path("low.yaml").write_text(LOW_RISK_REVIEW)
    write_json("read.json", read_intent())
    write_json("write.json", make_intent())
    return keys


def prod_eval(keys: Keys, *extra: str, policy: str = "high.yaml", intent: str = "read.json"):
    return [
        "gate", "eval", "--policy", policy, "--intent", intent, "--profile", "oss-prod",
        "--key-mode", "prod", "--private-key", keys.signer.private, *extra, "--json",
    ]  # fmt: skip


def assert_invalid(code: int, out: dict, message: str) -> None:
    assert code == 6, out
    assert out["ok"] is False
    assert out["error"] == message
    assert out["error_code"] == "invalid_input"
    assert not list(Path().glob("trace_*.json"))


def test_simulate_rejected(cli: CliRunner, files: Keys) -> None:
    code, out = cli(*prod_eval(files, "--simulate", "--credential-broker", "env"))
    assert_invalid(code, out, "oss-prod profile does not allow --simulate")


def test_dev_key_mode_rejected(cli: CliRunner, files: Keys) -> None:
    code, out = cli(
        "gate", "eval", "--policy", "high.yaml", "--intent", "read.json",
        "--profile", "oss-prod", "--json",
    )  # fmt: skip
    assert_invalid(code, out, "oss-prod profile requires --key-mode prod")


def test_missing_private_key_rejected(cli: CliRunner, files: Keys) -> None:
    code, out = cli(
        "gate", "eval", "--policy", "high.yaml", "--intent", "read.json",
        "--profile", "oss-prod", "--key-mode", "prod", "--json",
    )  # fmt: skip
    assert_invalid(code, out, "oss-prod profile requires --private-key or --private-key-env")


def test_profile_checks_run_before_the_policy_is_read(cli: CliRunner, files: Keys) -> None:
    code, out = cli(
        "gate", "eval", "--policy", "missing.yaml", "--intent", "missing.json",
        "--profile", "oss-prod", "--json",
    )  # fmt: skip
    assert_invalid(code, out, "oss-prod profile requires --key-mode prod")


def test_unknown_profile_rejected(cli: CliRunner, files: Keys) -> None:
    code, out = cli(
        "gate", "eval", "--policy", "high.yaml", "--intent", "read.json", "--profile", "prod",
        "--json",
    )  # fmt: skip
    assert_invalid(code, out, 'unsupported --profile value "prod" (expected standard or oss-prod)')


def test_high_risk_allow_rule_without_broker_credential_rejected(
    cli: CliRunner, files: Keys
) -> None:
    Path("weak.yaml").write_text(
        HIGH_RISK.replace(
            "    require_broker_credential: true\n    broker_reference", "    broker_reference"
        )
    )
    code, out = cli(*prod_eval(files, "--credential-broker", "env", policy="weak.yaml"))
    assert_invalid(
        code,
        out,
        "oss-prod profile requires high-risk allow/approval rules to set "
        "require_broker_credential: true",
    )


def test_high_risk_approval_rule_without_broker_credential_rejected(
    cli: CliRunner, files: Keys
) -> None:
    weak = HIGH_RISK.replace(
        "      tool_names: [tool.write]\n    require_broker_credential: true\n",
        "      tool_names: [tool.write]\n",
    )
    assert weak != HIGH_RISK
    Path("weak.yaml").write_text(weak)
    code, out = cli(*prod_eval(files, "--credential-broker", "env", policy="weak.yaml"))
    assert code == 6
    assert "require_broker_credential: true" in out["error"]


def test_high_risk_block_rule_needs_no_broker_credential(
    cli: CliRunner, files: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GAIT_BROKER_TOKEN_PROD_DB", "secret")
    code, out = cli(*prod_eval(files, "--credential-broker", "env"))
    assert code == 0, out
    assert out["verdict"] == "allow"
    assert out["profile"] == "oss-prod"
    assert "broker_credential_present" in out["reason_codes"]
    assert "warnings" not in out  # prod key: no dev-mode warning


def test_high_risk_policy_without_broker_rejected(cli: CliRunner, files: Keys) -> None:
    code, out = cli(*prod_eval(files))
    assert_invalid(
        code, out, "oss-prod profile requires --credential-broker for high-risk policies"
    )


def test_stub_broker_blocks_where_a_credential_is_required(cli: CliRunner, files: Keys) -> None:
    code, out = cli(*prod_eval(files, "--credential-broker", "stub"))
    assert code == 3, out
    assert out["verdict"] == "block"
    assert "broker_credential_missing" in out["reason_codes"]
    assert "broker_credential_present" not in out["reason_codes"]
    assert out["violations"] == ["broker_credential_missing"]
    assert "credential_ref" not in out
    assert "oss-prod profile does not accept stub broker credentials" in out["warnings"]


def test_stub_broker_still_works_in_standard_profile(files: Keys) -> None:
    result = gate(HIGH_RISK, read_intent(), files, credential_broker="stub")
    assert result.verdict == "allow"


def test_approvals_without_explicit_approval_key_rejected(cli: CliRunner, files: Keys) -> None:
    write_json("tok.json", {"not": "read before the key check"})
    code, out = cli(
        *prod_eval(files, "--approval-token", "tok.json", policy="low.yaml", intent="write.json")
    )
    assert code == 6
    assert out["error"].startswith("oss-prod profile requires explicit approval verify key")


def test_approval_without_tokens_in_oss_prod_is_exit_4(cli: CliRunner, files: Keys) -> None:
    code, out = cli(*prod_eval(files, policy="low.yaml", intent="write.json"))
    assert code == 4
    assert "approval_token_missing" in out["reason_codes"]


def test_delegation_without_explicit_key_rejected(cli: CliRunner, files: Keys) -> None:
    Path("deleg.yaml").write_text(
        """
schema_id: gait.gate.policy
schema_version: 1.0.0
default_verdict: block
rules:
  - name: delegated
    effect: allow
    match:
      require_delegation: true
"""
    )
    write_json(
        "deleg.json",
        make_intent(identity="agent", delegation={"requester_identity": "agent"}),
    )
    write_json("d.json", {})
    code, out = cli(
        *prod_eval(files, "--delegation-token", "d.json", policy="deleg.yaml", intent="deleg.json")
    )
    assert code == 6
    assert "oss-prod profile requires explicit delegation verify key" in out["error"]


def test_oss_prod_traces_are_signed_with_the_prod_key(
    cli: CliRunner, files: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GAIT_BROKER_TOKEN_PROD_DB", "secret")
    code, out = cli(*prod_eval(files, "--credential-broker", "env", "--trace-out", "t.json"))
    assert code == 0
    assert out["trace_path"] == "t.json"
    code, ver = cli("trace", "verify", "t.json", "--public-key", files.signer.public, "--json")
    assert code == 0
    assert ver["key_id"] == files.signer.pair.key_id
