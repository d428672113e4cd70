"""The direct lane (HeaderTimeoutProtocol answering from the parser) equals uvicorn's path.

The real protocol (httptools parser, uvicorn's cycle and ASGI task, our app)
is driven over a recording transport twice for the same corpus of wire input:
once as served, once with the direct lane switched off. The bytes written back
and every file the decisions left (traces, journals) must be identical; the
clock is fixed so that trace names and signed bytes repeat.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest

from gait.serve.app import create_app
from gait.serve.config import ServeConfig
from gait.serve.server import HeaderTimeoutProtocol, _uvicorn_config
from gait.serve.service import DecisionService
from gait.signing import generate_keypair, write_private_key
from tests.serve.conftest import POLICY

CALL = {
    "name": "tool.read",
    "args": {"path": "/repo/README.md"},
    "targets": [{"kind": "path", "value": "/repo/README.md", "operation": "read"}],
    "context": {"identity": "alice", "workspace": "/repo"},
}
DELETE = {
    "name": "tool.delete",
    "args": {"path": "/tmp/x"},
    "targets": [{"kind": "path", "value": "/tmp/x", "operation": "delete"}],
    "context": {"identity": "alice", "workspace": "/repo"},
}


def _post(
    body: bytes | dict[str, Any],
    path: str = "/v1/evaluate",
    headers: str = "Content-Type: application/json\r\n",
    version: str = "1.1",
) -> bytes:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return (
        f"POST {path} HTTP/{version}\r\nHost: x\r\n{headers}Content-Length: {len(data)}\r\n\r\n"
    ).encode() + data


PLAIN = _post({"call": CALL})
# Each case: a list of reads (bytes as they arrive on the connection).
CORPUS: dict[str, list[bytes]] = {
    "allow": [PLAIN],
    "block": [_post({"call": DELETE, "run_id": "r1"})],
    "sse": [_post({"call": CALL}, "/v1/evaluate/sse")],
    "stream": [_post({"call": CALL}, "/v1/evaluate/stream")],
    "query-string": [_post({"call": CALL}, "/v1/evaluate?x=1")],
    "three-in-a-row": [PLAIN, _post({"call": DELETE}), PLAIN],
    "pipelined": [PLAIN + _post({"call": DELETE}) + PLAIN],
    "body-split": [PLAIN[:-10], PLAIN[-10:]],
    "headers-split": [PLAIN[:20], PLAIN[20:]],
    "chunked": [
        b"POST /v1/evaluate HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"%x\r\n" % len(json.dumps({"call": CALL}))
        + json.dumps({"call": CALL}).encode()
        + b"\r\n0\r\n\r\n"
    ],
    "no-content-type": [_post({"call": CALL}, headers="")],
    "content-type-params": [
        _post({"call": CALL}, headers="Content-Type: application/json; a=b\r\n")
    ],
    "wrong-content-type": [_post({"call": CALL}, headers="Content-Type: text/plain\r\n")],
    "bad-json": [_post(b"{not json")],
    "unknown-field": [_post({"call": CALL, "nope": 1})],
    "no-call": [_post({})],
    "duplicate-key": [_post(b'{"call": {}, "call": ' + json.dumps(CALL).encode() + b"}")],
    "call-not-decodable": [_post({"call": {"name": 5}})],  # refused by the decision itself
    "client-path": [_post({"call": CALL, "trace_path": "/tmp/x.json"})],
    "too-large": [_post({"call": {**CALL, "args": {"path": "x" * 5000}}})],
    "session": [_post({"call": CALL, "session_id": "s1"})],  # a journal: decision thread
    "runpack": [_post({"call": CALL, "emit_runpack": True})],
    "expect-100": [_post({"call": CALL}, headers="Expect: 100-continue\r\n")],
    "http-1.0": [_post({"call": CALL}, version="1.0")],
    "connection-close": [_post({"call": CALL}, headers="Connection: close\r\n")],
    "escaped-path": [_post({"call": CALL}, "/v1/%65valuate")],
    "get": [b"GET /v1/evaluate HTTP/1.1\r\nHost: x\r\n\r\n"],
    "not-found": [_post({"call": CALL}, "/v2/evaluate")],
    "garbage": [b"\x00\x01 nonsense\r\n\r\n"],
    "then-garbage": [PLAIN + b"\x00\x01 nonsense\r\n\r\n"],
}

# Cases the direct lane answers (at least one request of them); the rest go to uvicorn.
DIRECT_CASES = {
    "allow",
    "block",
    "sse",
    "stream",
    "query-string",
    "three-in-a-row",
    "pipelined",
    "headers-split",
    "chunked",
    "no-content-type",
    "content-type-params",
    "call-not-decodable",
    "then-garbage",
}


class _Transport:
    def __init__(self) -> None:
        self.data = bytearray()
        self.closed = False

    def write(self, data: bytes) -> None:
        assert not self.closed, "write after close"
        self.data += data

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 5555), "sockname": ("127.0.0.1", 8787)}.get(name, default)


def _run(
    root: Path,
    key: Path,
    reads: list[bytes],
    *,
    direct: bool,
    fault: bool = False,
    **settings: Any,
) -> tuple[bytes, dict[str, bytes], int]:
    """Feed ``reads`` to one connection; (bytes written, files left, direct answers)."""
    from uvicorn.server import ServerState

    root.mkdir()
    fields: dict[str, Any] = {
        "policy": str(POLICY),
        "trace_dir": str(root / "traces"),
        "session_dir": str(root / "sessions"),
        "runpack_dir": str(root / "runpacks"),
        "job_root": str(root / "jobs"),
        "state": str(root / "state.json"),
        "trace_durability": "batch",
        "reload_interval": 0.0,
        "max_request_bytes": 4096,
        "key_mode": "prod",
        "private_key": str(key),
    }
    config = ServeConfig(**{**fields, **settings})
    service = DecisionService(config, environ={"TOKEN": "secret"})
    if fault:

        def broken(request: Any) -> Any:
            raise RuntimeError("disk on fire")

        service.evaluate = broken  # type: ignore[method-assign]
    app = create_app(service)
    answered = [0]
    for endpoint in app.evaluate_endpoints.values():
        original = endpoint.answer_now

        def counted(headers: Any, body: bytes, _original: Any = original) -> Any:
            answer = _original(headers, body)
            answered[0] += answer is not None
            return answer

        endpoint.answer_now = counted  # type: ignore[method-assign]

    async def drive() -> bytes:
        uv_config = _uvicorn_config(config, app)
        uv_config.load()
        protocol = HeaderTimeoutProtocol(uv_config, ServerState(), {}, asyncio.get_running_loop())
        if not direct:
            protocol._direct_endpoint = lambda: None  # type: ignore[method-assign]
        transport = _Transport()
        protocol.connection_made(transport)  # type: ignore[arg-type]
        for index, chunk in enumerate(reads):
            if transport.closed:
                break
            protocol.data_received(chunk)
            if index + 1 < len(reads):  # a task may be waiting for the rest: a few turns
                for _ in range(5):
                    await asyncio.sleep(0.002)
            else:
                await _settle(protocol)
        protocol.connection_lost(None)
        await _settle(protocol)
        return bytes(transport.data)

    try:
        written = asyncio.run(drive())
    finally:
        service.close()
    files = {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }
    # The next run uses the same folder (paths are in the answers): move this one away.
    root.rename(root.with_name(f"{root.name}-{direct}-{time.monotonic_ns()}"))
    return written, files, answered[0]


async def _settle(protocol: Any) -> None:
    """Let started ASGI tasks (and their decision threads) finish; bounded."""
    for _ in range(400):
        await asyncio.sleep(0)
        if not protocol.tasks:
            return
        await asyncio.sleep(0.005)
    raise AssertionError("ASGI tasks did not finish")


@pytest.fixture
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    # Trace names, observed_at and latency come from these: both runs see the same.
    monkeypatch.setattr(time, "time_ns", lambda: 1_767_225_600_123_456_789)
    monkeypatch.setattr(time, "perf_counter", lambda: 1000.0)


@pytest.fixture
def key(tmp_path: Path) -> Path:
    path = tmp_path / "key.pem"
    write_private_key(path, generate_keypair())
    return path


@pytest.mark.parametrize("case", sorted(CORPUS))
def test_direct_lane_answers_and_writes_what_uvicorns_path_does(tmp_path, key, fixed_clock, case):
    reads = CORPUS[case]
    general = _run(tmp_path / "run", key, reads, direct=False)
    direct = _run(tmp_path / "run", key, reads, direct=True)
    assert general[2] == 0
    assert (direct[2] > 0) == (case in DIRECT_CASES)
    assert direct[0] == general[0]
    assert direct[1] == general[1]
    assert general[0], "every case gets an answer or at least a close"


def test_plain_requests_take_the_direct_lane(tmp_path, key, fixed_clock):
    written, files, answered = _run(tmp_path / "run", key, CORPUS["three-in-a-row"], direct=True)
    assert answered == 3
    assert written.count(b"HTTP/1.1 200 OK\r\n") == 3
    assert b'"verdict":"block"' in written and b'"verdict":"allow"' in written
    assert len([name for name in files if name.startswith("traces/")]) == 3


@pytest.mark.parametrize(
    "case", ["session", "runpack", "expect-100", "http-1.0", "connection-close", "escaped-path"]
)
def test_requests_outside_the_inline_lane_are_not_answered_directly(tmp_path, key, case):
    written, _files, answered = _run(tmp_path / "run", key, CORPUS[case], direct=True)
    assert answered == 0
    assert b"HTTP/1.1 200 OK\r\n" in written


@pytest.mark.parametrize(
    "settings",
    [{"trace_durability": "strict"}, {"auth_mode": "token", "auth_token_env": "TOKEN"}],
    ids=["strict", "token"],
)
def test_server_settings_keep_their_path(tmp_path, key, fixed_clock, settings):
    token = "Authorization: Bearer secret\r\nContent-Type: application/json\r\n"
    reads = [_post({"call": CALL}, headers=token), _post({"call": CALL})]
    general = _run(tmp_path / "run", key, reads, direct=False, **settings)
    direct = _run(tmp_path / "run", key, reads, direct=True, **settings)
    assert direct[0] == general[0] and direct[1] == general[1]
    if "auth_mode" in settings:
        assert direct[2] == 1  # the authorized one; the 401 takes uvicorn's path
        assert b"HTTP/1.1 401 " in direct[0]
    else:
        assert direct[2] == 0  # strict durability never decides on the event loop


def test_a_fault_in_the_decision_is_the_same_500_on_both_paths(tmp_path, key, fixed_clock, capfd):
    reads = [PLAIN + PLAIN]
    general = _run(tmp_path / "run", key, reads, direct=False, fault=True)
    direct = _run(tmp_path / "run", key, reads, direct=True, fault=True)
    assert direct[2] == 2 and direct[0] == general[0]
    assert direct[0].count(b"HTTP/1.1 500 Internal Server Error\r\n") == 2
    assert b'{"error":"internal error","ok":false}' in direct[0]
    err = capfd.readouterr().err
    assert err.count("internal error on /v1/evaluate: RuntimeError: disk on fire") == 4
    assert "Traceback" not in err
