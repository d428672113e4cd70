"""``gait mcp verify`` (MCP server trust preflight) through the installed command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gait.cli.mcp_verify import resolve_risk_class

from .cli_helpers import gait_json

POLICY = """\
schema_id: gait.gate.policy
schema_version: 1.0.0
default_verdict: allow
mcp_trust:
  snapshot: snapshot.json
  min_score: 0.5
  publisher_allowlist: [acme]
"""
SNAPSHOT = {
    "schema_id": "gait.mcp.trust_snapshot",
    "schema_version": "1.0.0",
    "entries": [
        {"server_id": "github", "server_name": "GitHub", "publisher": "Acme",
         "status": "trusted", "score": 0.9},
        {"server_id": "shady", "publisher": "nobody", "status": "trusted", "score": 0.9},
        {"server_id": "weak", "publisher": "acme", "status": "trusted", "score": 0.1},
    ],
}  # fmt: skip


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "policy.yaml").write_text(POLICY)
    (tmp_path / "snapshot.json").write_text(json.dumps(SNAPSHOT))
    for name in ("github", "shady", "weak", "unknown"):
        (tmp_path / f"{name}.json").write_text(json.dumps({"server_id": name}))
    return tmp_path


def test_trusted_server(work: Path) -> None:
    out = gait_json("mcp", "verify", "--policy", "policy.yaml", "--server", "github.json",
                    cwd=work)  # fmt: skip
    assert out["ok"] is True and out["verdict"] == "allow"
    assert out["reason_codes"] == ["mcp_trust_verified"]
    assert out["server_name"] == "GitHub" and out["trust_model"] == "local_snapshot"
    assert out["snapshot_path"] == "snapshot.json"
    assert out["mcp_trust"]["status"] == "trusted"


@pytest.mark.parametrize(
    ("server", "reason"),
    [
        ("shady", "mcp_trust_publisher_untrusted"),
        ("weak", "mcp_trust_below_threshold"),
        ("unknown", "mcp_trust_server_unknown"),
    ],
)
def test_untrusted_servers_block(work: Path, server: str, reason: str) -> None:
    out = gait_json("mcp", "verify", "--policy", "policy.yaml", "--server", f"{server}.json",
                    cwd=work, code=3)  # fmt: skip
    assert out["ok"] is False and out["verdict"] == "block"
    assert out["reason_codes"] == [reason] and out["violations"] == ["mcp_trust_policy"]


def test_require_approval_action_and_risk_class(work: Path) -> None:
    (work / "approve.yaml").write_text(
        POLICY.replace("min_score", "action: require_approval\n  min_score")
    )
    out = gait_json("mcp", "verify", "--policy", "approve.yaml", "--server", "shady.json",
                    cwd=work, code=4)  # fmt: skip
    assert out["verdict"] == "require_approval"
    # a risk class the trust block does not require: findings reported, not enforced
    out = gait_json("mcp", "verify", "--policy", "policy.yaml", "--server", "shady.json",
                    "--risk-class", "low", cwd=work)  # fmt: skip
    assert out["verdict"] == "allow" and out["reason_codes"] == ["mcp_trust_publisher_untrusted"]


def test_missing_snapshot_blocks(work: Path) -> None:
    (work / "snapshot.json").unlink()
    out = gait_json("mcp", "verify", "--policy", "policy.yaml", "--server", "github.json",
                    cwd=work, code=3)  # fmt: skip
    assert out["reason_codes"] == ["mcp_trust_snapshot_unavailable"]


def test_policy_without_trust(work: Path) -> None:
    (work / "plain.yaml").write_text("schema_id: gait.gate.policy\nschema_version: 1.0.0\n")
    out = gait_json("mcp", "verify", "--policy", "plain.yaml", "--server", "github.json",
                    cwd=work)  # fmt: skip
    assert out == {**out, "ok": True, "verdict": "allow"} and "mcp_trust" not in out
    assert "trust_model" not in out


def test_invalid_input(work: Path) -> None:
    (work / "empty.json").write_text("{}")
    (work / "list.json").write_text("[]")
    for args, message in [
        (("--policy", "policy.yaml"), "expected --policy <policy.yaml> and --server"),
        (("--policy", "policy.yaml", "--server", "github.json", "extra"), "expected --policy"),
        (
            ("--policy", "policy.yaml", "--server", "empty.json"),
            "requires server_id or server_name",
        ),
        (("--policy", "policy.yaml", "--server", "list.json"), "must be a JSON object"),
        (("--policy", "policy.yaml", "--server", "nope.json"), "read server description"),
        (("--policy", "nope.yaml", "--server", "github.json"), "nope.yaml"),
    ]:
        out = gait_json("mcp", "verify", *args, cwd=work, code=6)
        assert message in out["error"], out


def test_risk_class_resolution() -> None:
    assert resolve_risk_class(("medium", "critical", "high"), "") == "critical"
    assert resolve_risk_class((), "") == "high"
    assert resolve_risk_class(("high",), " LOW ") == "low"
    assert resolve_risk_class(("custom", "medium"), "") == "medium"


def test_text_is_one_verdict_line(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # as the original's writeMCPVerifyOutput (cmd/gait/mcp.go)
    from tests.inproc import run_cli

    monkeypatch.chdir(work)
    code, text = run_cli("mcp", "verify", "--policy", "policy.yaml", "--server", "github.json")
    assert code == 0 and text == "mcp verify: verdict=allow\n"
    code, text = run_cli("mcp", "verify", "--policy", "policy.yaml", "--server", "shady.json")
    assert code == 3 and text == "mcp verify: verdict=block\n"
