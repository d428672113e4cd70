"""Body reads and answers that cannot wait skip their timers: same bytes as the timed path.

The evaluate endpoint is driven with uvicorn's real RequestResponseCycle (over a
recording transport), whose receive/send it recognises, and with plain
callables (the general, timed path); the answers must match byte for byte.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from uvicorn.protocols.http.flow_control import FlowControl
from uvicorn.protocols.http.httptools_impl import RequestResponseCycle

from gait.serve import app as app_module
from gait.serve.config import ServeConfig
from gait.serve.service import DecisionService

POLICY = Path(__file__).resolve().parents[2] / "examples" / "policy" / "base_medium_risk.yaml"
BODY = json.dumps({"call": {"name": "tool.read", "args": {"path": "/repo/x"}}}).encode()


class _Transport:
    def __init__(self) -> None:
        self.data = b""
        self.closed = False

    def write(self, data: bytes) -> None:
        self.data += data

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def _service(tmp_path: Path, **overrides: Any) -> DecisionService:
    settings: dict[str, Any] = {
        "policy": str(POLICY),
        "trace_dir": str(tmp_path / "traces"),
        "state": str(tmp_path / "state.json"),
        "trace_durability": "batch",
        "reload_interval": 0.0,
        "max_request_bytes": 4096,
        "read_timeout": 0.2,
    }
    settings.update(overrides)
    return DecisionService(ServeConfig(**settings))


def _headers(body: bytes) -> list[tuple[bytes, bytes]]:
    return [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]


def _cycle(body: bytes | None, *, paused: bool = False) -> tuple[RequestResponseCycle, _Transport]:
    transport = _Transport()
    flow = FlowControl(transport)  # type: ignore[arg-type]
    scope = {"type": "http", "method": "POST", "path": "/v1/evaluate", "headers": _headers(BODY)}
    cycle = RequestResponseCycle(
        scope=scope,  # type: ignore[arg-type]
        transport=transport,  # type: ignore[arg-type]
        flow=flow,
        logger=logging.getLogger("t"),
        access_logger=logging.getLogger("t"),
        access_log=False,
        default_headers=[],
        message_event=asyncio.Event(),
        expect_100_continue=False,
        keep_alive=True,
        on_response=lambda: None,
    )
    if body is not None:  # what uvicorn does once the whole body has been parsed
        cycle.body += body
        cycle.more_body = False
        cycle.message_event.set()
    if paused:
        flow.write_paused = True
    return cycle, transport


def _answer(raw: bytes) -> tuple[bytes, dict[str, Any]]:
    head, _, body = raw.partition(b"\r\n\r\n")
    answer = json.loads(body)
    # differ per decision by design
    for key in ("trace_id", "trace_path", "decision_latency_ms"):
        answer.pop(key, None)
    return head, answer


async def _general(endpoint: Any, scope: dict[str, Any], body: bytes) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await endpoint(scope, receive, send)
    return sent


def _wire(sent: list[dict[str, Any]]) -> bytes:
    start, body = sent
    head = b"HTTP/1.1 %d " % start["status"]
    head += b"".join(b"\r\n" + k + b": " + v for k, v in start["headers"])
    return head + b"\r\n\r\n" + body["body"]


@pytest.mark.parametrize(
    "body",
    [BODY, b"{not json", b'{"call": {}}', b"x" * 5000, b'{"call": {"name": "tool.write"}}'],
)
def test_buffered_body_and_unpaused_send_answer_as_the_timed_path(tmp_path, body):
    service = _service(tmp_path)
    endpoint = app_module.EvaluateEndpoint(service, "json", _inline)

    async def run() -> tuple[bytes, bytes]:
        cycle, transport = _cycle(body)
        assert app_module._receive_ready(cycle.receive)
        assert app_module._sends_at_once(cycle.send)
        scope = dict(cycle.scope, headers=_headers(body))
        await endpoint(scope, cycle.receive, cycle.send)
        general = await _general(endpoint, scope, body)
        return transport.data, _wire(general)

    try:
        fast, slow = asyncio.run(run())
    finally:
        service.close()
    fast_head, fast_answer = _answer(fast)
    slow_head, slow_answer = _answer(slow)
    assert fast_answer == slow_answer
    status = slow_head.split(b"\r\n")[0]
    assert fast_head.startswith(status)


def test_body_still_arriving_and_paused_writes_take_the_timed_path(tmp_path):
    service = _service(tmp_path)
    endpoint = app_module.EvaluateEndpoint(service, "json", _inline)

    async def run() -> bytes:
        cycle, transport = _cycle(None, paused=True)
        assert not app_module._receive_ready(cycle.receive)
        assert not app_module._sends_at_once(cycle.send)

        def arrive() -> None:
            cycle.body += BODY
            cycle.more_body = False
            cycle.message_event.set()
            cycle.flow.write_paused = False
            cycle.flow._is_writable_event.set()

        asyncio.get_running_loop().call_later(0.02, arrive)
        await endpoint(cycle.scope, cycle.receive, cycle.send)
        return transport.data

    try:
        raw = asyncio.run(run())
    finally:
        service.close()
    head, answer = _answer(raw)
    assert head.startswith(b"HTTP/1.1 200 ")
    assert answer["tool_name"] == "tool.read"


def test_a_body_that_never_arrives_still_times_out_with_408(tmp_path):
    service = _service(tmp_path)
    endpoint = app_module.EvaluateEndpoint(service, "json", _inline)

    async def run() -> bytes:
        cycle, transport = _cycle(None)
        await asyncio.wait_for(endpoint(cycle.scope, cycle.receive, cycle.send), 5)
        return transport.data

    try:
        raw = asyncio.run(run())
    finally:
        service.close()
    head, answer = _answer(raw)
    assert head.startswith(b"HTTP/1.1 408 ")
    assert answer == {"error": "request body read timed out", "ok": False}


async def _inline(fn: Any, request: Any, *args: Any) -> Any:
    return fn(*args)
