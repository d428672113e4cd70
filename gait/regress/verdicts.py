"""What a runpack says happened: tool sequence and one derived verdict per result (regress.md §3.3)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gait.runpack.model import ResultRecord
    from gait.runpack.reader import Runpack

__all__ = ["derive_verdict", "normalize_verdict", "tool_sequence", "verdict_sequence"]

_VERDICT_FAMILIES = {
    "allow": ("allow", "ok", "pass", "passed", "success"),
    "block": ("block", "blocked", "deny", "denied"),
    "require_approval": (
        "require_approval",
        "approval_required",
        "needs_approval",
        "needsapproval",
    ),
    "dry_run": ("dry_run", "dryrun", "simulate", "simulated"),
    "error": ("error", "failed", "failure"),
}
_VERDICTS = {alias: verdict for verdict, names in _VERDICT_FAMILIES.items() for alias in names}

_STATUS_FAMILIES = {
    "allow": ("ok", "pass", "passed", "success"),
    "block": _VERDICT_FAMILIES["block"],
    "require_approval": _VERDICT_FAMILIES["require_approval"],
    "dry_run": ("dry_run", "dry-run", "dryrun", "simulate", "simulated"),
}
_STATUSES = {alias: verdict for verdict, names in _STATUS_FAMILIES.items() for alias in names}


def normalize_verdict(value: object) -> str:
    """§3.3 step 1: the canonical verdict for ``value``, or ``""`` when unrecognized."""
    if not isinstance(value, str):
        return ""
    key = value.strip().lower().replace("-", "_").replace(" ", "_")
    return _VERDICTS.get(key, "")


def derive_verdict(result: ResultRecord) -> str:
    """The verdict one result record stands for: its payload's ``verdict``, else its ``status``."""
    payload = result.result if isinstance(result.result, dict) else {}
    verdict = normalize_verdict(payload.get("verdict"))
    if verdict:
        return verdict
    return _STATUSES.get(result.status.strip().lower(), "error")


def tool_sequence(pack: Runpack) -> list[str]:
    """``tool_name`` of every intent, in recorded order (blank names skipped)."""
    return [i.tool_name for i in pack.intents if i.tool_name.strip()]


def verdict_sequence(pack: Runpack) -> list[str]:
    """One derived verdict per result record, in recorded order."""
    return [derive_verdict(r) for r in pack.results]
