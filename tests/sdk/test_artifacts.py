"""record_runpack, capture_demo_runpack, create_regress_fixture and write_trace in process."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gait.errors import InvalidInput
from gait.runpack import verify_runpack
from gait.sdk import (
    ToolAdapter,
    capture_demo_runpack,
    capture_intent,
    create_regress_fixture,
    record_runpack,
    write_trace,
)

from .conftest import path_target

RECORD = {
    "run": {"run_id": "run_rec", "created_at": "2026-02-05T00:00:00Z"},
    "intents": [{"intent_id": "intent_1", "tool_name": "tool.search", "args": {"q": "x"}}],
    "results": [{"intent_id": "intent_1", "status": "ok", "result": {"hits": 1}}],
    "refs": {"receipts": []},
}


def test_record_runpack_from_a_mapping_and_a_file(tmp_path: Path) -> None:
    first = record_runpack(RECORD, out_dir=str(tmp_path / "a"))
    path = tmp_path / "record.json"
    path.write_text(json.dumps(RECORD))
    second = record_runpack(str(path), out_dir=str(tmp_path / "b"))
    assert first.run_id == "run_rec" and verify_runpack(first.bundle_path).ok
    assert first.manifest_digest == second.manifest_digest  # deterministic
    assert first.ticket_footer == (
        f'GAIT run_id=run_rec manifest=sha256:{first.manifest_digest} verify="gait verify run_rec"'
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"capture_mode": "full"}, "capture mode must be one of: reference, raw"),
        (
            {"context_evidence_mode": "maybe"},
            "context evidence mode must be best_effort or required",
        ),
        ({"context_evidence_mode": "required"}, "context_set_digest is missing"),
    ],
)
def test_record_runpack_rejects_bad_modes(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        record_runpack(RECORD, **kwargs)


def test_demo_runpack_then_regress_fixture(tmp_path: Path) -> None:
    demo = capture_demo_runpack()
    assert verify_runpack(demo.bundle_path).ok
    made = create_regress_fixture(demo.run_id)
    assert made.run_id == demo.run_id
    assert Path(made.config_path).name == "gait.yaml" and Path(made.runpack_path).is_file()


def test_write_trace_copies_only_traces(policy: str, ctx: dict[str, Any], tmp_path: Path) -> None:
    result = ToolAdapter(policy).gate_intent(
        capture_intent("tool.read", {}, ctx, targets=[path_target("/a", "read")]),
        trace_out="t.json",
    )
    dest = write_trace(result.trace_path, "copies/t.json")
    assert Path(dest).read_bytes() == Path("t.json").read_bytes()
    Path("other.json").write_text('{"schema_id": "gait.runpack.run"}')
    with pytest.raises(InvalidInput, match="not a gait trace"):
        write_trace("other.json", "copies/o.json")
    with pytest.raises(InvalidInput, match="read trace"):
        write_trace("missing.json", "copies/m.json")
