"""run_session: every adapter attempt becomes a runpack step with a signed trace."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gait.errors import InvalidInput
from gait.runpack import verify_runpack
from gait.sdk import GateEnforcementError, ToolAdapter, capture_intent, gate_tool, run_session
from gait.sdk.session import current_session

from .conftest import path_target


def _clock() -> Any:
    start = datetime(2026, 2, 5, tzinfo=UTC)
    ticks: Iterator[int] = iter(range(10_000))
    return lambda: start + timedelta(seconds=next(ticks))


def _members(path: str) -> dict[str, Any]:
    import zipfile

    with zipfile.ZipFile(path) as z:
        return {
            "run": json.loads(z.read("run.json")),
            "intents": [json.loads(x) for x in z.read("intents.jsonl").splitlines()],
            "results": [json.loads(x) for x in z.read("results.jsonl").splitlines()],
            "refs": json.loads(z.read("refs.json")),
        }


def _three_steps(policy: str, ctx: dict[str, Any]) -> None:
    adapter = ToolAdapter(policy)
    adapter.execute(
        capture_intent(
            "tool.read", {"path": "/tmp/a"}, ctx, targets=[path_target("/tmp/a", "read")]
        ),
        lambda i: {"bytes": 3},
    )
    with pytest.raises(GateEnforcementError):
        adapter.execute(
            capture_intent(
                "tool.delete", {"path": "/tmp/a"}, ctx, targets=[path_target("/tmp/a", "delete")]
            ),
            lambda i: None,
        )
    with pytest.raises(RuntimeError):
        adapter.execute(
            capture_intent(
                "tool.read", {"path": "/tmp/b"}, ctx, targets=[path_target("/tmp/b", "read")]
            ),
            lambda i: (_ for _ in ()).throw(RuntimeError("io")),
        )


def test_session_records_each_attempt(policy: str, ctx: dict[str, Any]) -> None:
    with run_session("run_sdk", clock=_clock()) as session:
        assert current_session() is session
        _three_steps(policy, ctx)
    assert current_session() is None
    capture = session.capture
    assert capture is not None
    assert capture.bundle_path == "gait-out/runpack_run_sdk.zip"
    assert capture.ticket_footer.startswith("GAIT run_id=run_sdk manifest=sha256:")
    assert verify_runpack(capture.bundle_path).ok
    m = _members(capture.bundle_path)
    assert [i["intent_id"] for i in m["intents"]] == ["intent_0001", "intent_0002", "intent_0003"]
    assert [i["tool_name"] for i in m["intents"]] == ["tool.read", "tool.delete", "tool.read"]
    assert all("args" not in i for i in m["intents"])  # reference mode: digests only
    assert [r["status"] for r in m["results"]] == ["ok", "block", "error"]
    events = [(e["event"], e.get("ref", "")) for e in m["run"]["timeline"]]
    assert events[0] == ("run_started", "") and events[-1] == ("run_finished", "")
    assert ("intent_captured", "intent_0002") in events and (
        "result_captured",
        "intent_0002",
    ) in events
    assert m["run"]["env"]["runtime"] == f"python{sys.version_info.major}.{sys.version_info.minor}"
    receipts = {r["ref_id"]: r for r in m["refs"]["receipts"]}
    assert sorted(receipts) == ["trace_intent_0001", "trace_intent_0002", "trace_intent_0003"]
    second = receipts["trace_intent_0002"]
    assert second["source_type"] == "gait.trace"
    assert second["source_locator"] == "gait-out/traces/trace_run_sdk_intent_0002.json"
    assert second["retrieval_params"]["verdict"] == "block"
    assert {r["redaction_mode"] for r in receipts.values()} == {"reference"}
    trace = json.loads(Path(second["source_locator"]).read_text())
    assert trace["verdict"] == "block" and trace["signature"]


def test_session_traces_even_in_no_trace_mode(policy: str, ctx: dict[str, Any]) -> None:
    adapter = ToolAdapter(policy, write_trace=False)
    with run_session("run_quiet"):
        adapter.execute(
            capture_intent("tool.read", {}, ctx, targets=[path_target("/a", "read")]), lambda i: 1
        )
    assert Path("gait-out/traces/trace_run_quiet_intent_0001.json").is_file()


def test_raw_mode_with_payloads(policy: str, ctx: dict[str, Any]) -> None:
    adapter = ToolAdapter(policy)

    @gate_tool(
        adapter, ctx, tool_name="tool.read", targets=lambda a, k: [path_target(k["path"], "read")]
    )
    def read(*, path: str) -> dict[str, str]:
        return {"text": "hi"}

    with run_session("run_raw", capture_mode="raw", include_raw_payload=True, clock=_clock()) as s:
        read(path="/tmp/a")
    m = _members(s.capture.bundle_path)  # type: ignore[union-attr]
    assert m["intents"][0]["args"] == {"path": "/tmp/a"}
    result = m["results"][0]["result"]
    assert result["executed"] is True and result["result"] == {"text": "hi"}
    assert result["verdict"] == "allow" and result["trace_id"]
    # serve_sdk.md §4 payload: trace_path too, and the receipt says how it was captured
    assert result["trace_path"] == "gait-out/traces/trace_run_raw_intent_0001.json"
    assert json.loads(Path(result["trace_path"]).read_text())["trace_id"] == result["trace_id"]
    assert m["refs"]["receipts"][0]["redaction_mode"] == "raw"
    assert verify_runpack(s.capture.bundle_path).ok  # type: ignore[union-attr]
    import zipfile

    with zipfile.ZipFile(s.capture.bundle_path) as z:  # type: ignore[union-attr]
        assert json.loads(z.read("manifest.json"))["capture_mode"] == "raw"


def test_raw_mode_without_include_raw_payload_keeps_digests_only(
    policy: str, ctx: dict[str, Any]
) -> None:
    with run_session("run_half", capture_mode="raw") as s:
        ToolAdapter(policy).execute(
            capture_intent("tool.read", {"q": 1}, ctx, targets=[path_target("/a", "read")]),
            lambda i: 1,
        )
    m = _members(s.capture.bundle_path)  # type: ignore[union-attr]
    assert "args" not in m["intents"][0] and "result" not in m["results"][0]
    # the pack still says what was asked for: raw capture (serve_sdk.md §4)
    import zipfile

    with zipfile.ZipFile(s.capture.bundle_path) as z:  # type: ignore[union-attr]
        assert json.loads(z.read("manifest.json"))["capture_mode"] == "raw"
    assert m["refs"]["receipts"][0]["redaction_mode"] == "raw"
    assert verify_runpack(s.capture.bundle_path).ok  # type: ignore[union-attr]


def test_session_is_written_when_the_block_raises(policy: str, ctx: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="agent crashed"), run_session("run_crash") as s:
        ToolAdapter(policy).execute(
            capture_intent("tool.read", {}, ctx, targets=[path_target("/a", "read")]), lambda i: 1
        )
        raise ValueError("agent crashed")
    assert s.finalized and verify_runpack("gait-out/runpack_run_crash.zip").ok


def test_finalize_once_and_no_recording_after(policy: str, ctx: dict[str, Any]) -> None:
    with run_session("run_once") as s:
        pass
    first = s.capture
    assert s.finalize() is first
    with pytest.raises(InvalidInput, match="already finalized"):
        s.reserve()


def test_gate_errors_are_recorded_as_errors(tmp_path: Path, ctx: dict[str, Any]) -> None:
    adapter = ToolAdapter(str(tmp_path / "missing.yaml"))
    with run_session("run_err", capture_mode="raw", include_raw_payload=True) as s:
        with pytest.raises(GateEnforcementError):
            adapter.execute(capture_intent("tool.read", {}, ctx), lambda i: 1)
    m = _members(s.capture.bundle_path)  # type: ignore[union-attr]
    assert m["results"][0]["status"] == "error"
    assert m["results"][0]["result"]["executed"] is False
    assert m["results"][0]["result"]["reason_codes"] == ["gate_error"]


def test_sessions_are_context_scoped(policy: str, ctx: dict[str, Any]) -> None:
    import threading

    seen: list[Any] = []
    with run_session("run_ctx"):
        t = threading.Thread(target=lambda: seen.append(current_session()))
        t.start()
        t.join(5)
    assert seen == [None]


def test_invalid_capture_mode() -> None:
    with (
        pytest.raises(InvalidInput, match="capture mode"),
        run_session("run_bad", capture_mode="full"),
    ):
        pass
