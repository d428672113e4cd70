"""Rate limits and destructive budgets across processes (trace.md §5.4, policy.md §8)."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gait.errors import StateContention
from gait.policy.model import Limit
from gait.state import LimitUse
from gait.state import filestore as ratelimit
from gait.state.filestore import FileStore

from .conftest import CliRunner, Keys, gate, make_intent, write_json

AT = datetime(2026, 1, 2, 3, 4, 5, 678_000, tzinfo=UTC)
NEXT_MINUTE = datetime(2026, 1, 2, 3, 5, 1, tzinfo=UTC)


def consume(path: str, lim: Limit, *, tool_name: str, identity: str, now: datetime) -> LimitUse:
    return FileStore(path).spend(lim, tool_name=tool_name, identity=identity, now=now)


@contextmanager
def held_lock(path: str) -> Iterator[None]:
    """Another holder of the state lock (an open file description with the flock)."""
    with open(path, "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def limit(requests: int = 2, window: str = "minute", scope: str = "tool_identity") -> Limit:
    return Limit(requests=requests, window=window, scope=scope)


def counters(path: Path | str) -> dict[str, int]:
    doc = json.loads(Path(path).read_text())
    return {c["key"]: c["count"] for c in doc["counters"]}


@pytest.mark.parametrize(
    ("window", "scope", "key"),
    [
        ("minute", "tool_identity", "minute|tool_identity|2026-01-02T03:04:00Z|tool.write|alice"),
        ("hour", "tool_identity", "hour|tool_identity|2026-01-02T03:00:00Z|tool.write|alice"),
        ("minute", "tool", "minute|tool|2026-01-02T03:04:00Z|tool.write"),
        ("hour", "identity", "hour|identity|2026-01-02T03:00:00Z|alice"),
    ],
)
def test_counter_key_and_bucket(window: str, scope: str, key: str) -> None:
    use = consume(
        "s.json",
        limit(window=window, scope=scope),
        tool_name="tool.write",
        identity="alice",
        now=AT,
    )
    assert use.key == key
    assert use.scope == scope
    assert counters("s.json") == {key: 1}


def test_bucket_is_utc() -> None:
    from datetime import timedelta, timezone

    local = AT.astimezone(timezone(timedelta(hours=5, minutes=30)))
    use = consume("s.json", limit(), tool_name="t", identity="i", now=local)
    assert use.key == "minute|tool_identity|2026-01-02T03:04:00Z|t|i"


def test_used_and_remaining_then_denied_without_increment() -> None:
    uses = [consume("s.json", limit(2), tool_name="t", identity="i", now=AT) for _ in range(3)]
    assert [(u.allowed, u.used, u.remaining) for u in uses] == [
        (True, 1, 1),
        (True, 2, 0),
        (False, 2, 0),
    ]
    assert list(counters("s.json").values()) == [2]


def test_scopes_count_separately() -> None:
    consume("s.json", limit(1), tool_name="t", identity="alice", now=AT)
    assert consume("s.json", limit(1), tool_name="t", identity="bob", now=AT).allowed
    assert not consume("s.json", limit(1), tool_name="t", identity="alice", now=AT).allowed
    by_identity = limit(1, scope="identity")
    assert consume("s.json", by_identity, tool_name="t", identity="alice", now=AT).allowed


def test_window_rollover_drops_old_buckets() -> None:
    consume("s.json", limit(1), tool_name="t", identity="i", now=AT)
    assert not consume("s.json", limit(1), tool_name="t", identity="i", now=AT).allowed
    use = consume("s.json", limit(1), tool_name="t", identity="i", now=NEXT_MINUTE)
    assert use.allowed and use.used == 1
    assert counters("s.json") == {"minute|tool_identity|2026-01-02T03:05:00Z|t|i": 1}


def test_rollover_keeps_other_windows_and_drops_malformed_keys() -> None:
    consume("s.json", limit(5, window="hour"), tool_name="t", identity="i", now=AT)
    doc = json.loads(Path("s.json").read_text())
    doc["counters"].append({"key": "garbage", "count": 3})
    doc["counters"].append({"key": "minute|tool|2026-01-02T03:03:00Z|t", "count": 9})
    Path("s.json").write_text(json.dumps(doc))
    consume("s.json", limit(5), tool_name="t", identity="i", now=AT)
    assert counters("s.json") == {
        "hour|tool_identity|2026-01-02T03:00:00Z|t|i": 1,
        "minute|tool_identity|2026-01-02T03:04:00Z|t|i": 1,
    }


def test_state_file_format() -> None:
    consume("dir/s.json", limit(3), tool_name="b", identity="i", now=AT)
    consume("dir/s.json", limit(3), tool_name="a", identity="i", now=AT)
    consume("dir/s.json", limit(3), tool_name="a", identity="i", now=AT)
    text = Path("dir/s.json").read_text()
    assert text.endswith("}\n")
    assert text.startswith('{\n  "schema_id"')
    assert json.loads(text) == {
        "schema_id": "gait.gate.rate_limit_state",
        "schema_version": "1.0.0",
        "counters": [
            {"key": "minute|tool_identity|2026-01-02T03:04:00Z|a|i", "count": 2},
            {"key": "minute|tool_identity|2026-01-02T03:04:00Z|b|i", "count": 1},
        ],
    }
    assert not Path("dir/s.json.lock").exists()


def test_leftover_lock_file_of_a_dead_holder_is_not_a_lock() -> None:
    """The OS drops a flock when its holder dies; a file left behind blocks nobody."""
    lock = Path("s.json.lock")
    lock.write_text("{}")
    use = consume("s.json", limit(), tool_name="t", identity="i", now=AT)
    assert use.allowed
    assert not lock.exists()


def test_held_lock_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ratelimit, "LOCK_TIMEOUT_SECONDS", 0.1)
    started = time.monotonic()
    with held_lock("s.json.lock"):
        with pytest.raises(StateContention, match="acquire rate limit lock: timeout"):
            consume("s.json", limit(), tool_name="t", identity="i", now=AT)
        assert Path("s.json.lock").exists()  # someone else's lock is left alone
    assert time.monotonic() - started < 2
    assert not Path("s.json").exists()


RATE_POLICY = """
schema_id: gait.gate.policy
schema_version: 1.0.0
default_verdict: block
rules:
  - name: writes
    effect: allow
    match:
      tool_names: [tool.write]
    rate_limit: {requests: 1, window: hour, scope: tool}
"""

BUDGET_POLICY = """
schema_id: gait.gate.policy
schema_version: 1.0.0
default_verdict: block
rules:
  - name: deletes
    effect: allow
    match:
      tool_names: [tool.delete]
    destructive_budget: {requests: 1}
"""


def delete_intent(phase: str = "plan") -> dict:
    return make_intent(
        "tool.delete",
        targets=[{"kind": "path", "value": "/w/db", "operation": "delete"}],
        identity="alice",
        phase=phase,
    )


def test_gate_rate_limit_exceeded_blocks(keys: Keys) -> None:
    first = gate(RATE_POLICY, make_intent(), keys, rate_limit_state="rl.json", write_trace=False)
    assert first.verdict == "allow"
    assert first.outputs["rate_limit_used"] == 1
    assert first.outputs["rate_limit_remaining"] == 0
    assert first.outputs["rate_limit_scope"] == "tool"
    assert first.outputs["rate_limit_key"].startswith("hour|tool|")
    payload = first.to_payload("standard")
    assert payload["rate_limit_remaining"] == 0  # a zero that matters is still reported
    second = gate(RATE_POLICY, make_intent(), keys, rate_limit_state="rl.json", write_trace=False)
    assert second.verdict == "block"
    assert second.exit_code == 3
    assert "rate_limit_exceeded" in second.reason_codes
    assert second.violations == ["rate_limit_exceeded"]


def test_rate_limit_counts_blocked_calls(keys: Keys) -> None:
    policy = RATE_POLICY.replace("effect: allow", "effect: block")
    for _ in range(2):
        gate(policy, make_intent(), keys, rate_limit_state="rl.json", write_trace=False)
    assert list(counters("rl.json").values()) == [1]
    third = gate(policy, make_intent(), keys, rate_limit_state="rl.json", write_trace=False)
    assert "rate_limit_exceeded" in third.reason_codes


def test_destructive_budget_key_and_exhaustion(keys: Keys) -> None:
    first = gate(BUDGET_POLICY, delete_intent(), keys, rate_limit_state="b.json", write_trace=False)
    assert first.verdict == "dry_run"
    key = first.outputs["destructive_budget_key"]
    assert key.startswith("minute|tool_identity|")
    assert key.endswith("|destructive_budget|tool.delete|alice")
    assert first.outputs["destructive_budget_used"] == 1
    second = gate(
        BUDGET_POLICY, delete_intent(), keys, rate_limit_state="b.json", write_trace=False
    )
    assert second.verdict == "block"
    assert "destructive_budget_exceeded" in second.reason_codes
    assert second.violations == ["destructive_budget_exceeded"]


def test_destructive_budget_ignores_non_destructive_calls(keys: Keys) -> None:
    intent = make_intent(
        "tool.delete", targets=[{"kind": "path", "value": "/w/a", "operation": "read"}]
    )
    for _ in range(3):
        result = gate(BUDGET_POLICY, intent, keys, rate_limit_state="b.json", write_trace=False)
        assert result.verdict == "allow"
        assert "destructive_budget_key" not in result.outputs
    assert not Path("b.json").exists()


def test_default_state_path(keys: Keys) -> None:
    gate(RATE_POLICY, make_intent(), keys, write_trace=False)
    assert Path(".gait-out/gate_rate_limits.json").is_file()


def test_lock_timeout_exits_1(cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ratelimit, "LOCK_TIMEOUT_SECONDS", 0.1)
    Path("policy.yaml").write_text(RATE_POLICY)
    write_json("intent.json", make_intent())
    with held_lock("rl.json.lock"):
        code, out = cli(
            "gate", "eval", "--policy", "policy.yaml", "--intent", "intent.json",
            "--rate-limit-state", "rl.json", "--json",
        )  # fmt: skip
    assert code == 1
    assert out["ok"] is False
    assert out["error"] == "acquire rate limit lock: timeout"
    assert out["retryable"] is True
    assert not list(Path().glob("trace_*.json"))


def test_concurrent_processes_share_the_last_unit(tmp_path: Path) -> None:
    """N real ``gate eval`` processes race for a budget of one: exactly one passes."""
    # An hour window: a minute boundary during the race must not open a second bucket.
    Path("policy.yaml").write_text(
        BUDGET_POLICY.replace("{requests: 1}", "{requests: 1, window: hour}")
    )
    write_json("intent.json", delete_intent())
    env = {**os.environ, "GAIT_CACHE_DIR": str(tmp_path / ".cache")}
    # Warm the compile cache so the racers spend their time on the budget, not compiling.
    from gait.policy.compiler import compile_policy_file

    compile_policy_file("policy.yaml")
    n = 8
    procs = [
        subprocess.Popen(
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
                "--rate-limit-state",
                "state/budget.json",
                "--trace-out",
                f"traces/t{i}.json",
                "--json",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for i in range(n)
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        results.append((proc.returncode, json.loads(out), err))
    passed = [r for r in results if r[0] == 0]
    blocked = [r for r in results if r[0] == 3]
    assert len(passed) == 1, results
    assert len(blocked) == n - 1, results
    assert passed[0][1]["verdict"] == "dry_run"
    assert passed[0][1]["destructive_budget_used"] == 1
    for _code, out, _err in blocked:
        assert out["verdict"] == "block"
        assert "destructive_budget_exceeded" in out["reason_codes"]
    assert list(counters("state/budget.json").values()) == [1]
    assert not Path("state/budget.json.lock").exists()
