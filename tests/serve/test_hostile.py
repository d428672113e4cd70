"""Hostile HTTP against a real server: every bad request gets its 4xx, the server keeps serving.

serve_sdk.md §3.1-§3.3: 405 wrong method, 415 content type, 413 body limit,
400 malformed / unknown-field / multi-object JSON, 401 token auth; plus a
slowloris body (408 after the read timeout) and random bytes on the wire.
"""

from __future__ import annotations

import json
import random
import socket
import time

import pytest

from tests.serve.conftest import call_body, client


def _error(response) -> str:
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["ok"] is False
    return body["error"]


def test_healthz_answers_get_with_the_service_name(shared_server):
    with client(shared_server.url) as http:
        response = http.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True and body["service"] == "gait.mcp.serve"


@pytest.mark.parametrize("path", ["/v1/evaluate", "/v1/evaluate/sse", "/v1/evaluate/stream"])
def test_evaluate_endpoints_refuse_get_with_405(shared_server, path):
    with client(shared_server.url) as http:
        response = http.get(path)
    assert response.status_code == 405
    assert _error(response) == "expected POST"


def test_healthz_refuses_post_with_405(shared_server):
    with client(shared_server.url) as http:
        response = http.post("/healthz", json={})
    assert response.status_code == 405
    assert _error(response) == "expected GET"


def test_unknown_path_is_a_json_404(shared_server):
    with client(shared_server.url) as http:
        response = http.post("/v1/nope", json=call_body())
    assert response.status_code == 404
    assert _error(response) == "not found"


@pytest.mark.parametrize(
    ("content_type", "message"),
    [
        ("text/plain", "content-type must be application/json"),
        ("application/x-www-form-urlencoded", "content-type must be application/json"),
        ("application/json; ;", "invalid content-type header"),
        ("json", "invalid content-type header"),
    ],
)
def test_wrong_content_type_is_415(shared_server, content_type, message):
    with client(shared_server.url) as http:
        response = http.post(
            "/v1/evaluate",
            content=json.dumps(call_body()),
            headers={"content-type": content_type},
        )
    assert response.status_code == 415
    assert _error(response) == message


def test_json_content_type_with_parameters_is_accepted(shared_server):
    with client(shared_server.url) as http:
        response = http.post(
            "/v1/evaluate",
            content=json.dumps(call_body()),
            headers={"content-type": "Application/JSON; charset=utf-8"},
        )
    assert response.status_code == 200
    assert response.json()["verdict"] == "allow"


def test_body_over_the_declared_limit_is_413(shared_server):
    big = call_body(path="/tmp/" + "a" * 5000)
    with client(shared_server.url) as http:
        response = http.post("/v1/evaluate", json=big)
    assert response.status_code == 413
    assert _error(response) == "request body exceeds max-request-bytes"


def test_chunked_body_over_the_limit_is_413(shared_server):
    def chunks():
        for _ in range(10):
            yield b" " * 1000

    with client(shared_server.url) as http:
        response = http.post(
            "/v1/evaluate", content=chunks(), headers={"content-type": "application/json"}
        )
    assert response.status_code == 413
    assert _error(response) == "request body exceeds max-request-bytes"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "decode request: "),
        (b"[]", "decode request: expected `object`, got `array`"),
        (
            b'{"call": {"name": "tool.read"}, "surprise": 1}',
            "decode request: object contains unknown field `surprise`",
        ),
        (
            b'{"call": {"name": "tool.read"}} {"call": {}}',
            "request body must contain a single JSON object",
        ),
        (b'{"run_id": "r1"}', "request.call is required"),
        (b'{"call": null}', "request.call is required"),
        (b"", "decode request: empty request body"),
        (
            b'{"call": {"name": "tool.read"}, "run_id": 7}',
            "decode request: expected `str`, got `int`",
        ),
    ],
)
def test_malformed_request_bodies_are_400(shared_server, body, message):
    with client(shared_server.url) as http:
        response = http.post(
            "/v1/evaluate", content=body, headers={"content-type": "application/json"}
        )
    assert response.status_code == 400
    assert _error(response).startswith(message)


def test_bad_call_payload_is_400_naming_the_problem(shared_server):
    with client(shared_server.url) as http:
        response = http.post("/v1/evaluate", json={"call": {"args": {}}})
        unknown = http.post("/v1/evaluate", json={"call": {"name": "x"}, "adapter": "cobol"})
    assert response.status_code == 400
    assert "tool call name is required" in _error(response)
    assert unknown.status_code == 400
    assert _error(unknown) == "unsupported adapter: cobol"


@pytest.mark.parametrize("field", ["trace_path", "runpack_out", "pack_out", "session_journal"])
def test_client_artifact_paths_are_refused_by_default(shared_server, field):
    with client(shared_server.url) as http:
        response = http.post("/v1/evaluate", json=call_body(**{field: "/tmp/evil"}))
    assert response.status_code == 400
    assert _error(response) == f"request.{field} is not allowed by server configuration"


def test_context_envelope_path_in_the_call_is_refused(shared_server):
    body = call_body()
    body["call"]["context"]["context_envelope_path"] = "/etc/passwd"
    with client(shared_server.url) as http:
        response = http.post("/v1/evaluate", json=body)
    assert response.status_code == 400
    assert "context_envelope_path is not allowed by server configuration" in _error(response)


SLOW_BODY = (
    b"POST /v1/evaluate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    b'Content-Length: 500\r\n\r\n{"call":'
)


def test_a_slow_body_does_not_hold_up_other_clients(start_server):
    # A read timeout far longer than any answer on a loaded machine: the slow client
    # is still waiting when the normal one is answered, whatever the load.
    server = start_server("--read-timeout", "60")
    host, port = server.ready["listen"].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as slow:
        slow.sendall(SLOW_BODY)
        with client(server.url) as http:
            assert http.post("/v1/evaluate", json=call_body()).status_code == 200
        slow.setblocking(False)
        with pytest.raises(BlockingIOError):
            slow.recv(1)  # no answer (and no close) for the slow client yet


def test_slow_body_times_out_with_408_while_others_are_served(shared_server):
    host, port = shared_server.ready["listen"].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=30) as slow:
        slow.sendall(SLOW_BODY)
        with client(shared_server.url) as http:
            assert http.post("/v1/evaluate", json=call_body()).status_code == 200
        data = b""
        deadline = time.monotonic() + 30
        # 408 comes with "connection: close": read to EOF to get the whole answer.
        while time.monotonic() < deadline:
            chunk = slow.recv(4096)
            if not chunk:
                break
            data += chunk
    assert data.startswith(b"HTTP/1.1 408"), data[:80]
    assert b"request body read timed out" in data


def _raw_exchange(address: tuple[str, int], payload: bytes) -> bytes:
    with socket.create_connection(address, timeout=5) as sock:
        try:
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            return b""  # the server may close on garbage before we finish sending
        data = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            data += chunk
    return data


def test_random_bytes_get_4xx_and_no_traceback(shared_server):
    rng = random.Random(1234)
    host, port = shared_server.ready["listen"].rsplit(":", 1)
    address = (host, int(port))
    statuses: set[int] = set()
    # Garbage on the wire: the HTTP parser answers 400 or closes; never a 5xx.
    for _ in range(300):
        data = _raw_exchange(address, rng.randbytes(rng.randint(1, 600)))
        if data.startswith(b"HTTP/1.1 "):
            statuses.add(int(data[9:12]))
    # Garbage bodies behind valid headers: the service's own 4xx.
    with client(shared_server.url) as http:
        for _ in range(300):
            body = rng.randbytes(rng.randint(0, 600))
            response = http.post(
                "/v1/evaluate", content=body, headers={"content-type": "application/json"}
            )
            statuses.add(response.status_code)
            assert response.json()["ok"] is False
        assert http.get("/healthz").status_code == 200
    assert statuses and all(400 <= s < 500 for s in statuses), statuses
    log = shared_server.stderr_text()
    assert "Traceback" not in log
    assert "Exception in ASGI application" not in log


def test_token_auth_rejects_missing_and_wrong_tokens(start_server):
    server = start_server(
        "--auth-mode",
        "token",
        "--auth-token-env",
        "SERVE_TEST_TOKEN",
        env={"SERVE_TEST_TOKEN": "s3cret-token"},
    )
    with client(server.url) as http:
        missing = http.post("/v1/evaluate", json=call_body())
        wrong = http.post(
            "/v1/evaluate", json=call_body(), headers={"authorization": "Bearer s3cret-tokem"}
        )
        basic = http.post(
            "/v1/evaluate", json=call_body(), headers={"authorization": "Basic czNjcmV0"}
        )
        good = http.post(
            "/v1/evaluate", json=call_body(), headers={"authorization": "Bearer s3cret-token"}
        )
        health = http.get("/healthz")
    assert (missing.status_code, _error(missing)) == (401, "missing bearer authorization")
    assert (wrong.status_code, _error(wrong)) == (401, "invalid bearer authorization")
    assert basic.status_code == 401
    assert good.status_code == 200 and good.json()["verdict"] == "allow"
    assert health.status_code == 200  # /healthz is not authenticated


def _closed_within(sock: socket.socket, seconds: float) -> float | None:
    """Seconds until the server closed the connection (EOF), or None if it stayed open."""
    started = time.monotonic()
    sock.settimeout(seconds)
    try:
        while True:
            if not sock.recv(4096):
                return time.monotonic() - started
    except TimeoutError:
        return None
    except OSError:
        return time.monotonic() - started


@pytest.mark.parametrize(
    "opening",
    [b"", b"POST /v1/evaluate HTTP/1.1\r\nHost: x\r\n", b"GET /hea"],
    ids=["silent", "partial-headers", "partial-request-line"],
)
def test_slow_headers_are_cut_off_by_the_header_timeout(shared_server, opening):
    host, port = shared_server.ready["listen"].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as slow:
        if opening:
            slow.sendall(opening)
        waited = _closed_within(slow, 6)
    assert waited is not None and waited < 4, waited  # --header-timeout 1 in the fixture
    with client(shared_server.url) as http:
        assert http.get("/healthz").status_code == 200


def test_oversized_headers_get_431_and_the_server_keeps_serving(shared_server):
    host, port = shared_server.ready["listen"].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"POST /v1/evaluate HTTP/1.1\r\nHost: x\r\n")
        data = b""
        try:
            for _ in range(40):  # 2.5 MiB of header lines, never finished
                sock.sendall(b"X-Filler: " + b"a" * 65536 + b"\r\n")
        except OSError:
            pass  # the server closed on us mid-send: fine, as long as it answered first
        try:
            while True:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
        except OSError:
            pass
    assert data.startswith(b"HTTP/1.1 431"), data[:60]
    with client(shared_server.url) as http:
        assert http.get("/healthz").status_code == 200


def test_connections_over_max_concurrency_get_503_then_service_resumes(start_server):
    server = start_server("--max-concurrency", "2", "--header-timeout", "30")
    host, port = server.ready["listen"].rsplit(":", 1)
    holders = [socket.create_connection((host, int(port)), timeout=10) for _ in range(2)]

    def status() -> int:
        with client(server.url) as http:
            return http.post("/v1/evaluate", json=call_body()).status_code

    try:
        # The holders count from the moment the server has accepted them (no signal
        # of that reaches the client): ask until the crowding shows, within a bound.
        deadline = time.monotonic() + 30
        crowded = status()
        while crowded == 200 and time.monotonic() < deadline:
            time.sleep(0.05)
            crowded = status()
    finally:
        for sock in holders:
            sock.close()
    assert crowded == 503

    def answered() -> bool:
        with client(server.url) as http:
            return http.post("/v1/evaluate", json=call_body()).status_code == 200

    deadline = time.monotonic() + 30
    while not answered():
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert "Traceback" not in server.stderr_text()
