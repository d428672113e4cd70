"""The gate over a shared store: budgets, single-use approvals, fail closed, recovery."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gait.gate import Gate, GateOptions, GateResult
from gait.gate.tokens import mint_approval
from gait.intent import Intent, normalize_intent
from gait.policy.compiler import CompiledPolicy, compile_policy
from gait.signing import KeyPair, key_id_for

from .redis_server import RedisServer

POLICY = """
schema_id: gait.gate.policy
schema_version: 1.0.0
default_verdict: block
rules:
  - name: deletes
    effect: allow
    match:
      tool_names: [tool.delete]
    destructive_budget: {requests: 3, window: hour}
  - name: reads
    effect: allow
    match:
      tool_names: [tool.read]
  - name: writes
    effect: require_approval
    match:
      tool_names: [tool.write]
"""


def server_key() -> KeyPair:
    """The signing key every decision server of one deployment shares."""
    private = Ed25519PrivateKey.from_private_bytes(bytes([7]) * 32)
    probe = KeyPair(private.public_key(), private, "", "test")
    return KeyPair(probe.public, private, key_id_for(probe.public_bytes), "test")


@pytest.fixture(scope="module")
def compiled() -> CompiledPolicy:
    return compile_policy(POLICY)


def intent(tool: str, operation: str = "read", phase: str = "apply") -> Intent:
    return normalize_intent(
        {
            "schema_id": "gait.gate.intent_request",
            "schema_version": "1.0.0",
            "created_at": "2026-02-18T00:00:00Z",
            "tool_name": tool,
            "args": {"path": "/w/db"},
            "targets": [{"kind": "path", "value": "/w/db", "operation": operation}],
            "arg_provenance": [{"arg_path": "$.path", "source": "user"}],
            "context": {
                "identity": "alice",
                "workspace": "/w",
                "risk_class": "medium",
                "phase": phase,
            },
        }
    )


DELETE = intent("tool.delete", "delete", "plan")  # a destructive plan: dry_run
READ = intent("tool.read")
WRITE = intent("tool.write", "write")


def make_gate(compiled: CompiledPolicy, state: str, **options: Any) -> Gate:
    return Gate(compiled, GateOptions(state=state, **options), signing_key=server_key())


def decide(gate: Gate, call: Intent, **kw: Any) -> GateResult:
    return gate.decide(call, write_trace=False, **kw)


@pytest.fixture
def servers(
    compiled: CompiledPolicy, shared_redis_url: str, prefix: str
) -> Iterator[tuple[Gate, Gate]]:
    url = f"{shared_redis_url}?key_prefix={prefix}"
    a, b = make_gate(compiled, url), make_gate(compiled, url)
    try:
        yield a, b
    finally:
        a.close()
        b.close()


def test_two_servers_spend_one_budget(servers: tuple[Gate, Gate]) -> None:
    a, b = servers
    verdicts = [decide(g, DELETE) for g in (a, b, a, b, a)]
    assert [r.verdict for r in verdicts] == ["dry_run", "dry_run", "dry_run", "block", "block"]
    assert [r.outputs["destructive_budget_used"] for r in verdicts] == [1, 2, 3, 3, 3]
    assert verdicts[3].reason_codes.count("destructive_budget_exceeded") == 1
    assert verdicts[3].violations == ["destructive_budget_exceeded"]
    key = verdicts[0].outputs["destructive_budget_key"]
    assert key.startswith("hour|tool_identity|") and key.endswith("|tool.delete|alice")


def approval_token(result: GateResult, approver: str = "alice") -> dict[str, Any]:
    return mint_approval(
        server_key(),
        intent_digest=result.decision.intent_digest,
        policy_digest=result.decision.policy_digest,
        approver=approver,
        reason_code="CHG-1",
        scope=["tool:tool.write"],
        ttl_nanos=3600 * 1_000_000_000,
    )


def test_approval_token_cannot_be_replayed_on_another_server(
    servers: tuple[Gate, Gate],
) -> None:
    a, b = servers
    probe = decide(a, WRITE)
    assert probe.verdict == "require_approval"
    token = approval_token(probe)
    first = decide(a, WRITE, approval_tokens=[token])
    assert first.verdict == "allow"
    assert "approval_granted" in first.reason_codes
    replay = decide(b, WRITE, approval_tokens=[token])
    assert replay.verdict == "require_approval"
    assert replay.exit_code == 4
    assert "approval_token_replayed" in replay.reason_codes
    assert "approval_chain_insufficient" in replay.reason_codes
    assert replay.outputs["valid_approvals"] == 0
    # A fresh token for the same call is accepted once more.
    again = decide(b, WRITE, approval_tokens=[approval_token(probe, "bob")])
    assert again.verdict == "allow"


def test_simulate_does_not_consume_a_token(
    compiled: CompiledPolicy, shared_redis_url: str, prefix: str
) -> None:
    url = f"{shared_redis_url}?key_prefix={prefix}"
    simulated, enforcing = make_gate(compiled, url, simulate=True), make_gate(compiled, url)
    token = approval_token(decide(enforcing, WRITE))
    assert decide(simulated, WRITE, approval_tokens=[token]).simulated_verdict == "allow"
    assert decide(enforcing, WRITE, approval_tokens=[token]).verdict == "allow"
    assert decide(enforcing, WRITE, approval_tokens=[token]).verdict == "require_approval"


def test_local_file_store_keeps_reusable_tokens_by_default(compiled: CompiledPolicy) -> None:
    """The reference lets a token approve its call until it expires; the default keeps that."""
    gate = make_gate(compiled, "state.json")
    token = approval_token(decide(gate, WRITE))
    assert [decide(gate, WRITE, approval_tokens=[token]).verdict for _ in range(2)] == [
        "allow",
        "allow",
    ]


def test_file_store_single_use_on_request(compiled: CompiledPolicy) -> None:
    one, two = (
        make_gate(compiled, "state.json", single_use_approvals=True),
        make_gate(compiled, "state.json", single_use_approvals=True),
    )
    token = approval_token(decide(one, WRITE))
    assert decide(one, WRITE, approval_tokens=[token]).verdict == "allow"
    replay = decide(two, WRITE, approval_tokens=[token])
    assert replay.verdict == "require_approval"
    assert "approval_token_replayed" in replay.reason_codes
    assert Path("state.json.tokens.json").is_file()


def test_redis_down_fails_closed_only_where_state_is_needed(
    compiled: CompiledPolicy, redis_server: RedisServer
) -> None:
    gate = make_gate(compiled, redis_server.url, state_timeout=0.3)
    assert decide(gate, DELETE).verdict == "dry_run"
    assert gate.state_health()[0] is True
    token = approval_token(decide(gate, WRITE))
    redis_server.kill()

    started = time.monotonic()
    blocked = decide(gate, DELETE)
    assert blocked.verdict == "block"
    assert "state_unavailable" in blocked.reason_codes
    assert blocked.violations == ["state_unavailable"]
    assert any("unavailable" in w for w in blocked.warnings)
    assert "destructive_budget_used" not in blocked.outputs
    approval = decide(gate, WRITE, approval_tokens=[token])
    assert approval.verdict == "block"
    assert "state_unavailable" in approval.reason_codes
    # A rule with no shared state keeps deciding.
    assert decide(gate, READ).verdict == "allow"
    ok, detail = gate.state_health()
    assert ok is False and "unavailable" in detail
    assert time.monotonic() - started < 10

    redis_server.start()  # same port and data directory: the gate recovers by itself
    assert gate.state_health()[0] is True
    recovered = [decide(gate, DELETE) for _ in range(3)]
    # One unit was spent before the outage and survived the restart (append-only file).
    assert [r.verdict for r in recovered] == ["dry_run", "dry_run", "block"]
    assert recovered[0].outputs["destructive_budget_used"] == 2
    assert decide(gate, WRITE, approval_tokens=[token]).verdict == "allow"


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A TCP server that accepts connections and never answers (a hung Redis)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    stop = threading.Event()
    held: list[socket.socket] = []

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in held:
            conn.close()
        listener.close()


def test_slow_store_times_out_and_blocks(compiled: CompiledPolicy, silent_server: str) -> None:
    gate = make_gate(compiled, silent_server, state_timeout=0.2)
    started = time.monotonic()
    result = decide(gate, DELETE)
    elapsed = time.monotonic() - started
    assert result.verdict == "block"
    assert "state_unavailable" in result.reason_codes
    assert result.violations == ["state_unavailable"]
    assert elapsed < 3
    assert decide(gate, READ).verdict == "allow"
    assert gate.state_health()[0] is False


def test_racing_replays_of_one_token_grant_exactly_once(
    compiled: CompiledPolicy, shared_redis_url: str, prefix: str
) -> None:
    url = f"{shared_redis_url}?key_prefix={prefix}"
    gates = [make_gate(compiled, url) for _ in range(4)]
    token = approval_token(decide(gates[0], WRITE))
    verdicts: list[str] = []
    lock = threading.Lock()

    def worker(gate: Gate) -> None:
        for _ in range(3):
            verdict = decide(gate, WRITE, approval_tokens=[token]).verdict
            with lock:
                verdicts.append(verdict)

    threads = [threading.Thread(target=worker, args=(g,)) for g in gates]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for gate in gates:
        gate.close()
    assert len(verdicts) == 12
    assert verdicts.count("allow") == 1
    assert verdicts.count("require_approval") == 11
