"""Verdict derivation per result record (regress.md §3.3)."""

from __future__ import annotations

import pytest

from gait.regress.verdicts import derive_verdict, normalize_verdict
from gait.runpack.model import ResultRecord


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("allow", "allow"),
        ("OK", "allow"),
        ("Passed", "allow"),
        ("success", "allow"),
        ("Blocked", "block"),
        ("deny", "block"),
        ("denied", "block"),
        ("require-approval", "require_approval"),
        ("Approval Required", "require_approval"),
        ("needs_approval", "require_approval"),
        ("NeedsApproval", "require_approval"),
        ("dry-run", "dry_run"),
        ("DryRun", "dry_run"),
        ("simulated", "dry_run"),
        ("failure", "error"),
        ("failed", "error"),
        ("maybe", ""),
        ("", ""),
        (None, ""),
        (3, ""),
    ],
)
def test_verdict_normalization(value: object, expected: str) -> None:
    assert normalize_verdict(value) == expected


@pytest.mark.parametrize(
    ("status", "payload", "expected"),
    [
        ("ok", None, "allow"),
        ("success", None, "allow"),
        ("error", None, "error"),
        ("block", None, "block"),
        ("Denied", None, "block"),
        ("require_approval", None, "require_approval"),
        ("dry-run", None, "dry_run"),
        ("weird", None, "error"),
        ("ok", {"verdict": "Blocked"}, "block"),
        ("ok", {"verdict": "nonsense"}, "allow"),
        ("block", {"verdict": 7}, "block"),
        ("stubbed", {"verdict": "dry run"}, "dry_run"),
    ],
)
def test_result_verdict_prefers_payload_verdict_then_status(
    status: str, payload: dict | None, expected: str
) -> None:
    assert derive_verdict(ResultRecord(status=status, result=payload)) == expected
