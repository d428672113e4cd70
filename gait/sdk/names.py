"""File-name pieces derived from tool names, ids and run ids."""

from __future__ import annotations

import re

__all__ = ["normalize_run_id", "sanitize"]

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def sanitize(text: str) -> str:
    """Runs of characters outside ``[A-Za-z0-9_-]`` become ``_``; empty → ``call``."""
    return _UNSAFE.sub("_", text).strip("_") or "call"


def normalize_run_id(text: str) -> str:
    """serve_sdk.md §2 rule: sanitize, prefix ``run_`` unless present; ``""`` stays empty."""
    cleaned = _UNSAFE.sub("_", text.strip()).strip("_")
    if not cleaned:
        return ""
    return cleaned if cleaned.startswith("run_") else f"run_{cleaned}"
