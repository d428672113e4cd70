"""Policy reload (SIGHUP, changed file) and SIGTERM drain of a real server."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

from tests.serve.conftest import POLICY, call_body, client


def _policy_copy(tmp_path: Path) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY.read_text())
    return path


def _replace(path: Path, text: str) -> None:
    """A whole new file in one rename: a watcher sees the old file or the new one."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _blocked_text(path: Path) -> str:
    text = path.read_text().replace(
        "effect: allow\n    match:\n      endpoint_classes: [fs.read]",
        "effect: block\n    match:\n      endpoint_classes: [fs.read]",
    )
    assert "effect: block\n    match:\n      endpoint_classes: [fs.read]" in text
    return text


def _block_reads(path: Path) -> None:
    _replace(path, _blocked_text(path))


def _wait_for(predicate, timeout: float = 30.0) -> bool:
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
        _replace(policy, "rules: [this is not a policy\n")
        assert _wait_for(lambda: "policy reload failed" in server.stderr_text())
        # The last good table keeps deciding.
        assert http.get("/healthz").json()["policy_digest"] == second
        assert http.post("/v1/evaluate", json=call_body()).json()["verdict"] == "block"
    assert "Traceback" not in server.stderr_text()


def test_an_in_place_save_seen_half_written_still_ends_on_the_whole_file(start_server, tmp_path):
    """The watcher reads the first half (refused); the second half keeps size, inode, mtime."""
    policy = _policy_copy(tmp_path)
    server = start_server("--reload-interval", "0.05", policy=policy)
    blocked = _blocked_text(policy).encode()
    changed = blocked.index(b"effect: block\n    match:\n      endpoint_classes: [fs.read]")
    split = changed + len(b"effect: blo")  # the first half alone reads "bloow": refused
    mtime = time.time_ns()
    with client(server.url) as http:
        first = http.get("/healthz").json()["policy_digest"]
        with open(policy, "r+b") as fh:
            fh.write(blocked[:split])
        os.utime(policy, ns=(mtime, mtime))
        assert _wait_for(lambda: "policy reload failed" in server.stderr_text(), 30)
        assert http.get("/healthz").json()["policy_digest"] == first
        with open(policy, "r+b") as fh:
            fh.seek(split)
            fh.write(blocked[split:])
        os.utime(policy, ns=(mtime, mtime))
        assert policy.read_bytes() == blocked
        assert _wait_for(lambda: http.get("/healthz").json()["policy_digest"] != first, 30)
        assert http.post("/v1/evaluate", json=call_body()).json()["verdict"] == "block"
    assert server.stderr_text().count("policy reloaded") == 1
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
        with client(server.url) as http:
            digest = http.get("/healthz").json()["policy_digest"]
            for i in range(6):
                _replace(policy, blocked if i % 2 == 0 else original)
                server.signal(signal.SIGHUP)
                # Each table must have served: wait for this reload, not a fixed time.
                assert _wait_for(
                    lambda old=digest: http.get("/healthz").json()["policy_digest"] != old, 30
                )
                digest = http.get("/healthz").json()["policy_digest"]
                # ...and for the hammer to have been answered by it.
                assert _wait_for(
                    lambda new=digest: new in {d for _, d in seen.copy()} or bool(errors), 30
                )
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
        t.join(60)
    assert server.proc.wait(60) == 0  # longer than the server's own 30 s drain
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
