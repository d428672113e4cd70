"""MCP server trust in the proxy (policy.md §12): snapshot findings fold into the decision."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from gait.errors import InvalidInput
from gait.gate import Gate, GateOptions
from gait.mcp.decode import decode_tool_call
from gait.mcp.proxy import evaluate_call
from gait.mcp.trust import apply_trust, load_trust_snapshot
from gait.policy.compiler import compile_policy
from gait.signing import KeyPair
from gait.trace import compute_trace_id, read_trace, verify_trace

NOW_NS = 1_767_225_600 * 10**9  # 2026-01-01T00:00:00Z

RULES = """\
rules:
  - name: allow-reads
    priority: 10
    effect: allow
    match:
      tool_names: [tool.read]
    reason_codes: [read_allowed]
"""


def _policy(trust: str) -> str:
    return f"schema_id: gait.gate.policy\nschema_version: 1.0.0\ndefault_verdict: block\n{trust}{RULES}"


TRUST = """\
mcp_trust:
  snapshot: snapshot.json
  min_score: 0.5
  max_age: 720h
  publisher_allowlist: [acme]
"""

ENTRY = {
    "server_id": "github",
    "server_name": "GitHub",
    "publisher": "Acme",
    "source": "registry",
    "status": "trusted",
    "score": 0.9,
    "updated_at": "2025-12-31T00:00:00Z",
}


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def _snapshot(*entries: dict[str, Any], **top: Any) -> None:
    doc = {"schema_id": "gait.mcp.trust_snapshot", "schema_version": "1.0.0", **top}
    Path("snapshot.json").write_text(json.dumps({**doc, "entries": list(entries)}))


def _decide(
    key: KeyPair, trust: str = TRUST, server: dict[str, Any] | None = None, risk: str = "high"
) -> tuple[dict[str, Any], Any]:
    gate = Gate(compile_policy(_policy(trust)), GateOptions(), signing_key=key)
    call: dict[str, Any] = {
        "name": "tool.read",
        "context": {"identity": "a", "workspace": "/w", "session_id": "s", "risk_class": risk},
    }
    if server is not None:
        call["server"] = server
    result = evaluate_call(gate, decode_tool_call(call), trace_path="t.json", now_ns=NOW_NS)
    return result.payload(), result


def test_without_mcp_trust_nothing_changes(fixed_key: KeyPair) -> None:
    payload, _ = _decide(fixed_key, trust="", server={"server_id": "github"})
    assert payload["verdict"] == "allow"
    assert "mcp_trust" not in payload
    assert "mcp_trust" not in read_trace("t.json")


def test_trusted_server_keeps_the_verdict_and_is_recorded(fixed_key: KeyPair) -> None:
    _snapshot(ENTRY)
    payload, _ = _decide(fixed_key, server={"server_id": "GitHub"})
    assert payload["verdict"] == "allow"
    assert payload["reason_codes"] == ["mcp_trust_verified", "read_allowed"]
    trust = payload["mcp_trust"]
    assert trust["status"] == "trusted"
    assert trust["publisher"] == "acme" and trust["publisher_allowed"] is True
    assert trust["required"] is True and "enforced" not in trust
    assert trust["updated_at"] == "2025-12-31T00:00:00Z"
    trace = read_trace("t.json")
    assert trace["mcp_trust"] == trust
    assert verify_trace(trace, fixed_key)["ok"] is True


def test_unknown_server_blocks_a_high_risk_call(fixed_key: KeyPair) -> None:
    _snapshot(ENTRY)
    payload, result = _decide(fixed_key, server={"server_id": "evil"})
    assert (payload["verdict"], result.exit_code) == ("block", 3)
    assert "mcp_trust_server_unknown" in payload["reason_codes"]
    assert payload["violations"] == ["mcp_trust_policy"]
    assert payload["mcp_trust"]["status"] == "unknown"
    assert payload["mcp_trust"]["enforced"] is True
    trace = read_trace("t.json")
    assert trace["verdict"] == "block"
    assert trace["violations"] == ["mcp_trust_policy"]
    assert trace["trace_id"] == payload["trace_id"]
    assert trace["trace_id"] == compute_trace_id(
        payload["policy_digest"], payload["intent_digest"], "block"
    )
    assert verify_trace(trace, fixed_key)["ok"] is True


def test_low_risk_call_reports_but_is_not_enforced(fixed_key: KeyPair) -> None:
    _snapshot(ENTRY)
    payload, _ = _decide(fixed_key, server={"server_id": "evil"}, risk="low")
    assert payload["verdict"] == "allow"
    assert "mcp_trust_server_unknown" in payload["reason_codes"]
    assert "violations" not in payload
    assert "required" not in payload["mcp_trust"]


@pytest.mark.parametrize(
    ("server", "snapshot", "reason", "status"),
    [
        (None, True, "mcp_trust_identifier_missing", "missing"),
        ({"server_id": "github"}, False, "mcp_trust_snapshot_unavailable", "missing"),
        ({"server_name": "github"}, True, "mcp_trust_server_unknown", "unknown"),
    ],
)
def test_missing_pieces_count_against_the_server(
    fixed_key: KeyPair,
    server: dict[str, Any] | None,
    snapshot: bool,
    reason: str,
    status: str,
) -> None:
    if snapshot:
        _snapshot({**ENTRY, "server_id": "other"})
    payload, _ = _decide(fixed_key, server=server)
    assert payload["verdict"] == "block"
    assert payload["mcp_trust"]["reason_codes"] == [reason]
    assert payload["mcp_trust"]["status"] == status


@pytest.mark.parametrize(
    ("change", "reasons", "status"),
    [
        ({"status": "revoked"}, ["mcp_trust_status_untrusted"], "untrusted"),
        ({"publisher": "mallory"}, ["mcp_trust_publisher_untrusted"], "untrusted"),
        ({"updated_at": "2025-11-01T00:00:00Z"}, ["mcp_trust_stale"], "stale"),
        ({"updated_at": None}, ["mcp_trust_stale"], "stale"),
        ({"score": 0.2}, ["mcp_trust_below_threshold"], "below_threshold"),
        (
            {"score": 0.2, "updated_at": "2020-01-01T00:00:00Z"},
            ["mcp_trust_below_threshold", "mcp_trust_stale"],
            "stale",
        ),
    ],
)
def test_entry_findings(
    fixed_key: KeyPair, change: dict[str, Any], reasons: list[str], status: str
) -> None:
    _snapshot({**ENTRY, **change})
    payload, _ = _decide(fixed_key, server={"server_id": "github"})
    assert payload["mcp_trust"]["reason_codes"] == reasons
    assert payload["mcp_trust"]["status"] == status
    assert payload["verdict"] == "block"


def test_registry_verification_required(fixed_key: KeyPair) -> None:
    trust = "mcp_trust:\n  snapshot: snapshot.json\n  require_registry: true\n"
    verified = {"signature_verified": True, "publisher_allowed": True, "pin_present": False}
    _snapshot({**ENTRY, "registry_verification": verified})
    payload, _ = _decide(fixed_key, trust=trust, server={"server_id": "github"})
    assert payload["verdict"] == "allow"
    assert payload["mcp_trust"]["registry_verified"] is True
    _snapshot({**ENTRY, "registry_verification": {**verified, "pin_present": True}})
    payload, _ = _decide(fixed_key, trust=trust, server={"server_id": "github"})
    assert payload["verdict"] == "block"
    assert payload["mcp_trust"]["reason_codes"] == ["mcp_trust_registry_unverified"]
    assert payload["mcp_trust"]["status"] == "invalid"


def test_require_approval_action(fixed_key: KeyPair) -> None:
    trust = "mcp_trust:\n  snapshot: snapshot.json\n  action: require_approval\n"
    _snapshot(ENTRY)
    payload, result = _decide(fixed_key, trust=trust, server={"server_id": "nobody"})
    assert (payload["verdict"], result.exit_code) == ("require_approval", 4)


@pytest.mark.parametrize(
    ("verdict", "action", "final"),
    [
        ("allow", "block", "block"),
        ("allow", "require_approval", "require_approval"),
        ("require_approval", "block", "block"),
        ("block", "require_approval", "block"),
        ("dry_run", "block", "dry_run"),
    ],
)
def test_apply_trust_is_never_less_strict(verdict: str, action: str, final: str) -> None:
    enforced = {"enforced": True, "reason_codes": ["mcp_trust_stale"]}
    out = apply_trust(verdict, ["r"], [], enforced, action)
    assert out == (final, ["mcp_trust_stale", "r"], ["mcp_trust_policy"])
    assert apply_trust(verdict, ["r"], [], {"reason_codes": ["x"]}, action)[0] == verdict


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"schema_id": "other"}, "unsupported trust snapshot schema_id"),
        ({"schema_version": "2.0.0"}, "unsupported trust snapshot schema_version"),
        ({"entries": [{"status": "trusted"}]}, "entry[0] requires server_id or server_name"),
        ({"entries": {"a": 1}}, "parse trust snapshot"),
    ],
)
def test_bad_snapshots_are_rejected(tmp_path: Path, doc: dict[str, Any], message: str) -> None:
    (tmp_path / "s.json").write_text(json.dumps(doc))
    with pytest.raises(InvalidInput, match=re.escape(message)):
        load_trust_snapshot(str(tmp_path / "s.json"))
