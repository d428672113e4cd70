"""The local state store: JSON files under one OS file lock (trace.md §5.4).

The counters file keeps the spec's format, so state written by one ``gate eval``
is read by the next. Exclusion uses ``fcntl.flock`` on ``<state>.lock``: the
kernel drops the lock when its holder dies (even on ``kill -9``), so there is
no stale-lock guessing and no unit is lost to a crashed process.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from gait.canonical import sha256_hex
from gait.errors import InvalidInput, StateContention
from gait.fsutil import atomic_write
from gait.policy.model import Limit
from gait.safejson import loads
from gait.state.base import JOURNAL_MAX, LimitUse, StateStore, counter_key

if TYPE_CHECKING:
    from pathlib import Path  # loaded on first use of FileStore.path: most gate evals never
    # count anything, and pathlib (with urllib.parse, ipaddress) costs a one-shot ~3 ms

STATE_SCHEMA = "gait.gate.rate_limit_state"
LOCK_SCHEMA = "gait.gate.rate_limit_lock"
TOKENS_SCHEMA = "gait.state.approval_token_uses"
JOURNAL_SCHEMA = "gait.state.session_journal_entry"
LOCK_RETRY_SECONDS = 0.015
LOCK_TIMEOUT_SECONDS = 3.0


class FileLock:
    """An exclusive ``flock`` on ``<state>.lock``, removed on release.

    After locking we check the path still names the inode we locked: a holder
    that unlinked it on release may have raced us, and then we retry.
    """

    def __init__(self, state_path: Path) -> None:
        self.path = state_path.with_name(state_path.name + ".lock")
        self._fd = -1

    def __enter__(self) -> FileLock:
        deadline = time.monotonic() + LOCK_TIMEOUT_SECONDS
        while True:
            fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                if time.monotonic() >= deadline:
                    raise StateContention("acquire rate limit lock: timeout") from None
                time.sleep(LOCK_RETRY_SECONDS)
                continue
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
            self._fd = fd
            body = {
                "schema_id": LOCK_SCHEMA,
                "schema_version": "1.0.0",
                "pid": os.getpid(),
                "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            }
            os.ftruncate(fd, 0)
            os.write(fd, json.dumps(body).encode())
            return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.path.unlink(missing_ok=True)
        finally:
            os.close(self._fd)
            self._fd = -1


def _read_json(path: Path, what: str) -> Any:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as err:
        raise InvalidInput(f"read {what}: {err}") from err
    # Another local process may write this file and its counts decide verdicts: it is
    # read as untrusted input (a repeated key is refused, naming it; so is deep nesting).
    return loads(data, f"parse {what} {path}") if data.strip() else {}


def _write_json(path: Path, doc: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, (json.dumps(doc, indent=2) + "\n").encode())


class FileStore(StateStore):
    """State in files next to ``path`` (the counters file of trace.md §5.4).

    ``<path>`` counters, ``<path>.tokens.json`` consumed approval tokens,
    ``<path>.sessions/<digest>.jsonl`` session journals; one lock for all.
    """

    shared = False

    def __init__(self, path: str | Path, *, journal_max: int = JOURNAL_MAX) -> None:
        self._given = path
        self._path: Path | None = None
        self.journal_max = journal_max

    @property
    def path(self) -> Path:
        if self._path is None:
            from pathlib import Path

            self._path = Path(self._given)
        return self._path

    @property
    def location(self) -> str:
        return str(self.path)

    def _lock(self) -> FileLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return FileLock(self.path)

    def load_counters(self) -> dict[str, int]:
        doc = _read_json(self.path, "rate limit state")
        counters: dict[str, int] = {}
        for entry in doc.get("counters", []) if isinstance(doc, dict) else []:
            if isinstance(entry, dict) and isinstance(entry.get("key"), str):
                count = entry.get("count")
                if isinstance(count, int) and not isinstance(count, bool) and count >= 0:
                    counters[entry["key"]] = count
        return counters

    def _save_counters(self, counters: dict[str, int]) -> None:
        _write_json(
            self.path,
            {
                "schema_id": STATE_SCHEMA,
                "schema_version": "1.0.0",
                "counters": [{"key": k, "count": counters[k]} for k in sorted(counters)],
            },
        )

    def spend(
        self,
        limit: Limit,
        *,
        tool_name: str,
        identity: str,
        now: datetime,
        namespace: str = "",
    ) -> LimitUse:
        # The spec's file has one flat counter space; ``namespace`` is for shared stores.
        key = counter_key(limit, tool_name=tool_name, identity=identity, now=now)
        bucket = key.split("|", 3)[2]
        with self._lock():
            counters = self.load_counters()
            for existing in list(counters):
                parts = existing.split("|", 3)
                if len(parts) != 4:
                    del counters[existing]
                elif parts[0] == limit.window and parts[2] != bucket:
                    del counters[existing]
            count = counters.get(key, 0)
            if count >= limit.requests:
                return LimitUse(False, limit.scope, key, count, 0)
            counters[key] = count + 1
            self._save_counters(counters)
            return LimitUse(True, limit.scope, key, count + 1, limit.requests - count - 1)

    @property
    def tokens_path(self) -> Path:
        return self.path.with_name(self.path.name + ".tokens.json")

    def claim_tokens(self, token_ids: Sequence[str], *, expires_at: int, now: int) -> set[str]:
        ids = sorted(set(token_ids))
        with self._lock():
            doc = _read_json(self.tokens_path, "approval token state")
            uses: dict[str, int] = {}
            for entry in doc.get("uses", []) if isinstance(doc, dict) else []:
                if isinstance(entry, dict) and isinstance(entry.get("token_id"), str):
                    exp = entry.get("expires_at")
                    if isinstance(exp, int) and exp > now:
                        uses[entry["token_id"]] = exp
            used = {t for t in ids if t in uses}
            if used or not ids:
                return used
            for token_id in ids:
                uses[token_id] = expires_at
            _write_json(
                self.tokens_path,
                {
                    "schema_id": TOKENS_SCHEMA,
                    "schema_version": "1.0.0",
                    "uses": [{"token_id": t, "expires_at": uses[t]} for t in sorted(uses)],
                },
            )
            return set()

    def journal_path(self, session_id: str) -> Path:
        digest = sha256_hex(session_id.encode())[:32]
        return self.path.with_name(self.path.name + ".sessions") / f"{digest}.jsonl"

    def _journal_lines(self, path: Path) -> list[str]:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        except (OSError, UnicodeDecodeError) as err:
            raise InvalidInput(f"read session journal {path}: {err}") from err
        return [line for line in text.splitlines() if line.strip()]

    def journal_append(self, session_id: str, entry: Mapping[str, Any]) -> int:
        # One O_APPEND write under the lock per entry (readers take the lock too); the
        # file is compacted to the newest journal_max entries once it holds twice that.
        line = json.dumps(dict(entry), sort_keys=True, separators=(",", ":")) + "\n"
        path = self.journal_path(session_id)
        with self._lock():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line.encode())
            finally:
                os.close(fd)
            lines = self._journal_lines(path)
            if len(lines) >= 2 * self.journal_max:
                lines = lines[-self.journal_max :]
                atomic_write(path, ("\n".join(lines) + "\n").encode())
            return min(len(lines), self.journal_max)

    def journal_read(self, session_id: str, limit: int = 50) -> list[dict[str, Any]]:
        if limit <= 0:
            return []
        path = self.journal_path(session_id)
        with self._lock():
            lines = self._journal_lines(path)[-min(limit, self.journal_max) :]
        out: list[dict[str, Any]] = []
        for line in lines:
            doc = loads(line, f"parse session journal {path}")
            if isinstance(doc, dict):
                out.append(doc)
        return out
