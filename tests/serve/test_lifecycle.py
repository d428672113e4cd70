"""Policy reload (SIGHUP, changed file) and SIGTERM drain of a real server."""

from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path

from tests.serve.conftest import POLICY, call_body, client


def _policy_copy(tmp_path: Path) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY.read_text())
    return path


def _block_reads(path: Path) -> None:
    text = path.read_text().replace(
        "effect: allow\n    match:\n      endpoint_classes: [fs.read]",
        "effect: block\n    match:\n      endpoint_classes: [fs.read]",
    )
    assert "effect: block\n    match:\n      endpoint_classes: [fs.read]" in text
    path.write_text(text)


def _wait_for(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_sighup_reloads_the_policy(start_server, tmp_path):
    policy = _policy_copy(tmp_path)
    server = start_server("--reload-interval", "0", policy=policy)
    with client(server.url) as http:
        before = http.get("/healthz").json()["policy_digest"]
        assert http.post("/v1/evaluate", json=call_body()).json()["verdict"] == "allow"
        _block_reads(policy)
        # Without SIGHUP (watching off) the old table stays.
        assert http.post("/v1/evaluate", json=call_body()).json()["verdict"] == "allow"
        server.signal(signal.SIGHUP)
        assert _wait_for(lambda: http.get("/healthz").json()["policy_digest"] != before)
        assert http.post("/v1/evaluate", json=call_body()).json()["verdict"] == "block"
    assert "policy reloaded" in server.stderr_text()


def test_changed_file_is_picked_up_and_a_broken_one_is_not(start_server, tmp_path):
    policy = _policy_copy(tmp_path)
    server = start_server("--reload-interval", "0.1", policy=policy)
    with client(server.url) as http:
        first = http.get("/healthz").json()["policy_digest"]
        _block_reads(policy)
        assert _wait_for(lambda: http.get("/healthz").json()["policy_digest"] != first)
        second = http.get("/healthz").json()["policy_digest"]
        assert http.post("/v1/evaluate", json=call_body()).json()["verdict"] == "block"
        policy.write_text("rules: [this is not a policy\n")
        assert _wait_for(lambda: "policy reload failed" in server.stderr_text())
        # The last good table keeps deciding.
        assert http.get("/healthz").json()["policy_digest"] == second
        assert http.post("/v1/evaluate", json=call_body()).json()["verdict"] == "block"
    assert "Traceback" not in server.stderr_text()


def test_requests_during_reloads_see_one_whole_table(start_server, tmp_path):
    """Every answer matches the old table or the new one (verdict and digest together)."""
    policy = _policy_copy(tmp_path)
    server = start_server("--reload-interval", "0", policy=policy)
    original = policy.read_text()
    _block_reads(policy)
    blocked = policy.read_text()
    seen: set[tuple[str, str]] = set()
    errors: list[str] = []
    stop = threading.Event()

    def hammer() -> None:
        with client(server.url) as http:
            while not stop.is_set():
                body = http.post("/v1/evaluate", json=call_body()).json()
                if "verdict" not in body:
                    errors.append(json.dumps(body))
                    return
                seen.add((body["verdict"], body["policy_digest"]))

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        for i in range(6):
            policy.write_text(blocked if i % 2 == 0 else original)
            server.signal(signal.SIGHUP)
            time.sleep(0.15)
    finally:
        stop.set()
        for t in threads:
            t.join(10)
    assert not errors
    digests = {}
    for verdict, digest in seen:
        digests.setdefault(digest, set()).add(verdict)
    # Each policy digest always came with that policy's verdict: never a mix.
    assert all(len(v) == 1 for v in digests.values()), digests
    assert {v for vs in digests.values() for v in vs} == {"allow", "block"}


def test_sigterm_drains_in_flight_requests_and_leaves_whole_traces(start_server, tmp_path):
    from gait.trace.store import read_trace

    server = start_server("--trace-dir", "tr")
    results: list[int] = []
    lock = threading.Lock()

    def fire() -> None:
        try:
            with client(server.url) as http:
                for _ in range(20):
                    status = http.post("/v1/evaluate", json=call_body()).status_code
                    with lock:
                        results.append(status)
        except Exception:
            with lock:
                results.append(-1)  # refused after the stop: expected for late requests

    threads = [threading.Thread(target=fire) for _ in range(8)]
    for t in threads:
        t.start()
    assert _wait_for(lambda: len(results) >= 20)
    server.signal(signal.SIGTERM)
    for t in threads:
        t.join(30)
    assert server.proc.wait(30) == 0
    answered = [s for s in results if s != -1]
    assert answered and all(s == 200 for s in answered)
    traces = list((tmp_path / "tr").iterdir())
    # No temp file left behind, and every trace on disk is a whole, readable trace.
    assert all(not p.name.startswith(".") for p in traces)
    assert len(traces) >= len(answered)
    for path in traces:
        assert read_trace(path)["verdict"] == "allow"
    assert "Traceback" not in server.stderr_text()


def test_workers_share_the_socket_reload_on_sighup_and_stop_cleanly(start_server, tmp_path):
    policy = _policy_copy(tmp_path)
    server = start_server("--workers", "2", "--reload-interval", "0", policy=policy)
    with client(server.url) as http:
        assert _wait_for(lambda: http.get("/healthz").status_code == 200, 30)
        assert http.post("/v1/evaluate", json=call_body()).json()["verdict"] == "allow"
        _block_reads(policy)
        server.signal(signal.SIGHUP)  # the supervisor replaces each worker; new ones recompile

        def all_block() -> bool:
            verdicts = {
                http.post("/v1/evaluate", json=call_body()).json()["verdict"] for _ in range(6)
            }
            return verdicts == {"block"}

        assert _wait_for(all_block, 60)
    assert server.stop() == 0
    assert "Traceback" not in server.stderr_text()
