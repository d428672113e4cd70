"""The capture API: Recorder steps, gating, decorator, capture modes."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gait.canonical import digest
from gait.errors import InvalidInput
from gait.runpack.reader import read_runpack
from gait.runpack.recorder import GateDecision, Recorder, ToolBlocked
from gait.runpack.verify import verify_runpack

CONTEXT = {"identity": "agent", "workspace": "/w", "risk_class": "high"}


def _clock() -> Callable[[], str]:
    ticks: Iterator[int] = iter(range(10_000))
    return lambda: f"2026-02-05T00:00:{next(ticks) % 60:02d}Z"


def _gate(blocked: set[str]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def gate(intent: dict[str, Any]) -> dict[str, Any]:
        if intent["tool_name"] in blocked:
            return {"verdict": "block", "reason_codes": ["nope"], "policy_digest": "p" * 64}
        return {"verdict": "allow", "reason_codes": ["ok"], "policy_digest": "p" * 64}

    return gate


def _records(rec: Recorder) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    members = rec.build().members
    intents = [json.loads(x) for x in members["intents.jsonl"].splitlines()]
    results = [json.loads(x) for x in members["results.jsonl"].splitlines()]
    return intents, results, json.loads(members["refs.json"])


def test_written_pack_verifies(tmp_path: Path) -> None:
    rec = Recorder("run_ok", clock=_clock())
    with rec:
        rec.call("tool.add", lambda a, b: a + b, {"a": 1, "b": 2})
    result = rec.write(out_dir=tmp_path)
    path = tmp_path / "runpack_run_ok.zip"
    assert path.read_bytes() == result.zip_bytes
    assert verify_runpack(path).ok


def test_same_calls_with_fake_clock_give_identical_bytes() -> None:
    def run() -> bytes:
        rec = Recorder("run_same", clock=_clock(), capture_mode="raw")
        with rec:
            rec.call("tool.x", lambda q: {"q": q}, {"q": "a"})
        return rec.build().zip_bytes

    assert run() == run()


def test_blocked_call_does_not_run_and_raises() -> None:
    ran: list[str] = []
    rec = Recorder("run_b", gate=_gate({"tool.delete"}), context=CONTEXT, clock=_clock())
    with rec, pytest.raises(ToolBlocked) as info:
        rec.call("tool.delete", lambda path: ran.append(path), {"path": "/x"})
    assert ran == [] and info.value.exit_code == 3
    _intents, results, refs = _records(rec)
    assert results[0]["status"] == "block"
    assert refs["receipts"][0]["retrieval_params"]["verdict"] == "block"


def test_require_approval_exits_4() -> None:
    rec = Recorder("run_a", clock=_clock())
    with pytest.raises(ToolBlocked) as info:
        rec.call("tool.pay", lambda: None, decision="require_approval")
    assert info.value.exit_code == 4


def test_reference_mode_keeps_digests_only() -> None:
    rec = Recorder("run_r", gate=_gate(set()), context=CONTEXT, clock=_clock())
    rec.call("tool.x", lambda q: {"hits": 3}, {"q": "secret"})
    intents, results, _ = _records(rec)
    assert "args" not in intents[0] and intents[0]["args_digest"] == digest({"q": "secret"})
    assert "result" not in results[0]
    payload = {
        "executed": True,
        "verdict": "allow",
        "reason_codes": ["ok"],
        "policy_digest": "p" * 64,
        "result": {"hits": 3},
    }
    assert results[0]["result_digest"] == digest(payload)


def test_raw_mode_stores_args_payload_and_gate_intent() -> None:
    rec = Recorder("run_w", capture_mode="raw", gate=_gate(set()), context=CONTEXT, clock=_clock())
    rec.call("tool.x", lambda q: {"hits": 3}, {"q": "a"}, targets=[{"kind": "url", "value": "u"}])
    intents, results, _ = _records(rec)
    assert intents[0]["args"] == {"q": "a"}
    payload = results[0]["result"]
    assert payload["result"] == {"hits": 3} and payload["executed"] is True
    assert payload["gate_intent"]["context"] == CONTEXT
    assert payload["gate_intent"]["targets"] == [{"kind": "url", "value": "u"}]


def test_exception_in_tool_is_recorded_as_error_and_reraised() -> None:
    rec = Recorder("run_e", capture_mode="raw", clock=_clock())

    def boom() -> None:
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        rec.call("tool.write", boom)
    _, results, _ = _records(rec)
    assert results[0]["status"] == "error"
    assert results[0]["result"]["error"] == "RuntimeError: disk full"


def test_gate_failure_is_fail_closed() -> None:
    def broken(intent: dict[str, Any]) -> dict[str, Any]:
        raise ValueError("engine down")

    ran: list[int] = []
    rec = Recorder("run_g", gate=broken, capture_mode="raw", clock=_clock())
    with pytest.raises(ValueError):
        rec.call("tool.x", lambda: ran.append(1))
    _, results, _ = _records(rec)
    assert ran == []
    assert results[0]["status"] == "block"
    assert results[0]["result"]["reason_codes"] == ["gate_error"]


def test_decorator_records_bound_arguments_with_defaults() -> None:
    rec = Recorder("run_d", capture_mode="raw", clock=_clock())

    @rec.tool("tool.search")
    def search(query: str, limit: int = 5) -> list[str]:
        return [query] * 2

    assert search("q") == ["q", "q"]
    intents, results, _ = _records(rec)
    assert intents[0]["tool_name"] == "tool.search"
    assert intents[0]["args"] == {"query": "q", "limit": 5}
    assert results[0]["result"]["result"] == ["q", "q"]


def test_step_context_manager_with_explicit_decision() -> None:
    rec = Recorder("run_s", capture_mode="raw", clock=_clock())
    with rec, rec.step("tool.delete", {"p": 1}, decision={"verdict": "block"}) as step:
        assert not step.allowed
    _, results, _ = _records(rec)
    assert results[0]["status"] == "block" and results[0]["result"]["executed"] is False


def test_calling_ok_on_a_blocked_step_raises() -> None:
    rec = Recorder("run_s", clock=_clock())
    with pytest.raises(ToolBlocked), rec.step("tool.x", decision="block") as step:
        step.ok({"done": True})


def test_timeline_has_per_step_events_for_durations() -> None:
    rec = Recorder("run_t", clock=_clock())
    with rec:
        rec.call("tool.x", lambda: 1)
    events = [
        (e["event"], e.get("ref", ""))
        for e in json.loads(rec.build().members["run.json"])["timeline"]
    ]
    assert events == [
        ("run_started", ""),
        ("intent_captured", "intent_0001"),
        ("result_captured", "intent_0001"),
        ("run_finished", ""),
    ]


def test_engine_decision_objects_are_accepted() -> None:
    class Decision:
        verdict = "block"
        reason_codes = ("b", "a")
        violations = ()
        matched_rule = "r1"
        policy_digest = "d" * 64
        intent_digest = "i" * 64

    decision = GateDecision.of(Decision())
    assert decision.reason_codes == ("a", "b") and decision.matched_rule == "r1"


def test_invalid_verdict_is_rejected() -> None:
    with pytest.raises(InvalidInput, match="invalid gate verdict"):
        GateDecision.of({"verdict": "maybe"})


def test_recording_after_finish_is_refused() -> None:
    rec = Recorder("run_f", clock=_clock())
    rec.finish()
    with pytest.raises(InvalidInput, match="already finished"):
        rec.call("tool.x", lambda: None)


def test_non_json_result_is_converted_deterministically() -> None:
    rec = Recorder("run_j", capture_mode="raw", clock=_clock())
    rec.call("tool.x", lambda: {"path": Path("/tmp/a")})
    _, results, _ = _records(rec)
    assert results[0]["result"]["result"] == {"path": "/tmp/a"}


def test_recorded_pack_reads_back_with_verdicts(tmp_path: Path) -> None:
    rec = Recorder("run_v", gate=_gate({"tool.rm"}), context=CONTEXT, clock=_clock())
    with rec:
        rec.call("tool.ls", lambda: ["a"])
        with pytest.raises(ToolBlocked):
            rec.call("tool.rm", lambda: None)
    rec.write(out_dir=tmp_path)
    pack = read_runpack(tmp_path / "runpack_run_v.zip")
    assert [i.tool_name for i in pack.intents] == ["tool.ls", "tool.rm"]
    assert [r.status for r in pack.results] == ["ok", "block"]
