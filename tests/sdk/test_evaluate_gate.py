"""evaluate_gate / ToolAdapter decide exactly like ``gate eval`` (same verdict, reasons, rule, digests)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gait.errors import GaitError, IntentError, InvalidInput
from gait.gate import GateOptions
from gait.sdk import GateEvalResult, ToolAdapter, capture_intent, evaluate_gate
from gait.sdk.client import LocalGate, local_gate

from .conftest import INTENTS, CliRunner, path_target

COMPARED = (
    "verdict",
    "reason_codes",
    "violations",
    "matched_rule",
    "policy_digest",
    "intent_digest",
)


def _fields(result: GateEvalResult) -> dict[str, Any]:
    out = result.to_dict()
    return {k: out.get(k) for k in COMPARED}


@pytest.mark.parametrize(
    ("name", "verdict", "code"),
    [
        ("intent_read", "allow", 0),
        ("intent_write", "require_approval", 4),
        ("intent_delete", "block", 3),
    ],
)
def test_same_decision_as_gate_eval(
    cli: CliRunner, policy: str, tmp_path: Path, name: str, verdict: str, code: int
) -> None:
    intent_path = INTENTS / f"{name}.json"
    exit_code, payload = cli("gate", "eval", "--policy", policy, "--intent", str(intent_path))
    raw = json.loads(intent_path.read_text())
    result = evaluate_gate(policy, raw, trace_out=str(tmp_path / "sdk_trace.json"))
    assert (exit_code, payload["verdict"]) == (code, verdict)
    assert result.exit_code == exit_code
    assert _fields(result) == {k: payload.get(k) for k in COMPARED}
    assert result.trace_path == str(tmp_path / "sdk_trace.json")
    assert Path(result.trace_path).is_file()


def test_trace_is_signed_with_the_prod_key(policy: str, tmp_path: Path) -> None:
    from gait.signing import generate_keypair, load_private_key, write_private_key
    from gait.trace import verify_trace_file

    key_path = tmp_path / "gait.key"
    write_private_key(key_path, generate_keypair())
    raw = json.loads((INTENTS / "intent_read.json").read_text())
    result = evaluate_gate(
        policy, raw, key_mode="prod", private_key=str(key_path), trace_out="t.json"
    )
    report = verify_trace_file("t.json", load_private_key(str(key_path)))
    assert report["ok"] is True
    assert report["trace_id"] == result.trace_id
    assert not result.warnings  # no dev-mode warning with a real key


def test_relative_paths_resolve_against_cwd(policy: str, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    raw = json.loads((INTENTS / "intent_read.json").read_text())
    named = evaluate_gate(policy, raw, trace_out="named.json", cwd=str(work))
    default = evaluate_gate(policy, raw, cwd=str(work))
    assert Path(named.trace_path) == work / "named.json"
    assert Path(default.trace_path) == work / f"trace_{default.trace_id}.json"
    assert Path(default.trace_path).is_file()
    assert not list(tmp_path.glob("trace_*.json"))


def test_compiled_policy_is_reused(policy: str) -> None:
    options = GateOptions()
    first = local_gate(policy, options)
    assert local_gate(policy, options) is first
    assert first.gate.compiled is local_gate(policy, options).gate.compiled


def test_edited_policy_is_compiled_again(tmp_path: Path, policy: str) -> None:
    copy = tmp_path / "p.yaml"
    copy.write_text(Path(policy).read_text())
    i = capture_intent(
        "tool.read",
        {},
        {"identity": "a", "workspace": "/w", "risk_class": "low"},
        targets=[path_target("/tmp/a", "read")],
    )
    assert evaluate_gate(str(copy), i, write_trace=False).verdict == "allow"
    copy.write_text(Path(policy).read_text().replace("effect: allow", "effect: block") + "\n")
    assert evaluate_gate(str(copy), i, write_trace=False).verdict == "block"


def test_invalid_intent_raises_exit_6(policy: str) -> None:
    bad = capture_intent("tool.read", {}, {"identity": "", "workspace": "/w", "risk_class": "high"})
    assert not bad.valid
    with pytest.raises(IntentError) as err:
        evaluate_gate(policy, bad)
    assert err.value.exit_code == 6


def test_missing_policy_is_invalid_input(tmp_path: Path, ctx: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput, match="policy file not readable"):
        evaluate_gate(str(tmp_path / "nope.yaml"), capture_intent("tool.read", {}, ctx))


def test_sdk_gait_error_is_the_library_hierarchy() -> None:
    import gait.errors
    import gait.sdk

    assert gait.sdk.GaitError is gait.errors.GaitError
    assert issubclass(gait.sdk.GateEnforcementError, GaitError)
    assert issubclass(gait.sdk.GaitCommandError, GaitError)


# --- the no-trace shortcut gives what the full pipeline gives -------------------

_TOOLS = st.sampled_from(["tool.read", "tool.write", "tool.delete", "tool.exec", "tool.search"])
_OPS = st.sampled_from(["read", "write", "delete", "execute", ""])
_KINDS = st.sampled_from(["path", "url", "host"])
_RISK = st.sampled_from(["low", "medium", "high", "critical"])
_SOURCES = st.sampled_from(["user", "external", "tool_output", "system"])


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(tool=_TOOLS, op=_OPS, kind=_KINDS, risk=_RISK, source=_SOURCES, with_prov=st.booleans())
def test_no_trace_decision_equals_full_pipeline(
    policy: str, tool: str, op: str, kind: str, risk: str, source: str, with_prov: bool
) -> None:
    value = {"path": "/tmp/f", "url": "https://example.com/x", "host": "example.com"}[kind]
    target = {"kind": kind, "value": value, **({"operation": op} if op else {})}
    intent = capture_intent(
        tool,
        {"v": value},
        {"identity": "alice", "workspace": "/repo", "risk_class": risk},
        targets=[target],
        arg_provenance=[{"arg_path": "$.v", "source": source}] if with_prov else (),
        created_at="2026-02-05T00:00:00Z",
    )
    gate = local_gate(policy, GateOptions())
    fast = gate.decide(intent, write_trace=False)
    full = gate.decide(intent, trace_out="full.json")
    assert _fields(fast) == _fields(full)
    assert fast.exit_code == full.exit_code


def test_no_trace_mode_writes_nothing_and_signs_nothing(
    policy: str, tmp_path: Path, ctx: dict[str, Any]
) -> None:
    adapter = ToolAdapter(policy, write_trace=False)
    i = capture_intent("tool.read", {}, ctx, targets=[path_target("/tmp/a", "read")])
    result = adapter.gate_intent(i)
    assert result.verdict == "allow"
    assert (result.trace_id, result.trace_path) == ("", "")
    assert not list(tmp_path.iterdir())


def test_no_trace_mode_keeps_approval_semantics(
    policy: str, tmp_path: Path, ctx: dict[str, Any]
) -> None:
    """require_approval needs the approval step: same reasons as the full pipeline, no file."""
    adapter = ToolAdapter(policy, write_trace=False)
    i = capture_intent("tool.write", {}, ctx, targets=[path_target("/tmp/a", "write")])
    quiet = adapter.gate_intent(i)
    assert not list(tmp_path.iterdir())
    full = ToolAdapter(policy).gate_intent(i, trace_out="x.json")
    assert quiet.verdict == "require_approval"
    assert quiet.reason_codes == full.reason_codes
    assert "approval_token_missing" in quiet.reason_codes


def test_local_gate_from_gate_instance(policy: str, ctx: dict[str, Any]) -> None:
    from gait.gate import Gate

    gate = LocalGate(Gate.from_policy_file(policy))
    adapter = ToolAdapter(gate=gate, write_trace=False)
    i = capture_intent("tool.delete", {}, ctx, targets=[path_target("/tmp/a", "delete")])
    assert adapter.gate_intent(i).verdict == "block"


def test_top_level_names_load_lazily() -> None:
    import subprocess
    import sys

    code = (
        "import sys, gait; assert 'gait.sdk' not in sys.modules; "
        "from gait import ToolAdapter, gate_tool; import gait.sdk as s; "
        "assert ToolAdapter is s.ToolAdapter and gate_tool is s.gate_tool"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_no_trace_shortcut_still_applies_the_wrkr_inventory(tmp_path: Path) -> None:
    # The inventory marks tool.write as handling PII; the policy blocks that. Deciding
    # without a trace must not skip the inventory and answer allow.
    policy = tmp_path / "p.yaml"
    policy.write_text(
        "default_verdict: allow\nrules:\n  - name: block-pii\n    effect: block\n"
        "    match:\n      tool_names: [tool.write]\n      context_data_classes: [pii]\n"
    )
    inventory = tmp_path / "inv.json"
    inventory.write_text(json.dumps({"items": [{"tool_name": "tool.write", "data_class": "pii"}]}))
    i = capture_intent(
        "tool.write",
        {},
        {"identity": "a", "workspace": "/w", "risk_class": "low"},
        targets=[path_target("/tmp/a", "write")],
    )
    gate = local_gate(str(policy), GateOptions(wrkr_inventory=str(inventory)))
    fast = gate.decide(i, write_trace=False)
    full = gate.decide(i, trace_out=str(tmp_path / "full.json"))
    assert full.verdict == "block"
    assert fast.verdict == "block"
    assert fast.reason_codes == full.reason_codes
    # An unreadable inventory fails closed in the shortcut too, as in the full pipeline.
    inventory.unlink()
    missing = local_gate(str(policy), GateOptions(wrkr_inventory=str(inventory), simulate=False))
    high = capture_intent(
        "tool.write",
        {},
        {"identity": "a", "workspace": "/w", "risk_class": "high"},
        targets=[path_target("/tmp/a", "write")],
    )
    with pytest.raises(GaitError):
        missing.decide(high, write_trace=False)
