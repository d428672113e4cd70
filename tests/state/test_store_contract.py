"""The StateStore contract, run against both stores: the file store and a real Redis."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gait.policy.model import Limit
from gait.state import JOURNAL_MAX, StateStore, open_store

AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
NEXT_HOUR = datetime(2026, 1, 2, 4, 0, 1, tzinfo=UTC)


@pytest.fixture(params=["file", "redis"])
def store(request: pytest.FixtureRequest, prefix: str) -> Iterator[StateStore]:
    if request.param == "file":
        s = open_store("state/limits.json")
    else:
        url = request.getfixturevalue("shared_redis_url")
        s = open_store(f"{url}?key_prefix={prefix}")
    try:
        yield s
    finally:
        s.close()


def hour_limit(requests: int) -> Limit:
    return Limit(requests=requests, window="hour", scope="tool_identity")


def test_spend_counts_then_denies_without_increment(store: StateStore) -> None:
    uses = [
        store.spend(hour_limit(2), tool_name="t", identity="i", now=AT, namespace="p:r")
        for _ in range(3)
    ]
    assert [(u.allowed, u.used, u.remaining) for u in uses] == [
        (True, 1, 1),
        (True, 2, 0),
        (False, 2, 0),
    ]
    assert uses[0].key == "hour|tool_identity|2026-01-02T03:00:00Z|t|i"


def test_new_window_starts_a_new_count(store: StateStore) -> None:
    store.spend(hour_limit(1), tool_name="t", identity="i", now=AT)
    assert not store.spend(hour_limit(1), tool_name="t", identity="i", now=AT).allowed
    assert store.spend(hour_limit(1), tool_name="t", identity="i", now=NEXT_HOUR).allowed


def test_threads_never_overspend(store: StateStore) -> None:
    allowed: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(5):
            use = store.spend(hour_limit(25), tool_name="t", identity="i", now=AT)
            with lock:
                allowed.append(use.allowed)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(allowed) == 40
    assert allowed.count(True) == 25


def test_claim_tokens_all_or_none(store: StateStore) -> None:
    assert store.claim_tokens(["a", "b"], expires_at=2_000_000_000, now=1_000) == set()
    # "b" was used: nothing of this set is recorded, and "b" is reported.
    assert store.claim_tokens(["b", "c"], expires_at=2_000_000_000, now=1_000) == {"b"}
    assert store.claim_tokens(["c"], expires_at=2_000_000_000, now=1_000) == set()
    assert store.claim_tokens(["a", "c"], expires_at=2_000_000_000, now=1_000) == {"a", "c"}
    assert store.claim_tokens([], expires_at=2_000_000_000, now=1_000) == set()


def test_claim_tokens_race_has_one_winner(store: StateStore) -> None:
    wins: list[bool] = []

    def worker() -> None:
        wins.append(not store.claim_tokens(["tok"], expires_at=2_000_000_000, now=1_000))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert wins.count(True) == 1
    assert len(wins) == 8


def test_journal_append_and_read_recent(store: StateStore) -> None:
    for i in range(5):
        assert store.journal_append("sess-1", {"i": i, "tool": "t"}) == i + 1
    store.journal_append("sess-2", {"i": 99})
    assert store.journal_read("sess-1", 3) == [{"i": 2, "tool": "t"}, {"i": 3, "tool": "t"},
                                               {"i": 4, "tool": "t"}]  # fmt: skip
    assert store.journal_read("sess-2") == [{"i": 99}]
    assert store.journal_read("nobody") == []
    assert store.journal_read("sess-1", 0) == []


def test_journal_keeps_the_newest_entries(store: StateStore) -> None:
    assert store.journal_max == JOURNAL_MAX
    cap = store.journal_max = 20
    for i in range(3 * cap + 3):
        length = store.journal_append("long", {"i": i})
    assert length == cap
    recent = store.journal_read("long", cap + 10)
    assert len(recent) == cap
    assert recent[0] == {"i": 2 * cap + 3}
    assert recent[-1] == {"i": 3 * cap + 2}


def test_health_reports_ok(store: StateStore) -> None:
    ok, detail = store.health()
    assert ok is True
    assert detail


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    requests=st.integers(min_value=1, max_value=6),
    calls=st.lists(st.sampled_from(["a", "b"]), min_size=1, max_size=12),
)
def test_spend_never_exceeds_the_limit(tmp_path: Path, requests: int, calls: list[str]) -> None:
    """Any sequence of spends: per key, allowed = min(calls, requests); used counts them."""
    store = open_store(str(tmp_path / f"p{uuid.uuid4().hex}.json"))
    allowed: dict[str, int] = {}
    for identity in calls:
        use = store.spend(hour_limit(requests), tool_name="t", identity=identity, now=AT)
        if use.allowed:
            allowed[identity] = allowed.get(identity, 0) + 1
            assert use.used == allowed[identity]
            assert use.remaining == requests - use.used
        else:
            assert use.used == requests and use.remaining == 0
    for identity in set(calls):
        assert allowed.get(identity, 0) == min(calls.count(identity), requests)
