"""Verdict order and the most-restrictive merge (policy.md §13)."""

from __future__ import annotations

RANK = {"allow": 0, "dry_run": 1, "require_approval": 2, "block": 3}


def most_restrictive(a: str, b: str) -> str:
    return b if RANK.get(b, 0) > RANK.get(a, 0) else a
