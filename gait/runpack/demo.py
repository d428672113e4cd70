"""The fixed, offline demo runs (runpack.md §5).

``build_demo_runpack`` is the standard demo exactly as specified: three
allowed tool calls with recorded results and demo receipts, fixed time
2026-02-05T00:00:00Z, unsigned, so every machine produces the same bytes.

``record_policy_demo`` backs ``gait demo --policy``: the same kind of agent
run, but every call is gated by the embedded demo policy through the
:class:`~gait.runpack.Recorder`; the destructive ``tool.delete`` call is
blocked and never executed. Its clock is fake too, so it is deterministic.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from gait.canonical import digest
from gait.runpack.model import IntentRecord, Receipt, Refs, ResultRecord, Run, RunEnv, TimelineEvent
from gait.runpack.record import RecordResult, record_runpack
from gait.runpack.recorder import Recorder, ToolBlocked, policy_gate

__all__ = [
    "DEMO_CREATED_AT",
    "DEMO_POLICY_INTENT",
    "DEMO_POLICY_RUN_ID",
    "DEMO_POLICY_YAML",
    "DEMO_RUN_ID",
    "build_demo_runpack",
    "record_policy_demo",
]

DEMO_RUN_ID = "run_demo"
DEMO_POLICY_RUN_ID = "run_demo_policy"
DEMO_CREATED_AT = "2026-02-05T00:00:00Z"
_DEMO_FINISHED_AT = "2026-02-05T00:00:02Z"
_TOOLS = ("tool.search", "tool.fetch", "tool.summarize")
_ARGS: tuple[dict[str, Any], ...] = (
    {"query": "gait demo: offline verification"},
    {"url": "https://example.local/demo"},
    {"input_ref": "ref_1"},
)

DEMO_POLICY_YAML = """\
schema_id: gait.gate.policy
schema_version: 1.0.0
default_verdict: allow
rules:
  - name: block-destructive-tool-delete
    priority: 10
    effect: block
    match:
      tool_names: [tool.delete]
      risk_classes: [high]
    reason_codes: [destructive_tool_blocked]
"""
"""The demo policy (not a user policy): allow by default, block ``tool.delete`` at high risk."""

_DEMO_CONTEXT = {"identity": "demo.user", "workspace": "/tmp/demo", "risk_class": "high"}

DEMO_POLICY_INTENT: dict[str, Any] = {
    "schema_id": "gait.gate.intent_request",
    "schema_version": "1.0.0",
    "created_at": "2026-02-14T00:00:00Z",
    "tool_name": "tool.delete",
    "args": {"path": "/tmp/demo/delete-me.txt"},
    "targets": [
        {
            "kind": "path",
            "value": "/tmp/demo/delete-me.txt",
            "operation": "delete",
            "endpoint_class": "fs.delete",
            "destructive": True,
        }
    ],
    "context": dict(_DEMO_CONTEXT),
}
"""The intent ``gait demo --policy`` writes and evaluates (verdict ``block``)."""


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def build_demo_runpack(producer_version: str) -> RecordResult:
    """The standard demo pack of §5 (unsigned, reference capture)."""
    ts = DEMO_CREATED_AT
    run = Run(
        run_id=DEMO_RUN_ID,
        created_at=ts,
        producer_version=producer_version,
        env=RunEnv(os="demo", arch="demo", runtime="go"),
        timeline=[
            TimelineEvent(event="start", ts=ts),
            TimelineEvent(event="finish", ts=_DEMO_FINISHED_AT),
        ],
    )
    intents, results, receipts = [], [], []
    for n, (tool, args) in enumerate(zip(_TOOLS, _ARGS, strict=True), start=1):
        result = {"ok": True, "message": f"demo result {n}"}
        intents.append(
            IntentRecord(
                created_at=ts,
                intent_id=f"intent_{n}",
                tool_name=tool,
                args_digest=digest(args),
                args=dict(args),
            )
        )
        results.append(
            ResultRecord(
                created_at=ts,
                intent_id=f"intent_{n}",
                status="ok",
                result_digest=digest(result),
                result=result,
            )
        )
        receipts.append(
            Receipt(
                ref_id=f"ref_{n}",
                source_type="demo",
                source_locator=tool,
                query_digest=_sha(f"query-{n}"),
                content_digest=_sha(f"content-{n}"),
                retrieved_at=ts,
                redaction_mode="reference",
            )
        )
    return record_runpack(
        run,
        intents,
        results,
        Refs(created_at=ts, receipts=receipts),
        capture_mode="reference",
        producer_version=producer_version,
    )


def _fake_clock(start: str) -> Iterator[datetime]:
    current = datetime.fromisoformat(start.replace("Z", "+00:00")).astimezone(UTC)
    while True:
        yield current
        current += timedelta(milliseconds=250)


def record_policy_demo(compiled: Any, producer_version: str) -> RecordResult:
    """A gated agent run: search, fetch, delete (blocked), summarize — raw capture."""
    ticks = _fake_clock("2026-02-14T00:00:00Z")
    rec = Recorder(
        DEMO_POLICY_RUN_ID,
        capture_mode="raw",
        gate=policy_gate(compiled),
        context=dict(_DEMO_CONTEXT),
        clock=lambda: next(ticks),
        producer_version=producer_version,
        env=RunEnv(os="demo", arch="demo", runtime="python"),
    )

    def search(query: str) -> dict[str, Any]:
        return {"hits": ["https://example.local/demo"], "query": query}

    def fetch(url: str) -> dict[str, Any]:
        return {"status": 200, "bytes": 512, "url": url}

    def delete(path: str) -> dict[str, Any]:  # never runs: the policy blocks it
        raise AssertionError("tool.delete must not execute in the demo")

    def summarize(input_ref: str) -> dict[str, Any]:
        return {"summary": "demo page about offline verification", "input_ref": input_ref}

    with rec:
        rec.call("tool.search", search, {"query": "gait demo: offline verification"})
        rec.call("tool.fetch", fetch, {"url": "https://example.local/demo"})
        delete_intent = DEMO_POLICY_INTENT
        try:
            rec.call(
                "tool.delete",
                delete,
                delete_intent["args"],
                targets=delete_intent["targets"],
            )
        except ToolBlocked:
            pass
        rec.call("tool.summarize", summarize, {"input_ref": "ref_1"})
    return rec.build()
