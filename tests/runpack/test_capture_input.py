"""``gait run record`` inputs: the spec's record JSON and the JSONL event log."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gait.errors import InvalidInput
from gait.runpack.capture_input import parse_record_input
from gait.runpack.record import record_runpack

T0 = "2026-02-05T00:00:00Z"


def _events(*events: dict[str, Any]) -> str:
    return "\n".join(json.dumps(e) for e in events) + "\n"


def _build(text: str, run_id: str = "") -> dict[str, Any]:
    inp = parse_record_input(text, run_id=run_id)
    res = record_runpack(
        inp.run,
        inp.intents,
        inp.results,
        inp.refs,
        capture_mode=inp.capture_mode,
        intent_args=inp.intent_args,
        result_payloads=inp.result_payloads,
    )
    return {
        "intents": [json.loads(x) for x in res.members["intents.jsonl"].splitlines()],
        "results": [json.loads(x) for x in res.members["results.jsonl"].splitlines()],
        "refs": json.loads(res.members["refs.json"]),
        "run": json.loads(res.members["run.json"]),
    }


def test_record_json_is_read_as_spec_input() -> None:
    doc = {
        "run": {"run_id": "run_j", "created_at": T0},
        "intents": [{"intent_id": "i1", "tool_name": "t", "args": {"a": 1}}],
        "results": [{"intent_id": "i1", "status": "ok"}],
        "capture_mode": "raw",
        "normalization": {"result_payloads": {"i1": {"x": 1}}},
    }
    inp = parse_record_input(json.dumps(doc))
    assert inp.run["run_id"] == "run_j" and inp.capture_mode == "raw"
    assert inp.result_payloads == {"i1": {"x": 1}}


def test_event_log_becomes_intents_results_and_trace_receipts() -> None:
    text = _events(
        {"type": "run", "run_id": "run_e", "created_at": T0, "capture_mode": "raw"},
        {
            "type": "intent",
            "intent_id": "i1",
            "tool_name": "tool.search",
            "args": {"q": "x"},
            "ts": "2026-02-05T00:00:01Z",
        },
        {"type": "decision", "intent_id": "i1", "verdict": "allow", "reason_codes": ["r"]},
        {
            "type": "result",
            "intent_id": "i1",
            "status": "ok",
            "result": {"hits": 2},
            "ts": "2026-02-05T00:00:03Z",
        },
        {"type": "intent", "intent_id": "i2", "tool_name": "tool.delete", "args": {"p": "/"}},
        {
            "type": "decision",
            "intent_id": "i2",
            "verdict": "block",
            "reason_codes": ["destructive"],
        },
    )
    built = _build(text)
    assert [i["intent_id"] for i in built["intents"]] == ["i1", "i2"]
    assert [r["status"] for r in built["results"]] == ["ok", "block"]
    assert built["results"][0]["result"]["result"] == {"hits": 2}
    assert built["results"][1]["result"]["executed"] is False
    assert [r["ref_id"] for r in built["refs"]["receipts"]] == ["trace_i1", "trace_i2"]
    events = {(e["event"], e.get("ref")): e["ts"] for e in built["run"]["timeline"]}
    assert events[("intent_captured", "i1")] == "2026-02-05T00:00:01Z"
    assert events[("result_captured", "i1")] == "2026-02-05T00:00:03Z"


def test_allowed_intent_without_result_has_no_result_record() -> None:
    text = _events(
        {"type": "run", "run_id": "run_m", "created_at": T0},
        {"type": "intent", "intent_id": "i1", "tool_name": "tool.x", "args": {}},
    )
    built = _build(text)
    assert len(built["intents"]) == 1 and built["results"] == []


def test_run_id_can_come_from_the_flag() -> None:
    text = _events({"type": "intent", "intent_id": "i1", "tool_name": "t", "ts": T0})
    assert _build(text, run_id="run_flag")["run"]["run_id"] == "run_flag"


def test_event_log_without_run_id_is_rejected() -> None:
    with pytest.raises(InvalidInput, match="run_id is required"):
        parse_record_input(_events({"type": "intent", "intent_id": "i1", "tool_name": "t"}))


@pytest.mark.parametrize(
    ("events", "message"),
    [
        ([{"type": "nope"}], "type must be one of"),
        ([{"type": "result", "intent_id": "zz"}], "unknown or finished intent_id"),
        ([{"type": "intent", "tool_name": "t"}], "intent requires intent_id"),
        (
            [
                {"type": "intent", "intent_id": "i", "tool_name": "t"},
                {"type": "decision", "intent_id": "i", "verdict": "block"},
                {"type": "result", "intent_id": "i", "executed": True},
            ],
            "executed although its verdict is block",
        ),
    ],
)
def test_bad_events_name_the_line(events: list[dict[str, Any]], message: str) -> None:
    text = _events({"type": "run", "run_id": "run_x", "created_at": T0}, *events)
    with pytest.raises(InvalidInput, match=message) as info:
        parse_record_input(text)
    assert "line" in info.value.message


def test_malformed_jsonl_line_is_reported() -> None:
    with pytest.raises(InvalidInput, match="parse events line 2"):
        parse_record_input('{"type":"run","run_id":"run_x"}\n{oops\n')
