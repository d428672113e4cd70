"""HttpGate reads the service's answer under the one repeated-key rule (issue 11 A6).

A server on 127.0.0.1 (ephemeral port) answers with ``verdict`` twice, or with
``verdict`` and ``Verdict``: the client refuses the answer naming the key instead
of acting on whichever spelling its decoder kept.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from gait.sdk import GaitCommandError, HttpGate, capture_intent

from .conftest import path_target

ANSWER = (
    b'{"ok":true,"executed":false,"exit_code":0,"adapter":"mcp","run_id":"r",'
    b'"tool_name":"tool.read","reason_codes":[],"violations":[],"verdict":"block",'
)


class _Answer(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def answering() -> Iterator[Any]:
    servers: list[http.server.ThreadingHTTPServer] = []

    def start(body: bytes) -> str:
        handler = type("Handler", (_Answer,), {"body": body})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _request(ctx: dict[str, Any]) -> Any:
    return capture_intent(
        "tool.read", {"path": "/tmp/a"}, ctx, targets=[path_target("/tmp/a", "read")]
    )


@pytest.mark.parametrize(
    ("second", "named"),
    [("verdict", "duplicate key 'verdict'"), ("Verdict", "duplicate key 'Verdict' (also")],
)
def test_answer_with_a_repeated_verdict_is_refused(
    answering: Any, ctx: dict[str, Any], second: str, named: str
) -> None:
    url = answering(ANSWER + f'"{second}":"allow"}}'.encode())
    with HttpGate(url, timeout=10) as gate, pytest.raises(GaitCommandError) as err:
        gate.decide(_request(ctx))
    assert named in str(err.value)
    assert err.value.command == f"POST {url}/v1/evaluate"


def test_the_same_answer_without_the_repeat_is_a_decision(
    answering: Any, ctx: dict[str, Any]
) -> None:
    url = answering(ANSWER[:-1] + b"}")
    with HttpGate(url, timeout=10) as gate:
        result = gate.decide(_request(ctx))
    assert result.verdict == "block"
