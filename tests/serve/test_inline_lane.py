"""Which decisions may run on the event loop (batch durability, idle server, no file I/O).

A decision run inline answers exactly what a decision thread answers; these
tests pin when the inline lane is taken, and that everything else still goes
to a decision thread.
"""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any

import pytest

from gait.serve.config import ServeConfig
from gait.serve.request import decode_request
from gait.serve.service import DecisionService
from tests.serve.conftest import POLICY

CALL = {
    "name": "tool.read",
    "args": {"path": "/repo/README.md"},
    "targets": [{"kind": "path", "value": "/repo/README.md", "operation": "read"}],
    "context": {"identity": "alice", "workspace": "/repo"},
}
RATE_LIMITED = """\
schema_id: gait.gate.policy
schema_version: 1.0.0
default_verdict: block
rules:
  - name: limited-reads
    effect: allow
    match:
      tool_names: [tool.read]
    rate_limit: {requests: 1000, window: hour, scope: tool}
"""


def _service(tmp_path: Path, policy: Path = POLICY, **overrides: Any) -> DecisionService:
    settings: dict[str, Any] = {
        "policy": str(policy),
        "trace_dir": str(tmp_path / "traces"),
        "session_dir": str(tmp_path / "sessions"),
        "job_root": str(tmp_path / "jobs"),
        "state": str(tmp_path / "state.json"),
        "trace_durability": "batch",
        "reload_interval": 0.0,
    }
    settings.update(overrides)
    return DecisionService(ServeConfig(**settings))


def _request(**fields: Any) -> Any:
    return decode_request(json.dumps({"call": CALL, **fields}).encode())


def test_plain_call_with_batch_durability_runs_inline(tmp_path):
    # A private copy: the test depends on no file another test or a person may rewrite.
    policy = tmp_path / "policy.yaml"
    policy.write_bytes(POLICY.read_bytes())
    service = _service(tmp_path, policy=policy)
    try:
        # Each condition on its own, so a failure names the one that did not hold.
        assert service._inline_ok, "batch durability, a local state store, no exports or packs"
        assert service._policy_inline_ok(), "a policy without rules that spend state"
        assert service.runs_inline(_request())
    finally:
        service.close()


@pytest.mark.parametrize(
    "fields",
    [
        {"session_id": "s1"},
        {"call": {**CALL, "context": {**CALL["context"], "session_id": "s1"}}},
        {"call": {**CALL, "args": {"path": "/repo/a\\"}}},  # an escape could spell session_id
        {"emit_runpack": True},
        {"checkpoint_interval": 2},
    ],
    ids=["session", "call-session", "escape", "runpack", "checkpoint"],
)
def test_requests_that_may_write_journals_or_files_go_to_a_thread(tmp_path, fields):
    service = _service(tmp_path)
    try:
        assert not service.runs_inline(_request(**fields))
    finally:
        service.close()


@pytest.mark.parametrize(
    "overrides",
    [{"trace_durability": "strict"}, {"export_log_out": "log.jsonl"}],
    ids=["strict", "export"],
)
def test_strict_durability_or_exports_never_run_inline(tmp_path, overrides):
    service = _service(tmp_path, **overrides)
    try:
        assert not service.runs_inline(_request())
    finally:
        service.close()


def test_a_policy_that_spends_state_goes_to_a_thread_also_after_a_reload(tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY.read_text())
    service = _service(tmp_path, policy=policy)
    try:
        assert service.runs_inline(_request())
        policy.write_text(RATE_LIMITED)
        assert service.reload_policy(force=True)
        assert not service.runs_inline(_request())  # rate limits write the state file
    finally:
        service.close()


def _post(app: Any, body: bytes) -> tuple[int, dict[str, Any]]:
    """One POST /v1/evaluate through the ASGI app, in process."""
    sent: list[dict[str, Any]] = []
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/evaluate",
        "headers": [(b"content-type", b"application/json")],
    }
    asyncio.run(app(scope, receive, send))
    return sent[0]["status"], json.loads(sent[1]["body"])


def test_inline_and_threaded_decisions_answer_alike(tmp_path):
    from gait.serve.app import create_app

    service = _service(tmp_path)
    threads: list[str] = []
    evaluate = service.evaluate

    def spy(request: Any) -> Any:
        threads.append(threading.current_thread().name)
        return evaluate(request)

    service.evaluate = spy  # type: ignore[method-assign]
    try:
        app = create_app(service)
        inline = _post(app, json.dumps({"call": CALL}).encode())
        threaded = _post(app, json.dumps({"call": CALL, "adapter": "mcp"}).encode())
        service._inline_ok = False  # what strict durability does
        pooled = _post(app, json.dumps({"call": CALL}).encode())
    finally:
        service.close()
    assert threads[0] == threading.current_thread().name  # the event loop's own thread
    assert threads[2].startswith("gait-decide")
    for status, body in (inline, threaded, pooled):
        assert status == 200 and body["verdict"] == "allow"
    varying = ("trace_id", "trace_path", "decision_latency_ms")

    def same(body: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in body.items() if k not in varying}

    assert same(inline[1]) == same(pooled[1]) == same(threaded[1])
    assert Path(inline[1]["trace_path"]).is_file() and Path(pooled[1]["trace_path"]).is_file()
