"""Exact budgets across processes: racing ``gate eval`` processes on the file store,
``gait mcp serve`` processes on one Redis, and servers killed with SIGKILL mid-run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gait.state.filestore import FileLock, FileStore
from tests.serve_process import ServeProcess

SERVE_ENV = {"PYTHONDONTWRITEBYTECODE": "1"}

BUDGET_POLICY = """
schema_id: gait.gate.policy
schema_version: 1.0.0
default_verdict: block
rules:
  - name: deletes
    effect: allow
    match:
      tool_names: [tool.delete]
    destructive_budget: {{requests: {n}, window: hour}}
"""
INTENT = {
    "schema_id": "gait.gate.intent_request",
    "schema_version": "1.0.0",
    "created_at": "2026-02-18T00:00:00Z",
    "tool_name": "tool.delete",
    "args": {"path": "/w/db"},
    "targets": [{"kind": "path", "value": "/w/db", "operation": "delete"}],
    "arg_provenance": [{"arg_path": "$.path", "source": "user"}],
    "context": {"identity": "alice", "workspace": "/w", "risk_class": "medium", "phase": "plan"},
}


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}


def test_racing_gate_eval_processes_spend_exactly_the_file_budget() -> None:
    """16 ``gate eval`` processes, 8 at a time, on a budget of 10: exactly 10 pass."""
    budget, calls = 10, 16
    Path("policy.yaml").write_text(BUDGET_POLICY.format(n=budget))
    Path("intent.json").write_text(json.dumps(INTENT))

    def one(i: int) -> tuple[int, dict[str, Any]]:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "gait.cli.main",
                "gate",
                "eval",
                "--policy",
                "policy.yaml",
                "--intent",
                "intent.json",
                "--state",
                "state/budget.json",
                "--trace-out",
                f"traces/t{i}.json",
                "--json",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            env=_env(),
        )
        return proc.returncode, json.loads(proc.stdout)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(one, range(calls)))
    passed = [out for code, out in results if code == 0]
    blocked = [out for code, out in results if code == 3]
    assert len(passed) + len(blocked) == calls, results
    counters = FileStore("state/budget.json").load_counters()
    # One hour bucket in all but the rarest run; the budget holds per bucket either way.
    assert all(count <= budget for count in counters.values())
    assert sum(counters.values()) == len(passed)
    if len(counters) == 1:
        assert len(passed) == budget
    assert sorted(out["destructive_budget_used"] for out in passed)[-1] <= budget
    for out in blocked:
        assert "destructive_budget_exceeded" in out["reason_codes"]
    assert not Path("state/budget.json.lock").exists()


HOLDER = """
import sys, time
from pathlib import Path
from gait.state.filestore import FileLock
with FileLock(Path(sys.argv[1])):
    print("locked", flush=True)
    time.sleep(60)
"""


def test_a_killed_lock_holder_blocks_nobody() -> None:
    """SIGKILL while holding the state lock: the OS drops it; the next spend is immediate."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, "state.json"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        holder.kill()
        holder.wait(timeout=10)
        started = time.monotonic()
        from gait.policy.model import Limit

        use = FileStore("state.json").spend(
            Limit(requests=1, window="hour", scope="tool"),
            tool_name="t",
            identity="i",
            now=datetime.now(UTC),
        )
        assert use.allowed
        assert time.monotonic() - started < 1.0
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(timeout=10)
        if holder.stdout is not None:
            holder.stdout.close()
    with FileLock(Path("state.json")):
        pass


# ---- mcp serve over one Redis -------------------------------------------------------------


@pytest.fixture
def serve_cluster(tmp_path: Path) -> Iterator[Callable[[int, str, int], list[ServeProcess]]]:
    pytest.importorskip("uvicorn")
    started: list[ServeProcess] = []

    def start(count: int, state: str, budget: int) -> list[ServeProcess]:
        policy = tmp_path / "policy.yaml"
        policy.write_text(BUDGET_POLICY.format(n=budget))
        with ThreadPoolExecutor(max_workers=count) as pool:
            servers = list(
                pool.map(
                    lambda _i: ServeProcess(
                        tmp_path,
                        ["--policy", str(policy), "--listen", "127.0.0.1:0", "--state", state],
                        SERVE_ENV,
                        start_timeout=60.0,  # several servers start at once on a busy machine
                    ),
                    range(count),
                )
            )
        started.extend(servers)
        return servers

    yield start
    for server in started:
        server.stop()


def call_body(i: int) -> dict[str, Any]:
    return {
        "call": {
            "name": "tool.delete",
            "args": {"path": f"/w/db{i}"},
            "targets": [{"kind": "path", "value": f"/w/db{i}", "operation": "delete"}],
            "context": {"identity": "alice", "workspace": "/w", "phase": "plan"},
        }
    }


def hammer(
    servers: list[ServeProcess],
    requests: int,
    clients: int,
    on_progress: Callable[[int], None] | None = None,
) -> list[str]:
    """``requests`` POSTs from ``clients`` threads round-robin over the servers; verdicts
    (``error`` when the server is gone)."""
    import httpx

    verdicts: list[str] = []
    lock = threading.Lock()
    counter = iter(range(requests))

    def worker(n: int) -> None:
        with httpx.Client(timeout=15.0) as client:
            while True:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                server = servers[(n + i) % len(servers)]
                try:
                    resp = client.post(f"{server.url}/v1/evaluate", json=call_body(i))
                    verdict = resp.json().get("verdict", f"http_{resp.status_code}")
                except httpx.HTTPError:
                    verdict = "error"
                with lock:
                    verdicts.append(verdict)
                    done = len(verdicts)
                if on_progress is not None:
                    on_progress(done)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    return verdicts


def budget_counters(url: str, prefix: str) -> dict[str, int]:
    import redis

    client = redis.Redis.from_url(url)
    try:
        return {k.decode(): int(client.get(k)) for k in client.scan_iter(f"{prefix}:budget:*")}
    finally:
        client.close()


def test_four_servers_one_redis_spend_exactly_the_budget(
    serve_cluster: Callable[[int, str, int], list[ServeProcess]], shared_redis_url: str, prefix: str
) -> None:
    """4 ``mcp serve`` processes, 32 concurrent clients, a destructive budget of 100."""
    servers = serve_cluster(4, f"{shared_redis_url}?key_prefix={prefix}", 100)
    verdicts = hammer(servers, requests=160, clients=32)
    assert len(verdicts) == 160
    assert set(verdicts) <= {"dry_run", "block"}, verdicts
    counters = budget_counters(shared_redis_url, prefix)
    assert all(count <= 100 for count in counters.values())
    assert sum(counters.values()) == verdicts.count("dry_run")
    if len(counters) == 1:  # the run did not straddle an hour boundary
        assert verdicts.count("dry_run") == 100


def test_server_killed_mid_run_loses_nothing_beyond_its_request_in_flight(
    serve_cluster: Callable[[int, str, int], list[ServeProcess]], shared_redis_url: str, prefix: str
) -> None:
    servers = serve_cluster(2, f"{shared_redis_url}?key_prefix={prefix}", 100)
    victim = servers[0]
    killed = threading.Event()

    def kill_at(done: int) -> None:
        if done >= 40 and not killed.is_set():
            killed.set()
            victim.proc.send_signal(signal.SIGKILL)

    clients = 8
    verdicts = hammer(servers, requests=200, clients=clients, on_progress=kill_at)
    assert killed.is_set()
    counters = budget_counters(shared_redis_url, prefix)
    spent = sum(counters.values())
    answered = verdicts.count("dry_run")
    assert all(count <= 100 for count in counters.values())
    # Units spent without an answer: only requests in flight on the killed server.
    assert 0 <= spent - answered <= clients
    if len(counters) == 1:
        # The surviving server spends the rest: the budget ends exactly used up.
        assert spent == 100
        assert verdicts.count("block") > 0


def test_redis_restart_mid_run_fails_closed_then_recovers(
    serve_cluster: Callable[[int, str, int], list[ServeProcess]], redis_server: Any
) -> None:
    import httpx

    servers = serve_cluster(2, redis_server.url, 1000)
    with httpx.Client(timeout=15.0) as client:

        def verdict(server: ServeProcess, i: int) -> str:
            return client.post(f"{server.url}/v1/evaluate", json=call_body(i)).json()["verdict"]

        def health(server: ServeProcess) -> dict[str, Any]:
            return client.get(f"{server.url}/healthz").json()

        assert [verdict(s, 0) for s in servers] == ["dry_run", "dry_run"]
        redis_server.kill()
        assert [verdict(s, 1) for s in servers] == ["block", "block"]
        degraded = health(servers[0])
        assert degraded["state"]["ok"] is False
        assert degraded["status"] == "degraded"
        redis_server.start()
        deadline = time.monotonic() + 20
        recovered: list[str] = []
        while time.monotonic() < deadline:
            recovered = [verdict(s, 2) for s in servers]
            if recovered == ["dry_run", "dry_run"]:
                break
            time.sleep(0.1)
        assert recovered == ["dry_run", "dry_run"]
        assert health(servers[1])["status"] == "ok"
