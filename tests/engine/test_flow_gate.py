"""Flow rules through the Gate facade: the session journal in a file store and in Redis."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from gait.gate import Gate, GateOptions
from gait.intent import normalize_intent
from gait.policy import compile_policy

from .conftest import make_intent
from .test_flow import FLOW_POLICY


def _intent(tool: str, value: str, cls: str, *, sens: str = "", session: str = "s-1"):
    kind = "url" if cls.startswith("net.") else "path"
    target = {"kind": kind, "value": value, "endpoint_class": cls}
    if sens:
        target["sensitivity"] = sens
    return normalize_intent(
        make_intent(
            tool_name=tool, args={"x": value}, targets=[target], context={"session_id": session}
        )
    )


def _gate(state: str, **kw) -> Gate:
    return Gate(compile_policy(FLOW_POLICY, use_cache=False), GateOptions(state=state, **kw))


def test_window_counts_from_the_decision_time(tmp_path: Path) -> None:
    gate = _gate(str(tmp_path / "state.json"))
    read = gate.decide(
        _intent("fs.read", "/k", "fs.read", sens="secret"),
        write_trace=False,
        now="2026-01-01T00:00:00Z",
    )
    assert read.verdict == "allow"
    egress = _intent("http.post", "https://x.example/u", "net.http")
    inside = gate.decide(egress, write_trace=False, now="2026-01-01T00:09:59Z")
    assert inside.verdict == "block"
    assert inside.decision.flow_refs == (read.trace["event_id"],)
    assert inside.trace["flow_refs"] == [read.trace["event_id"]]
    # the blocked egress is not history; past the 10m window the read no longer counts
    later = gate.decide(egress, write_trace=False, now="2026-01-01T00:10:01Z")
    assert later.verdict == "allow"
    assert "flow_refs" not in later.trace
    from gait.state import open_store

    journal = open_store(str(tmp_path / "state.json")).journal_read("s-1", limit=10)
    assert [e["tool_name"] for e in journal] == ["fs.read", "http.post"]


def test_no_journal_for_policies_without_flow_rules(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    gate = Gate(
        compile_policy("default_verdict: allow\n", use_cache=False), GateOptions(state=str(state))
    )
    assert gate.decide(_intent("fs.read", "/k", "fs.read"), write_trace=False).verdict == "allow"
    assert not (tmp_path / "state.json.sessions").exists()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_store_fails_closed_for_flow_rules_only() -> None:
    gate = _gate(f"redis://127.0.0.1:{_closed_port()}/0", state_timeout=0.2)
    out = gate.decide(_intent("http.post", "https://x.example/u", "net.http"), write_trace=False)
    assert out.verdict == "block"
    assert out.reason_codes == ["state_unavailable"]
    assert out.warnings


def test_redis_journal(tmp_path: Path) -> None:
    from tests.state.redis_server import RedisServer, require_redis_server

    try:
        require_redis_server()
    except pytest.skip.Exception:
        pytest.fail("redis-server is required for the flow-rule Redis test")
    server = RedisServer(tmp_path / "redis").start()
    try:
        gate = _gate(server.url)
        gate.decide(_intent("fs.read", "/repo/a.txt", "fs.read"), write_trace=False)
        other = _gate(server.url)  # a second gate process sharing the store
        delete = _intent("fs.delete", "/repo/a.txt", "fs.delete")
        out = other.decide(delete, write_trace=False)
        assert out.decision.matched_rules == ("delete-after-read",)
        fresh = other.decide(
            _intent("fs.delete", "/repo/a.txt", "fs.delete", session="s-2"), write_trace=False
        )
        assert fresh.verdict == "block"
        assert fresh.decision.matched_rules == ("no-blind-delete",)
    finally:
        server.stop()


def test_a_truncated_journal_blocks_rules_that_look_past_it(tmp_path: Path) -> None:
    """Calls the journal cap dropped may be the ones a rule needs: that rule blocks."""
    from gait.state import open_store

    store = open_store(str(tmp_path / "state.json"))
    store.journal_max = 3
    gate = Gate(
        compile_policy(FLOW_POLICY, use_cache=False),
        GateOptions(state=str(tmp_path / "state.json")),
        store=store,
    )
    read = gate.decide(
        _intent("fs.read", "/k", "fs.read", sens="secret"),
        write_trace=False,
        now="2026-01-01T00:00:00Z",
    )
    assert read.verdict == "allow"
    for second in range(1, 4):  # three more allowed calls push the secret read out
        other = _intent("fs.read", f"/pub{second}", "fs.read")
        assert (
            gate.decide(other, write_trace=False, now=f"2026-01-01T00:00:0{second}Z").verdict
            == "allow"
        )
    assert [e["tool_name"] for e in store.journal_read("s-1", limit=3)] == ["fs.read"] * 3
    egress = _intent("http.post", "https://x.example/u", "net.http")
    out = gate.decide(egress, write_trace=False, now="2026-01-01T00:00:05Z")
    assert out.verdict == "block"
    assert out.reason_codes == ["flow_history_unavailable"]
    # Still unknown while the 10m window reaches before the oldest kept call (00:00:01).
    edge = gate.decide(egress, write_trace=False, now="2026-01-01T00:10:00Z")
    assert edge.reason_codes == ["flow_history_unavailable"]
    # Once the kept journal covers the whole window, it is decided from it as usual.
    late = gate.decide(egress, write_trace=False, now="2026-01-01T00:10:04Z")
    assert late.verdict == "allow"
