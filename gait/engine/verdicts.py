"""Verdict order and the most-restrictive merge (policy.md §13).

One enum for the four verdicts. Ranking an unknown value raises instead of
treating it as ``allow``: a typo must never loosen a decision.
"""

from __future__ import annotations

from enum import StrEnum

from gait.errors import InvalidInput


class Verdict(StrEnum):
    ALLOW = "allow"
    DRY_RUN = "dry_run"
    REQUIRE_APPROVAL = "require_approval"
    BLOCK = "block"


RANK = {"allow": 0, "dry_run": 1, "require_approval": 2, "block": 3}


class UnknownVerdict(InvalidInput):
    code = "unknown_verdict"


def rank(verdict: str) -> int:
    """Restrictiveness of ``verdict``; :class:`UnknownVerdict` for anything else."""
    try:
        return RANK[verdict]
    except (KeyError, TypeError):
        raise UnknownVerdict(
            f"unknown verdict {verdict!r} (expected one of {', '.join(RANK)})"
        ) from None


def most_restrictive(a: str, b: str) -> str:
    return b if rank(b) > rank(a) else a
