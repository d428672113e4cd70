"""``mcp serve`` session journals and trace retention shared by several servers on one Redis."""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from gait.runpack.session import chain_path_for, read_journal, verify_chain
from tests.serve_process import ServeProcess

SERVE_ENV = {"PYTHONDONTWRITEBYTECODE": "1"}

POLICY = """
schema_id: gait.gate.policy
schema_version: 1.0.0
default_verdict: block
rules:
  - name: reads
    effect: allow
    match:
      tool_names: [tool.read]
"""


@pytest.fixture
def two_servers(
    tmp_path: Path, shared_redis_url: str, prefix: str
) -> Iterator[Callable[[list[str]], list[ServeProcess]]]:
    pytest.importorskip("uvicorn")
    started: list[ServeProcess] = []
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    sep = "&" if "?" in shared_redis_url else "?"
    state = f"{shared_redis_url}{sep}key_prefix={prefix}"

    def start(extra: list[str]) -> list[ServeProcess]:
        args = ["--policy", str(policy), "--listen", "127.0.0.1:0", "--state", state, *extra]
        with ThreadPoolExecutor(max_workers=2) as pool:
            servers = list(
                pool.map(
                    lambda _i: ServeProcess(tmp_path, args, SERVE_ENV, start_timeout=60.0), range(2)
                )
            )
        started.extend(servers)
        return servers

    yield start
    for server in started:
        server.stop()


def body(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "run_id": "shared",
        "call": {
            "name": "tool.read",
            "args": {"path": f"/w/f{i}"},
            "targets": [{"kind": "path", "value": f"/w/f{i}", "operation": "read"}],
            "context": {"identity": "alice", "workspace": "/w", "phase": "plan"},
        },
        **extra,
    }


def post_all(servers: list[ServeProcess], count: int, clients: int, **extra: Any) -> list[dict]:
    import httpx

    def one(i: int) -> dict[str, Any]:
        with httpx.Client(timeout=20.0) as client:
            resp = client.post(
                f"{servers[i % len(servers)].url}/v1/evaluate", json=body(i, **extra)
            )
            assert resp.status_code == 200, resp.text
            return resp.json()

    with ThreadPoolExecutor(max_workers=clients) as pool:
        return list(pool.map(one, range(count)))


def test_two_servers_one_session_get_unique_gapless_sequences(
    two_servers: Callable[[list[str]], list[ServeProcess]],
    tmp_path: Path,
    shared_redis_url: str,
    prefix: str,
) -> None:
    sessions, runpacks = tmp_path / "sessions", tmp_path / "runpacks"
    servers = two_servers(
        ["--session-dir", str(sessions), "--runpack-dir", str(runpacks), "--trace-dir", "traces"]
    )
    results = post_all(servers, 40, 8, session_id="team-one", checkpoint_interval=10)
    assert all(r["verdict"] == "allow" for r in results)
    sequences = sorted(
        int(w.split("sequence=")[1])
        for r in results
        for w in r.get("warnings", [])
        if w.startswith("session_journal=")
    )
    assert sequences == list(range(1, 41))
    import redis

    client = redis.Redis.from_url(shared_redis_url)
    try:
        counters = [int(client.get(k)) for k in client.scan_iter(f"{prefix}:sequence:*")]
    finally:
        client.close()
    assert counters == [40]  # the numbers came from the store
    journal = read_journal(str(sessions / "team-one.journal.jsonl"))
    assert [e["sequence"] for e in journal.events] == list(range(1, 41))
    assert len(journal.checkpoints) == 4
    chain = verify_chain(chain_path_for(str(sessions / "team-one.journal.jsonl")))
    assert chain["ok"] is True, chain


def test_retention_with_two_servers_keeps_the_newest_traces(
    two_servers: Callable[[list[str]], list[ServeProcess]], tmp_path: Path
) -> None:
    traces = tmp_path / "traces"
    servers = two_servers(["--trace-dir", str(traces), "--trace-max-count", "5"])
    post_all(servers, 40, 8)
    # Sequential tail: these five are the newest files, so the policy keeps exactly them.
    tail = post_all(servers, 5, 1)
    expected = sorted(os.path.basename(r["trace_path"]) for r in tail)
    assert sorted(p.name for p in traces.iterdir() if not p.name.startswith(".")) == expected


def test_a_recreated_journal_numbers_from_one_again(
    redis_pair: tuple[Any, Any], tmp_path: Path
) -> None:
    from gait.serve.sessions import journal_decision

    store = redis_pair[0]

    def append() -> int:
        warnings = journal_decision(
            session_id="s",
            run_id="r",
            session_dir=str(tmp_path),
            journal_path="",
            runpack_dir="",
            checkpoint_interval=0,
            event={"tool_name": "tool.read", "verdict": "allow"},
            store=store,
        )
        return int(warnings[0].rsplit("sequence=", 1)[1])

    assert [append(), append()] == [1, 2]
    (tmp_path / "s.journal.jsonl").unlink()  # e.g. session retention removed it
    time.sleep(1.1)  # a new header (created_at has second resolution)
    assert [append(), append()] == [1, 2]


# ---- the store primitives ---------------------------------------------------------------


@pytest.fixture
def redis_pair(shared_redis_url: str, prefix: str) -> Iterator[tuple[Any, Any]]:
    from gait.state import open_store

    sep = "&" if "?" in shared_redis_url else "?"
    a = open_store(f"{shared_redis_url}{sep}key_prefix={prefix}")
    b = open_store(f"{shared_redis_url}{sep}key_prefix={prefix}")
    try:
        yield a, b
    finally:
        a.close()
        b.close()


def test_next_sequence_is_unique_across_clients_and_respects_the_floor(
    redis_pair: tuple[Any, Any],
) -> None:
    a, b = redis_pair
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda i: (a, b)[i % 2].next_sequence("s", 1), range(50)))
    assert sorted(got) == list(range(1, 51))
    # A journal appended elsewhere (floor 80) moves the counter on, never back.
    assert b.next_sequence("s", 80) == 80
    assert a.next_sequence("s", 1) == 81


def test_lease_is_exclusive_and_released(redis_pair: tuple[Any, Any]) -> None:
    a, b = redis_pair
    with a.lease("dir", ttl=5, wait=0) as held:
        assert held is True
        with b.lease("dir", ttl=5, wait=0.05) as other:
            assert other is False
    with b.lease("dir", ttl=5, wait=0) as again:
        assert again is True


def test_an_expired_lease_is_not_released_by_its_old_holder(redis_pair: tuple[Any, Any]) -> None:
    a, b = redis_pair
    with contextlib.ExitStack() as b_side:
        with a.lease("short", ttl=0.05, wait=0) as held:
            assert held is True
            time.sleep(0.15)  # a's lease expires while a still "works"
            assert b_side.enter_context(b.lease("short", ttl=5, wait=0)) is True
        # a's exit must not have deleted b's lease.
        with a.lease("short", ttl=5, wait=0) as late:
            assert late is False


def test_file_store_keeps_local_numbering(tmp_path: Path) -> None:
    from gait.serve.sessions import journal_decision
    from gait.state import open_store

    store = open_store(str(tmp_path / "limits.json"))
    event = {"tool_name": "tool.read", "verdict": "allow"}
    assert store.next_sequence("x", 7) is None
    for expected in (1, 2):
        warnings = journal_decision(
            session_id="s",
            run_id="r",
            session_dir=str(tmp_path),
            journal_path="",
            runpack_dir="",
            checkpoint_interval=0,
            event=event,
            store=store,
        )
        assert warnings[0].endswith(f"sequence={expected}")


# ---- Redis down: nothing deleted, no journal entry without a number ---------------------


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_redis_down_skips_retention_and_rejects_the_journal_append(tmp_path: Path) -> None:
    from gait.serve.config import RetentionRule, ServeConfig
    from gait.serve.request import decode_request
    from gait.serve.service import DecisionService, RequestRejected

    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    traces = tmp_path / "traces"
    traces.mkdir()
    for n in range(3):
        (traces / f"trace_old{n}.json").write_text("{}")
    config = ServeConfig(
        policy=str(policy),
        trace_dir=str(traces),
        session_dir=str(tmp_path / "sessions"),
        retention={"trace": RetentionRule(max_count=1)},
        state=f"redis://127.0.0.1:{_free_port()}/0",
    )
    service = DecisionService(config)
    try:
        status, payload = service.evaluate(decode_request(json.dumps(body(1)).encode()))
        assert status == 200 and payload["verdict"] == "allow"
        assert "retention_trace_skipped=state_unavailable" in payload["warnings"]
        assert len(list(traces.glob("trace_old*.json"))) == 3  # nothing deleted
        with pytest.raises(RequestRejected) as err:
            service.evaluate(decode_request(json.dumps(body(2, session_id="s")).encode()))
        assert err.value.status == 400
        assert err.value.message.startswith("session journal: ")
        assert "unavailable" in err.value.message
        journal = tmp_path / "sessions" / "s.journal.jsonl"
        assert not journal.exists() or read_journal(str(journal)).events == []
    finally:
        service.close()
