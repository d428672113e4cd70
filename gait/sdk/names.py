"""File-name pieces derived from tool names, ids and run ids."""

from __future__ import annotations

import re

# One run-id rule for every surface (serve_sdk.md §2): the proxy's.
from gait.mcp.proxy import normalize_run_id

__all__ = ["normalize_run_id", "sanitize"]

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def sanitize(text: str) -> str:
    """Runs of characters outside ``[A-Za-z0-9_-]`` become ``_``; empty → ``call``."""
    return _UNSAFE.sub("_", text).strip("_") or "call"
