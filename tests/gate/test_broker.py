"""Credential brokers for ``require_broker_credential`` rules (trace.md §5.6, policy.md §11)."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import pytest

from gait.errors import InvalidInput
from gait.gate import GateResult, broker
from gait.gate.broker import BrokerFailure, BrokerRequest, env_key, issue

from .conftest import CliRunner, Keys, gate, make_intent, write_json

POLICY = """
schema_id: gait.gate.policy
schema_version: 1.0.0
default_verdict: block
rules:
  - name: db-read
    effect: allow
    match:
      tool_names: [tool.query]
    require_broker_credential: true
    broker_reference: vault.db-prod
    broker_scopes: [DB:Read, db:write]
"""
SECRET = "s3cr3t-VALUE-do-not-log"
VAR = "GAIT_BROKER_TOKEN_VAULT_DB_PROD"


def intent() -> dict:
    return make_intent(
        "Tool.Query",
        targets=[{"kind": "host", "value": "db.internal", "operation": "read"}],
        identity="alice",
    )


def run(keys: Keys, **kw: object) -> GateResult:
    return gate(POLICY, intent(), keys, **kw)


def request(**kw: object) -> BrokerRequest:
    base: dict = {
        "tool_name": "tool.query",
        "identity": "alice",
        "workspace": "/workspace",
        "session_id": "sess-1",
        "request_id": "req-1",
        "reference": "vault.db-prod",
        "scope": ("db:read", "db:write"),
    }
    base.update(kw)
    return BrokerRequest(**base)


# --------------------------------------------------------------------- stub ---


def test_stub_credential_ref_formula() -> None:
    cred = issue("stub", request())
    material = "tool.query|alice|/workspace|sess-1|req-1|vault.db-prod|db:read,db:write"
    assert cred.credential_ref == "stub:" + hashlib.sha256(material.encode()).hexdigest()[:24]
    assert cred.issued_by == "stub"
    assert cred.ttl_seconds == 300


def test_stub_broker_through_gate(keys: Keys) -> None:
    result = run(keys, credential_broker="stub", credential_scopes=["Extra"])
    assert result.verdict == "allow"
    assert "broker_credential_present" in result.reason_codes
    material = "tool.query|alice|/workspace|sess-1|req-1|vault.db-prod|db:read,db:write,extra"
    expected = "stub:" + hashlib.sha256(material.encode()).hexdigest()[:24]
    assert result.outputs["credential_ref"] == expected
    assert result.outputs["credential_issuer"] == "stub"


def test_credential_ref_flag_overrides_rule_reference(keys: Keys) -> None:
    result = run(keys, credential_broker="stub", credential_ref="other/ref")
    material = "tool.query|alice|/workspace|sess-1|req-1|other/ref|db:read,db:write"
    assert result.outputs["credential_ref"] == (
        "stub:" + hashlib.sha256(material.encode()).hexdigest()[:24]
    )


# ---------------------------------------------------------------------- env ---


@pytest.mark.parametrize(
    ("reference", "tool", "key"),
    [
        ("vault.db-prod", "tool.query", "VAULT_DB_PROD"),
        ("", "tool.query", "TOOL_QUERY"),
        ("a b/c", "t", "A_B_C"),
        ("svc//x..y", "t", "SVC_X__Y"),
        ("-.-", "t", "DEFAULT"),
        ("@@", "t", "DEFAULT"),
        ("_ok_", "t", "OK"),
    ],
)
def test_env_var_naming(reference: str, tool: str, key: str) -> None:
    assert env_key(reference, tool) == key


def test_env_broker_issues_from_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(VAR, SECRET)
    monkeypatch.setenv(VAR + "_TTL_SECONDS", "120")
    monkeypatch.setenv(VAR + "_ISSUED_AT", "2026-01-01T00:00:00Z")
    cred = issue("env", request())
    assert cred.credential_ref == f"env:{VAR}:" + hashlib.sha256(SECRET.encode()).hexdigest()[:16]
    assert cred.issued_at == "2026-01-01T00:00:00Z"
    assert cred.expires_at == "2026-01-01T00:02:00Z"
    assert cred.ttl_seconds == 120


def test_env_broker_custom_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MYCRED_VAULT_DB_PROD", SECRET)
    assert issue("env", request(), env_prefix="MYCRED_").credential_ref.startswith(
        "env:MYCRED_VAULT_DB_PROD:"
    )


def test_env_broker_missing_variable_blocks(keys: Keys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(VAR, raising=False)
    result = run(keys, credential_broker="env")
    assert result.verdict == "block"
    assert result.exit_code == 3
    assert "broker_credential_missing" in result.reason_codes
    assert result.violations == ["broker_credential_missing"]
    assert "credential_evidence_path" not in result.outputs
    assert any(VAR in w for w in result.warnings)


def test_env_broker_empty_variable_blocks(keys: Keys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(VAR, "  ")
    assert run(keys, credential_broker="env").verdict == "block"


def test_env_broker_bad_issued_at_blocks(keys: Keys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(VAR, SECRET)
    monkeypatch.setenv(VAR + "_ISSUED_AT", "last tuesday")
    monkeypatch.setenv(VAR + "_TTL_SECONDS", "60")
    result = run(keys, credential_broker="env")
    assert result.verdict == "block"
    assert result.violations == ["broker_credential_missing"]


def test_evidence_record_has_no_secret(keys: Keys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(VAR, SECRET)
    result = run(keys, credential_broker="env", trace_out="t.json")
    assert result.verdict == "allow"
    assert "broker_credential_present" in result.reason_codes
    path = result.outputs["credential_evidence_path"]
    assert path == f"credential_evidence_{result.trace_id}.json"
    text = Path(path).read_text()
    record = json.loads(text)
    assert record["schema_id"] == "gait.gate.broker_credential_record"
    assert record["schema_version"] == "1.0.0"
    assert record["trace_id"] == result.trace_id
    assert record["tool_name"] == "tool.query"
    assert record["identity"] == "alice"
    assert record["broker"] == "env"
    assert record["reference"] == "vault.db-prod"
    assert record["scope"] == ["db:read", "db:write"]
    assert record["credential_ref"] == result.outputs["credential_ref"]
    assert record["issued_at"]
    for where in (text, Path("t.json").read_text(), json.dumps(result.to_payload("standard"))):
        assert SECRET not in where


def test_evidence_path_flag(keys: Keys) -> None:
    result = run(keys, credential_broker="stub", credential_evidence_out="ev/c.json")
    assert result.outputs["credential_evidence_path"] == "ev/c.json"
    assert json.loads(Path("ev/c.json").read_text())["broker"] == "stub"


# ------------------------------------------------------------------ command ---

SCRIPT = """\
import json, sys, time
req = json.load(sys.stdin)
mode = sys.argv[1] if len(sys.argv) > 1 else "ok"
with open("broker_request.json", "w") as fh:
    json.dump(req, fh)
if mode == "ok":
    print(json.dumps({"issued_by": "vault", "credential_ref": "vault:lease/42",
                      "ttl_seconds": 60, "issued_at": "2026-01-01T00:00:00Z"}))
elif mode == "badjson":
    print("not json")
elif mode == "cr":
    print(json.dumps({"credential_ref": "lease\\r42"}))
elif mode == "empty":
    print(json.dumps({"credential_ref": ""}))
elif mode == "long":
    print(json.dumps({"credential_ref": "x" * 257}))
elif mode == "badtime":
    print(json.dumps({"credential_ref": "lease-1", "issued_at": "yesterday", "ttl_seconds": 60}))
elif mode == "badexpiry":
    print(json.dumps({"credential_ref": "lease-1", "expires_at": "2026-13-45"}))
elif mode == "fail":
    sys.exit(3)
elif mode == "sleep":
    time.sleep(3)
"""


@pytest.fixture
def script(tmp_path: Path) -> str:
    path = tmp_path / "issue_cred"
    path.write_text(f"#!{sys.executable}\n{SCRIPT}")
    path.chmod(0o755)
    return str(path)


def test_command_broker_issues_and_receives_pascal_case_request(keys: Keys, script: str) -> None:
    result = run(
        keys, credential_broker="command", credential_command=script, credential_command_args=["ok"]
    )
    assert result.verdict == "allow"
    assert result.outputs["credential_ref"] == "vault:lease/42"
    assert result.outputs["credential_issuer"] == "vault"
    sent = json.loads(Path("broker_request.json").read_text())
    assert sent == {
        "ToolName": "tool.query",
        "Identity": "alice",
        "Workspace": "/workspace",
        "SessionID": "sess-1",
        "RequestID": "req-1",
        "Reference": "vault.db-prod",
        "Scope": ["db:read", "db:write"],
    }
    record = json.loads(Path(result.outputs["credential_evidence_path"]).read_text())
    assert record["expires_at"] == "2026-01-01T00:01:00Z"
    assert record["ttl_seconds"] == 60


@pytest.mark.parametrize("mode", ["badjson", "cr", "empty", "long", "fail", "badtime", "badexpiry"])
def test_command_broker_failures_block(keys: Keys, script: str, mode: str) -> None:
    result = run(
        keys, credential_broker="command", credential_command=script, credential_command_args=[mode]
    )
    assert result.verdict == "block"
    assert "broker_credential_missing" in result.reason_codes
    assert "broker_credential_present" not in result.reason_codes
    assert result.violations == ["broker_credential_missing"]


def test_command_broker_timeout(monkeypatch: pytest.MonkeyPatch, script: str) -> None:
    monkeypatch.setattr(broker, "_TIMEOUT", 0.3)
    with pytest.raises(BrokerFailure, match="credential command failed"):
        issue("command", request(), command=script, command_args=("sleep",))


def test_command_allowlist(monkeypatch: pytest.MonkeyPatch, script: str) -> None:
    monkeypatch.setenv("GAIT_CREDENTIAL_COMMAND_ALLOWLIST", "/usr/bin/other,vault-cli")
    with pytest.raises(BrokerFailure, match="allowlist"):
        issue("command", request(), command=script, command_args=("ok",))
    monkeypatch.setenv("GAIT_CREDENTIAL_COMMAND_ALLOWLIST", f"x, {os.path.basename(script)}")
    assert issue("command", request(), command=script, command_args=("ok",)).credential_ref


# ------------------------------------------------------------ no broker ---


@pytest.mark.parametrize("name", ["off", "none"])
def test_no_broker_blocks_with_credential_required(keys: Keys, name: str) -> None:
    result = run(keys, credential_broker=name)
    assert result.verdict == "block"
    assert result.exit_code == 3
    assert "broker_credential_required" in result.reason_codes
    assert result.violations == ["broker_credential_missing"]


def test_broker_only_runs_for_allow(keys: Keys, script: str) -> None:
    policy = POLICY.replace("effect: allow", "effect: require_approval")
    result = gate(
        policy,
        intent(),
        keys,
        credential_broker="command",
        credential_command=script,
        credential_command_args=["ok"],
    )
    assert result.verdict == "require_approval"
    assert not Path("broker_request.json").exists()
    assert not {"broker_credential_required", "broker_credential_present"} & set(
        result.reason_codes
    )


def test_unknown_broker_is_invalid_input(cli: CliRunner) -> None:
    Path("policy.yaml").write_text(POLICY)
    write_json("intent.json", intent())
    code, out = cli(
        "gate",
        "eval",
        "--policy",
        "policy.yaml",
        "--intent",
        "intent.json",
        "--credential-broker",
        "vault",
        "--json",
    )
    assert code == 6
    assert out["error"] == "unsupported credential broker: vault"


def test_command_broker_requires_command() -> None:
    """The library names its own option; a CLI passes its flag spelling."""
    with pytest.raises(InvalidInput, match="command broker requires credential_command"):
        broker.check_broker_config("command", " ")
    from gait.gate.pipeline import FlagNames

    with pytest.raises(InvalidInput, match="command broker requires --credential-command"):
        broker.check_broker_config("command", " ", FlagNames())
    with pytest.raises(InvalidInput, match="whitespace"):
        broker.check_broker_config("command", "/bin/issue cred")
