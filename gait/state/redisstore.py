"""Shared state in Redis (or Valkey): every check-and-spend is one Lua script.

A script runs atomically on the server, so any number of decision servers
spending one budget can never take more than ``requests`` units per window.
Keys: ``gait:budget:<policy digest>:<rule>:<counter key>`` (TTL two windows),
``gait:approval_used:<token id>`` (TTL until the token expires),
``gait:journal:<session digest>`` (capped list). Every Redis failure, timeout
included, becomes :class:`gait.errors.StateUnavailable` so the gate can fail closed.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

from gait.errors import StateUnavailable
from gait.policy.model import Limit
from gait.state.base import (
    JOURNAL_MAX,
    LimitUse,
    StateStore,
    counter_key,
    redact_url,
    window_seconds,
)

DEFAULT_TIMEOUT = 0.5  # seconds; a slower store is treated as down (fail closed)
JOURNAL_TTL_SECONDS = 336 * 3600  # the default session_ttl of the retention config

# KEYS[1] counter; ARGV[1] requests, ARGV[2] ttl seconds -> {allowed 0/1, count after}
_SPEND = """
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count >= tonumber(ARGV[1]) then
  return {0, count}
end
count = redis.call('INCR', KEYS[1])
if count == 1 then
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
end
return {1, count}
"""

# KEYS token-use keys; ARGV[1] ttl seconds -> indexes (1-based) of keys already present
# Next sequence number, raised to the caller's floor (a journal appended outside
# the servers, e.g. by ``gait run session append``, must never be renumbered).
_SEQUENCE = """
local value = redis.call('INCR', KEYS[1])
local floor = tonumber(ARGV[1])
if value < floor then
  redis.call('SET', KEYS[1], floor)
  value = floor
end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
return value
"""
# Release a lease only if it is still ours (it may have expired and been taken).
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""
_CLAIM = """
local used = {}
for i, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then
    used[#used + 1] = i
  end
end
if #used == 0 then
  for _, key in ipairs(KEYS) do
    redis.call('SET', key, '1', 'EX', tonumber(ARGV[1]))
  end
end
return used
"""

T = TypeVar("T")
_PREFIX_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")


def _split_prefix(url: str, default: str) -> tuple[str, str]:
    """Take our own ``key_prefix`` query parameter out of the URL (redis-py does not know it).

    Several gait deployments can share one Redis with distinct prefixes.
    """
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    from gait.errors import InvalidInput

    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    prefix = default
    rest = []
    for name, value in query:
        if name == "key_prefix":
            if not value or not set(value) <= _PREFIX_CHARS:
                raise InvalidInput(
                    f"invalid state URL {redact_url(url)}: key_prefix must be letters, digits, _ - ."
                )
            prefix = value
        else:
            rest.append((name, value))
    return urlunsplit(parts._replace(query=urlencode(rest))), prefix


class RedisStore(StateStore):
    shared = True

    def __init__(
        self,
        url: str,
        *,
        timeout: float | None = None,
        prefix: str = "gait",
        journal_max: int = JOURNAL_MAX,
    ) -> None:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        url, prefix = _split_prefix(url, prefix)
        self._url = url
        self._prefix = prefix
        self.journal_max = journal_max
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        seconds = DEFAULT_TIMEOUT if timeout is None else timeout
        try:
            # No client-side retries: a retried spend whose reply was lost could spend twice.
            self._client = redis.Redis.from_url(
                url,
                socket_timeout=seconds,
                socket_connect_timeout=seconds,
                retry=Retry(NoBackoff(), 0),
            )
        except ValueError as err:
            from gait.errors import InvalidInput

            raise InvalidInput(f"invalid state URL {redact_url(url)}: {err}") from err
        self._spend = self._client.register_script(_SPEND)
        self._claim = self._client.register_script(_CLAIM)
        self._sequence = self._client.register_script(_SEQUENCE)
        self._release = self._client.register_script(_RELEASE)

    @property
    def location(self) -> str:
        return redact_url(self._url)

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except self._errors as err:
            raise StateUnavailable(
                f"state store {self.location} unavailable during {what}: {err}"
            ) from err

    def spend(
        self,
        limit: Limit,
        *,
        tool_name: str,
        identity: str,
        now: datetime,
        namespace: str = "",
    ) -> LimitUse:
        key = counter_key(limit, tool_name=tool_name, identity=identity, now=now)
        redis_key = f"{self._prefix}:budget:{namespace}:{key}"
        ttl = 2 * window_seconds(limit.window)
        allowed, count = self._call(
            "budget spend", lambda: self._spend(keys=[redis_key], args=[limit.requests, ttl])
        )
        count = int(count)
        if not int(allowed):
            return LimitUse(False, limit.scope, key, count, 0)
        return LimitUse(True, limit.scope, key, count, max(limit.requests - count, 0))

    def claim_tokens(self, token_ids: Sequence[str], *, expires_at: int, now: int) -> set[str]:
        ids = sorted(set(token_ids))
        if not ids:
            return set()
        keys = [f"{self._prefix}:approval_used:{t}" for t in ids]
        ttl = max(expires_at - now, 1)
        used = self._call("approval token claim", lambda: self._claim(keys=keys, args=[ttl]))
        return {ids[int(i) - 1] for i in used}

    def _journal_key(self, session_id: str) -> str:
        return f"{self._prefix}:journal:{hashlib.sha256(session_id.encode()).hexdigest()[:32]}"

    def journal_append(self, session_id: str, entry: Mapping[str, Any]) -> int:
        line = json.dumps(dict(entry), sort_keys=True, separators=(",", ":"))
        key = self._journal_key(session_id)

        def run() -> int:
            pipe = self._client.pipeline(transaction=True)
            pipe.rpush(key, line)
            pipe.ltrim(key, -self.journal_max, -1)
            pipe.expire(key, JOURNAL_TTL_SECONDS)
            pipe.llen(key)
            return int(pipe.execute()[-1])

        return self._call("session journal append", run)

    def journal_read(self, session_id: str, limit: int = 50) -> list[dict[str, Any]]:
        if limit <= 0:
            return []
        key = self._journal_key(session_id)
        raw = self._call("session journal read", lambda: self._client.lrange(key, -limit, -1))
        from gait.safejson import loads

        out: list[dict[str, Any]] = []
        for item in raw:
            # anyone who can write to this Redis can write the journal: untrusted input
            doc = loads(item, f"parse session journal in {self.location}")
            if isinstance(doc, dict):
                out.append(doc)
        return out

    def _name_key(self, kind: str, name: str) -> str:
        return f"{self._prefix}:{kind}:{hashlib.sha256(name.encode()).hexdigest()[:32]}"

    @contextmanager
    def lease(self, name: str, *, ttl: float = 30.0, wait: float = 10.0) -> Iterator[bool]:
        key = self._name_key("lease", name)
        token = uuid.uuid4().hex
        ttl_ms = max(int(ttl * 1000), 1)
        deadline = time.monotonic() + max(wait, 0.0)
        delay = 0.002
        while True:
            taken = self._call("lease", lambda: self._client.set(key, token, nx=True, px=ttl_ms))
            if taken or time.monotonic() >= deadline:
                break
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
        if not taken:
            yield False
            return
        try:
            yield True
        finally:
            # A release that fails leaves the lease to expire after ``ttl``.
            try:
                self._release(keys=[key], args=[token])
            except self._errors:
                pass

    def next_sequence(self, name: str, floor: int) -> int | None:
        key = self._name_key("sequence", name)
        value = self._call(
            "sequence allocation",
            lambda: self._sequence(keys=[key], args=[int(floor), JOURNAL_TTL_SECONDS]),
        )
        return int(value)

    def health(self) -> tuple[bool, str]:
        try:
            self._client.ping()
        except self._errors as err:
            return False, f"state store {self.location} unavailable: {err}"
        return True, f"state store {self.location} ok"

    def close(self) -> None:
        self._client.close()
