"""The state-store interface and the counter-key rules both stores share (trace.md §5.4)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import msgspec

from gait.errors import InvalidInput
from gait.policy.model import Limit

DEFAULT_STATE_PATH = ".gait-out/gate_rate_limits.json"
JOURNAL_MAX = 1000  # newest entries kept per session journal
WINDOW_SECONDS = {"minute": 60, "hour": 3600}


class LimitUse(msgspec.Struct, frozen=True):
    """One check-and-spend: ``allowed`` and the counter after it (``used`` is not incremented on denial)."""

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


def counter_key(limit: Limit, *, tool_name: str, identity: str, now: datetime) -> str:
    """``window|scope|bucket|scope_key``: the spec's counter key, the same in every store."""
    bucket = bucket_for(limit.window, now)
    return f"{limit.window}|{limit.scope}|{bucket}|{scope_key(limit.scope, tool_name, identity)}"


def window_seconds(window: str) -> int:
    return WINDOW_SECONDS.get(window, 60)


class StateStore(ABC):
    """Everything a decision shares with other decisions, behind atomic operations.

    Implementations raise :class:`gait.errors.StateUnavailable` when the store
    cannot answer (the gate then fails closed for the rules that need it) and
    :class:`gait.errors.StateContention` when a local lock cannot be taken.
    """

    #: True when several machines can share this store (Redis); False for a local file.
    shared: bool = False
    #: Newest entries kept per session journal.
    journal_max: int = JOURNAL_MAX

    @property
    @abstractmethod
    def location(self) -> str:
        """Where the state lives, safe to print (no passwords)."""

    @abstractmethod
    def spend(
        self,
        limit: Limit,
        *,
        tool_name: str,
        identity: str,
        now: datetime,
        namespace: str = "",
    ) -> LimitUse:
        """Atomically take one unit of ``limit`` for this tool/identity, or report it exhausted.

        ``namespace`` (policy digest and rule) separates counters in shared stores.
        """

    @abstractmethod
    def claim_tokens(self, token_ids: Sequence[str], *, expires_at: int, now: int) -> set[str]:
        """Record single-use tokens as consumed, all or none.

        Returns the ids that were already consumed (then nothing is recorded);
        an empty set means every id is now recorded until ``expires_at`` (unix seconds).
        """

    @abstractmethod
    def journal_append(self, session_id: str, entry: Mapping[str, Any]) -> int:
        """Append one JSON object to a session's journal; returns the journal length."""

    @abstractmethod
    def journal_read(self, session_id: str, limit: int = 50) -> list[dict[str, Any]]:
        """The newest ``limit`` entries of a session's journal, oldest first."""

    @contextmanager
    def lease(self, name: str, *, ttl: float = 30.0, wait: float = 10.0) -> Iterator[bool]:
        """Hold ``name`` against every process sharing this store; yields whether it was taken.

        Local stores yield True at once: their callers already serialise with
        file locks, and a local file is not shared between machines.
        """
        yield True

    def next_sequence(self, name: str, floor: int) -> int | None:
        """The next number of the shared counter ``name``, at least ``floor``, never twice.

        None for local stores: the local file numbers itself (its last record + 1).
        """
        return None

    def health(self) -> tuple[bool, str]:
        """``(ok, detail)`` for health endpoints; local stores are always reachable."""
        return True, f"state: {self.location}"

    def close(self) -> None:  # noqa: B027 - optional hook, nothing to release by default
        """Release connections (no-op for local stores)."""


def is_redis_url(location: str | None) -> bool:
    return bool(location) and str(location).strip().lower().startswith(("redis://", "rediss://"))


def redact_url(url: str) -> str:
    """The URL without its password, for messages and health output."""
    from urllib.parse import urlsplit, urlunsplit  # Redis only: keeps it off gate eval (~2 ms)

    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}:***@" if parts.username else "***@"
    return urlunsplit((parts.scheme, user + host, parts.path, parts.query, parts.fragment))


def open_store(location: str | None = None, *, timeout: float | None = None) -> StateStore:
    """The store for ``location``: None/empty = the default local file, a path, or a Redis URL.

    Errors: :class:`gait.errors.InvalidInput` for an unsupported URL scheme.
    """
    text = (location or "").strip()
    if is_redis_url(text):
        from gait.state.redisstore import RedisStore

        return RedisStore(text, timeout=timeout)
    if "://" in text:
        scheme = text.split("://", 1)[0]
        raise InvalidInput(
            f'unsupported state location scheme "{scheme}" (expected a file path or redis://)'
        )
    from gait.state.filestore import FileStore

    return FileStore(text or DEFAULT_STATE_PATH)
