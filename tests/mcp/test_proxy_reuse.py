"""mcp proxy helpers that reuse work: same answers as computing everything afresh."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gait.gate import Gate, GateOptions
from gait.intent import intent_digest
from gait.mcp import proxy
from gait.mcp.decode import decode_tool_call
from gait.mcp.proxy import _utc_stamp, evaluate_call, resolve_run_id

POLICY = Path(__file__).resolve().parents[2] / "examples" / "policy" / "base_medium_risk.yaml"

CALLS = [
    {"name": "tool.read", "args": {"path": "/repo/README.md"}},
    {"name": "tool.write", "args": {"path": "/etc/passwd", "n": 1, "flag": True}},
    {"name": "tool.read", "args": {"path": "/x"}, "context": {"run_id": "my run/1"}},
    {"name": "tool.delete", "args": {"x": [1.5, -0.0, None]}, "context": {"run_id": "///"}},
]


@pytest.fixture(scope="module")
def gate() -> Gate:
    return Gate.from_policy_file(str(POLICY), GateOptions())


@pytest.mark.parametrize("call_obj", CALLS)
@pytest.mark.parametrize("explicit", ["", "run_given", "  ", "a b"])
def test_run_id_from_the_decision_digest_equals_a_fresh_digest(gate, call_obj, explicit):
    call = decode_tool_call(call_obj)
    result = gate.decide(call.intent, write_trace=False)
    assert result.decision.intent is call.intent
    fresh = (
        proxy.normalize_run_id(explicit)
        or proxy.normalize_run_id(call.run_id)
        or "run_mcp_" + intent_digest(call.intent)[:12]
    )
    assert resolve_run_id(explicit, call, result.decision) == fresh
    assert resolve_run_id(explicit, call) == fresh


def test_a_decision_of_another_intent_object_is_not_trusted(gate):
    call = decode_tool_call(CALLS[0])
    other = decode_tool_call(CALLS[1])
    decision = gate.decide(other.intent, write_trace=False).decision
    expected = "run_mcp_" + intent_digest(call.intent)[:12]
    assert resolve_run_id("", call, decision) == expected
    assert expected != "run_mcp_" + decision.intent_digest[:12]


def test_evaluate_call_reports_the_digest_run_id(gate, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a require_approval decision writes its audit record here
    call = decode_tool_call(CALLS[0])
    result = evaluate_call(gate, call, trace_path=str(tmp_path / "t.json"))
    assert result.run_id == "run_mcp_" + intent_digest(call.intent)[:12]
    assert result.payload()["run_id"] == result.run_id


def _strftime_stamp(now_ns: int) -> str:
    seconds, nanos = divmod(now_ns, 1_000_000_000)
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime(seconds)) + f".{nanos:09d}"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=253_402_300_799_999_999_999), max_size=6))
def test_utc_stamp_with_its_per_second_cache_equals_strftime(values):
    # neighbours in the same second exercise the cached path, others the refresh
    for now_ns in [v for base in values for v in (base, base + 1, base + 999_999_999)]:
        if now_ns // 1_000_000_000 > 253_402_300_799:
            continue
        assert _utc_stamp(now_ns) == _strftime_stamp(now_ns)
