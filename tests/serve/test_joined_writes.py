"""Response head and body leave in one send (gait.serve.server.JoinedWrites), same bytes."""

from __future__ import annotations

import json
import socket
import time

import pytest

from gait.serve.server import JoinedWrites


class _Transport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        assert not self.closed
        self.writes.append(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str) -> str:
        return "info:" + name


HEAD = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n"


def test_head_and_body_are_one_write_with_the_same_bytes():
    raw = _Transport()
    view = JoinedWrites(raw)
    view.write(HEAD)
    assert raw.writes == []
    view.write(b"ok")
    assert raw.writes == [HEAD + b"ok"]
    view.write(b"more")  # later writes pass straight through
    assert raw.writes == [HEAD + b"ok", b"more"]


def test_empty_body_still_sends_the_head():
    raw = _Transport()
    view = JoinedWrites(raw)
    view.write(HEAD)
    view.write(b"")  # HEAD requests, 204: the body message carries no bytes
    assert b"".join(raw.writes) == HEAD


def test_close_and_any_other_use_send_the_held_head_first():
    raw = _Transport()
    view = JoinedWrites(raw)
    view.write(HEAD)
    view.close()
    assert raw.writes == [HEAD] and raw.closed
    raw = _Transport()
    view = JoinedWrites(raw)
    view.write(HEAD)
    assert view.is_closing() is False
    assert raw.writes == [HEAD]
    assert view.get_extra_info("peername") == "info:peername"


def test_interim_100_continue_is_not_held():
    raw = _Transport()
    view = JoinedWrites(raw)
    view.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    assert raw.writes == [b"HTTP/1.1 100 Continue\r\n\r\n"]
    view.write(HEAD)
    view.write(b"ok")
    assert raw.writes[1:] == [HEAD + b"ok"]


def _read_response(sock: socket.socket, buf: bytes) -> tuple[bytes, bytes, bytes]:
    """(head, body, rest) of one content-length response."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        assert chunk, "connection closed early"
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(rest) < length:
        chunk = sock.recv(65536)
        assert chunk, "connection closed early"
        rest += chunk
    return head, rest[:length], rest[length:]


def test_real_server_answers_keep_alive_pipelined_and_continue_requests(shared_server):
    body = json.dumps({"call": {"name": "tool.read", "args": {"path": "/tmp/x"}}}).encode()
    post = (
        b"POST /v1/evaluate HTTP/1.1\r\nhost: t\r\ncontent-type: application/json\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
    health = b"GET /healthz HTTP/1.1\r\nhost: t\r\n\r\n"
    host, _, port = shared_server.ready["listen"].rpartition(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        # two requests in one send (pipelined), then a third on the same connection
        sock.sendall(post + health)
        head, answer, rest = _read_response(sock, b"")
        assert head.startswith(b"HTTP/1.1 200 ")
        assert json.loads(answer)["tool_name"] == "tool.read"
        head, answer, rest = _read_response(sock, rest)
        assert head.startswith(b"HTTP/1.1 200 ")
        assert json.loads(answer)["service"] == "gait.mcp.serve"
        assert rest == b""
        sock.sendall(
            b"POST /v1/evaluate HTTP/1.1\r\nhost: t\r\ncontent-type: application/json\r\n"
            b"expect: 100-continue\r\ncontent-length: " + str(len(body)).encode() + b"\r\n\r\n"
        )
        interim = b""
        while b"\r\n\r\n" not in interim:
            interim += sock.recv(65536)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(body)
        head, answer, rest = _read_response(sock, b"")
        assert head.startswith(b"HTTP/1.1 200 ")
        assert json.loads(answer)["verdict"]
        sock.sendall(b"GET /nope HTTP/1.1\r\nhost: t\r\n\r\n")
        head, answer, rest = _read_response(sock, b"")
        assert head.startswith(b"HTTP/1.1 404 ")
        assert json.loads(answer) == {"error": "not found", "ok": False}


@pytest.mark.parametrize(
    "second",
    [b"GET /hea", b"GET /healthz HTTP/1.1\r\nhost: t\r\n", b""],
    ids=["partial-request-line", "partial-headers", "nothing"],
)
def test_a_later_request_with_slow_headers_is_cut_off_on_a_kept_alive_connection(
    shared_server, second
):
    # The header timer is armed only when a read leaves headers incomplete: after
    # a whole first request, a trickled second one must still be cut off
    # (--header-timeout 1 in the fixture), and an idle connection is not.
    host, _, port = shared_server.ready["listen"].rpartition(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nhost: t\r\n\r\n" + second)
        head, _, _ = _read_response(sock, b"")
        assert head.startswith(b"HTTP/1.1 200 ")
        sock.settimeout(3.5)
        started = time.monotonic()
        try:
            closed = sock.recv(4096) == b""
        except TimeoutError:
            closed = False
        waited = time.monotonic() - started
    if second:
        assert closed and waited < 3, waited
    else:
        assert not closed  # keep-alive idle timeout (60 s) is not the header timeout
