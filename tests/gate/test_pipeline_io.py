"""The pipeline does no I/O of its own: clock, store, broker and trace sink are passed in."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gait.gate import Gate, GateOptions
from gait.gate.broker import BrokerFailure, BrokerRequest, Credential
from gait.state.filestore import FileStore

from .conftest import Keys, compile_text, make_intent, norm

POLICY = """
schema_id: gait.gate.policy
schema_version: 1.0.0
default_verdict: block
rules:
  - name: writes
    effect: allow
    match:
      tool_names: [tool.write]
    rate_limit: {requests: 1, window: minute, scope: tool}
    require_broker_credential: true
"""


class FixedClock:
    def __init__(self, when: datetime) -> None:
        self.when = when

    def now_rfc3339(self) -> str:
        return self.when.strftime("%Y-%m-%dT%H:%M:%SZ")

    def utcnow(self) -> datetime:
        return self.when

    def perf(self) -> float:
        return 0.0


class MemorySink:
    def __init__(self) -> None:
        self.files: dict[str, dict[str, Any]] = {}

    def write_trace(self, path: str, record: dict[str, Any]) -> str:
        self.files[path] = record
        return path

    def write_record(self, path: str, record: dict[str, Any]) -> str:
        self.files[path] = record
        return path


class RecordingBroker:
    name = "recording"

    def __init__(self, fail: bool = False) -> None:
        self.requests: list[BrokerRequest] = []
        self.fail = fail

    def issue(self, req: BrokerRequest) -> Credential:
        self.requests.append(req)
        if self.fail:
            raise BrokerFailure("vault sealed")
        return Credential("recording", "ref:1", "2026-01-02T03:04:05Z", "2026-01-02T03:09:05Z", 300)


def make(keys: Keys, clock: FixedClock, sink: MemorySink, broker: RecordingBroker) -> Gate:
    return Gate(
        compile_text(POLICY),
        GateOptions(key_mode="prod", private_key=keys.signer.private),
        store=FileStore("mem/state.json"),
        broker=broker,
        sink=sink,
        clock=clock,
    )


def test_injected_io_is_all_the_pipeline_uses(keys: Keys) -> None:
    clock = FixedClock(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    sink, broker = MemorySink(), RecordingBroker()
    gate = make(keys, clock, sink, broker)
    first = gate.decide(norm(make_intent()))
    assert first.verdict == "allow"
    assert first.outputs["rate_limit_key"] == "minute|tool|2026-01-02T03:04:00Z|tool.write"
    assert first.outputs["credential_issuer"] == "recording"
    assert [r.tool_name for r in broker.requests] == ["tool.write"]
    assert first.trace_path in sink.files
    evidence = sink.files[first.outputs["credential_evidence_path"]]
    assert evidence["created_at"] == "2026-01-02T03:04:05Z"  # from the injected clock
    assert evidence["broker"] == "recording"
    assert not list(Path().glob("trace_*.json"))  # nothing bypassed the sink

    # Same minute: exhausted. The clock moves on: a new bucket, allowed again.
    assert gate.decide(norm(make_intent())).verdict == "block"
    clock.when = datetime(2026, 1, 2, 3, 5, 0, tzinfo=UTC)
    assert gate.decide(norm(make_intent())).verdict == "allow"


def test_broker_failure_blocks(keys: Keys) -> None:
    clock = FixedClock(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    sink, broker = MemorySink(), RecordingBroker(fail=True)
    result = make(keys, clock, sink, broker).decide(norm(make_intent()), write_trace=False)
    assert result.verdict == "block"
    assert result.violations == ["broker_credential_missing"]
    assert "credential broker: vault sealed" in result.warnings
    assert sink.files == {}
