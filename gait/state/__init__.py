"""Shared decision state behind one interface: budgets, approval-token uses, session journals.

Verdicts are stateless; these three are not, and must stay exact across
processes (local file store, the default) or machines (Redis). ``open_store``
picks the implementation from a location: a path, or ``redis://host:port/db``.
"""

from __future__ import annotations

from gait.state.base import (
    DEFAULT_STATE_PATH,
    JOURNAL_MAX,
    LimitUse,
    StateStore,
    bucket_for,
    counter_key,
    is_redis_url,
    open_store,
    redact_url,
    scope_key,
)

__all__ = [
    "DEFAULT_STATE_PATH",
    "JOURNAL_MAX",
    "LimitUse",
    "StateStore",
    "bucket_for",
    "counter_key",
    "is_redis_url",
    "open_store",
    "redact_url",
    "scope_key",
]
