"""Rate limits and destructive budgets enforced across processes (trace.md §5.4).

State lives in one JSON file guarded by an exclusive lock file, so two
concurrent ``gate eval`` processes can never both take the last unit.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from gait.errors import InvalidInput, StateContention
from gait.fsutil import atomic_write
from gait.policy.model import Limit

STATE_SCHEMA = "gait.gate.rate_limit_state"
LOCK_SCHEMA = "gait.gate.rate_limit_lock"
DEFAULT_STATE_PATH = ".gait-out/gate_rate_limits.json"
LOCK_RETRY_SECONDS = 0.015
LOCK_TIMEOUT_SECONDS = 3.0
LOCK_STALE_SECONDS = 15.0


@dataclass(frozen=True)
class LimitUse:
    allowed: bool
    scope: str
    key: str
    used: int
    remaining: int


def bucket_for(window: str, now: datetime) -> str:
    now = now.astimezone(UTC)
    if window == "hour":
        return now.strftime("%Y-%m-%dT%H:00:00Z")
    return now.strftime("%Y-%m-%dT%H:%M:00Z")


def scope_key(scope: str, tool_name: str, identity: str) -> str:
    if scope == "tool":
        return tool_name
    if scope == "identity":
        return identity
    return f"{tool_name}|{identity}"


class _Lock:
    """The spec's lock file (created exclusively, stale after 15 s).

    Removing a stale lock is done under an OS advisory lock on a guard file and
    re-checked there, so two processes can never both clear a lock and both
    proceed; on exit a lock is removed only if it is still the one we wrote.
    """

    def __init__(self, state_path: Path) -> None:
        self.path = state_path.with_name(state_path.name + ".lock")
        self.guard = state_path.with_name(state_path.name + ".lock.guard")
        self.body = b""

    def __enter__(self) -> _Lock:
        deadline = time.monotonic() + LOCK_TIMEOUT_SECONDS
        self.body = json.dumps(
            {
                "schema_id": LOCK_SCHEMA,
                "schema_version": "1.0.0",
                "pid": os.getpid(),
                "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            }
        ).encode()
        while True:
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            except FileExistsError:
                self._remove_if_stale()
                if time.monotonic() >= deadline:
                    raise StateContention("acquire rate limit lock: timeout") from None
                time.sleep(LOCK_RETRY_SECONDS)
                continue
            try:
                os.write(fd, self.body)
            finally:
                os.close(fd)
            return self

    def _is_stale(self) -> bool:
        try:
            return time.time() - self.path.stat().st_mtime > LOCK_STALE_SECONDS
        except FileNotFoundError:
            return False

    def _remove_if_stale(self) -> None:
        if not self._is_stale():
            return
        import fcntl

        with open(self.guard, "a+b") as guard:
            fcntl.flock(guard, fcntl.LOCK_EX)
            try:
                if self._is_stale():
                    self.path.unlink(missing_ok=True)
            finally:
                fcntl.flock(guard, fcntl.LOCK_UN)

    def __exit__(self, *exc: object) -> None:
        try:
            if self.path.read_bytes() == self.body:
                self.path.unlink()
        except FileNotFoundError:
            pass


def _load(path: Path) -> dict[str, int]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as err:
        raise InvalidInput(f"read rate limit state: {err}") from err
    try:
        doc = json.loads(data) if data.strip() else {}
    except ValueError as err:
        raise InvalidInput(f"parse rate limit state {path}: {err}") from err
    counters: dict[str, int] = {}
    for entry in doc.get("counters", []) if isinstance(doc, dict) else []:
        if isinstance(entry, dict) and isinstance(entry.get("key"), str):
            count = entry.get("count")
            if isinstance(count, int) and not isinstance(count, bool) and count >= 0:
                counters[entry["key"]] = count
    return counters


def _save(path: Path, counters: dict[str, int]) -> None:
    doc = {
        "schema_id": STATE_SCHEMA,
        "schema_version": "1.0.0",
        "counters": [{"key": k, "count": counters[k]} for k in sorted(counters)],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, (json.dumps(doc, indent=2) + "\n").encode())


def consume(
    state_path: str | Path,
    limit: Limit,
    *,
    tool_name: str,
    identity: str,
    now: datetime | None = None,
) -> LimitUse:
    """Take one unit of ``limit`` for this tool/identity, or report it exhausted."""
    path = Path(state_path)
    now = now or datetime.now(UTC)
    bucket = bucket_for(limit.window, now)
    key = f"{limit.window}|{limit.scope}|{bucket}|{scope_key(limit.scope, tool_name, identity)}"
    path.parent.mkdir(parents=True, exist_ok=True)
    with _Lock(path):
        counters = _load(path)
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
        _save(path, counters)
        return LimitUse(True, limit.scope, key, count + 1, limit.requests - count - 1)
