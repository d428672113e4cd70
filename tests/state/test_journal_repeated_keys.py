"""Session journals in shared state are read as untrusted input (issue 11 A6).

Another local process (file store) or any client of the Redis (Redis store) can
write a journal entry; flow rules decide verdicts from it. An entry with a key
repeated, or repeated in another case, is refused naming the key, in both stores.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gait.safejson import DuplicateKey
from gait.state import StateStore, open_store

REPEATED = [
    (b'{"tool":"t","verdict":"block","verdict":"allow"}', "duplicate key 'verdict'"),
    (b'{"tool":"t","verdict":"block","Verdict":"allow"}', "duplicate key 'Verdict' (also"),
]


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


def _overwrite_last_entry(store: StateStore, session_id: str, line: bytes) -> None:
    if getattr(store, "shared", False):  # Redis: the journal is a list of JSON strings
        store._client.lset(store._journal_key(session_id), -1, line)  # type: ignore[attr-defined]
        return
    path = store.journal_path(session_id)  # type: ignore[attr-defined]
    kept = path.read_bytes().splitlines()[:-1]
    path.write_bytes(b"".join(k + b"\n" for k in [*kept, line]))


@pytest.mark.parametrize(("line", "named"), REPEATED)
def test_journal_entry_with_a_repeated_key_is_refused(
    store: StateStore, line: bytes, named: str
) -> None:
    store.journal_append("s1", {"tool": "t", "verdict": "allow"})
    store.journal_append("s1", {"tool": "t", "verdict": "allow"})
    assert store.journal_read("s1") == [{"tool": "t", "verdict": "allow"}] * 2
    _overwrite_last_entry(store, "s1", line)
    with pytest.raises(DuplicateKey) as err:
        store.journal_read("s1")
    assert named in err.value.message
    assert err.value.message.startswith("parse session journal")
