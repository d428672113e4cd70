"""``run reduce`` selection, refs and timeline as the original (core/runpack/reduce.go)."""

from __future__ import annotations

import json
from pathlib import Path

from gait.runpack.reader import read_runpack
from gait.runpack.record import record_runpack, write_runpack
from gait.runpack.reduce import reduce_runpack

T = "2026-02-05T00:00:00Z"


def _receipt(n: int) -> dict[str, object]:
    return {
        "ref_id": f"ref_{n}",
        "source_type": "doc",
        "source_locator": f"doc{n}",
        "query_digest": f"{n}" * 64,
        "content_digest": f"{n}" * 64,
        "retrieved_at": T,
        "redaction_mode": "reference",
    }


def test_reduce_keeps_named_refs_the_selected_timeline_and_first_failing_result(
    tmp_path: Path,
) -> None:
    run = {
        "run_id": "agent",
        "created_at": T,
        "timeline": [
            {"event": "start", "ts": T},
            {"event": "call", "ts": T, "ref": "i_a"},
            {"event": "call", "ts": T, "ref": "i_b"},
        ],
    }
    intents = [
        {"intent_id": "i_b", "tool_name": "tool.b", "args": {"doc": {"input_ref": "ref_2"}}},
        {"intent_id": "i_a", "tool_name": "tool.a", "args": {"q": 1}},
    ]
    # i_a: first result ok, a later one failed -> non_ok_status still selects it (any result)
    results = [
        {"intent_id": "i_a", "status": "ok", "result": {"n": 1}},
        {"intent_id": "i_a", "status": "timeout", "result": {"seen": ["ref_3"]}},
        {"intent_id": "i_b", "status": "error", "result": {}},
    ]
    refs = {"receipts": [_receipt(1), _receipt(2), _receipt(3)]}
    source = tmp_path / "runpack_agent.zip"
    write_runpack(source, record_runpack(run, intents, results, refs))

    out = reduce_runpack(str(source), "non_ok_status")
    assert out.run_id == "run_agent_reduced_nonokstatus"
    pack = read_runpack(out.out_path)
    assert [i.intent_id for i in pack.intents] == ["i_a"]
    assert [r.status for r in pack.results] == ["timeout"]
    assert [r.ref_id for r in pack.refs.receipts] == ["ref_3"]
    assert [e.ref for e in pack.run.timeline] == ["", "i_a"]
    report = json.loads(Path(out.report_path).read_text())
    assert (report["original_ref_count"], report["reduced_ref_count"]) == (3, 1)
    assert report["reduced_run_id"] == out.run_id and report["predicate"] == "non_ok_status"
