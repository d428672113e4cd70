"""MCP server trust (policy.md §12): is the server behind a tool call one we trust?

A policy's ``mcp_trust`` block names a trust *snapshot* (a JSON file listing
known servers with a status, score, publisher, freshness and registry
verification). For each proxied call the server named in ``call.server`` is
looked up there; when the call's risk class is one the block requires, any
finding (unknown server, stale entry, low score, untrusted publisher, ...)
makes the decision at least as strict as ``mcp_trust.action``. Everything
missing counts against the server: no identifier, no snapshot, no entry.
"""

from __future__ import annotations

from typing import Any

import msgspec

from gait.errors import InvalidInput
from gait.mcp.decode import CallServer

__all__ = [
    "TrustSnapshot",
    "apply_trust",
    "evaluate_server_trust",
    "load_trust_snapshot",
]

SNAPSHOT_SCHEMA_ID = "gait.mcp.trust_snapshot"
SNAPSHOT_SCHEMA_VERSION = "1.0.0"
ZERO_TIME = "0001-01-01T00:00:00Z"
TRUSTED_STATUSES = frozenset(("", "trusted", "allow", "pass"))
VIOLATION = "mcp_trust_policy"

# First matching reason names the status (reference order).
_STATUS_OF = (
    ("mcp_trust_snapshot_unavailable", "missing"),
    ("mcp_trust_identifier_missing", "missing"),
    ("mcp_trust_server_unknown", "unknown"),
    ("mcp_trust_publisher_untrusted", "untrusted"),
    ("mcp_trust_status_untrusted", "untrusted"),
    ("mcp_trust_registry_unverified", "invalid"),
    ("mcp_trust_stale", "stale"),
    ("mcp_trust_below_threshold", "below_threshold"),
)
_RANK = {"allow": 0, "dry_run": 1, "require_approval": 2, "block": 3}


class RegistryVerification(msgspec.Struct, frozen=True, kw_only=True):
    signature_verified: bool = False
    publisher_allowed: bool = False
    pin_present: bool = False
    pin_verified: bool = False


class SnapshotEntry(msgspec.Struct, frozen=True, kw_only=True):
    server_id: str = ""
    server_name: str = ""
    publisher: str = ""
    source: str = ""
    endpoint: str = ""
    status: str = ""
    updated_at: str | None = None
    score: float = 0.0
    evidence_path: str = ""
    registry_verification: RegistryVerification | None = None


class TrustSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    schema_id: str = ""
    schema_version: str = ""
    created_at: str | None = None
    producer_version: str = ""
    entries: list[SnapshotEntry] = msgspec.field(default_factory=list)


def _key(server_id: str | None, server_name: str | None) -> str:
    return (server_id or "").strip().lower() or (server_name or "").strip().lower()


def load_trust_snapshot(path: str) -> TrustSnapshot:
    """Read and check a trust snapshot; any problem is :class:`InvalidInput`."""
    text = (path or "").strip()
    if not text:
        raise InvalidInput("trust snapshot path is required")
    try:
        with open(text, "rb") as fh:
            data = fh.read()
    except OSError as err:
        raise InvalidInput(f"read trust snapshot: {err.strerror or err}: {text}") from None
    from gait.safejson import check_duplicate_keys

    check_duplicate_keys(data, "parse trust snapshot")
    try:
        snapshot = msgspec.json.decode(data, type=TrustSnapshot)
    except msgspec.DecodeError as err:
        raise InvalidInput(f"parse trust snapshot: {err}") from None
    if (snapshot.schema_id or SNAPSHOT_SCHEMA_ID) != SNAPSHOT_SCHEMA_ID:
        raise InvalidInput(f"unsupported trust snapshot schema_id {snapshot.schema_id!r}")
    if (snapshot.schema_version or SNAPSHOT_SCHEMA_VERSION) != SNAPSHOT_SCHEMA_VERSION:
        raise InvalidInput(f"unsupported trust snapshot schema_version {snapshot.schema_version!r}")
    for index, entry in enumerate(snapshot.entries):
        if not _key(entry.server_id, entry.server_name):
            raise InvalidInput(f"trust snapshot entry[{index}] requires server_id or server_name")
    return snapshot


def _seconds(go_duration: str) -> int:
    if not go_duration.strip():
        return 0
    from gait.policy.duration import parse_go_duration

    try:
        nanos = parse_go_duration(go_duration.strip())
    except (InvalidInput, ValueError):
        return 0
    return max(nanos // 1_000_000_000, 0)


def _unix_ns(text: str | None) -> int | None:
    """Nanoseconds since the epoch of an RFC 3339 time; ``None`` for zero/absent/bad."""
    if not text or not text.strip():
        return None
    from gait.signing.timestamps import parse_rfc3339

    try:
        seconds, nanos = parse_rfc3339(text.strip())
    except (InvalidInput, ValueError):
        return None
    value = seconds * 1_000_000_000 + nanos
    return None if value == -62_135_596_800 * 1_000_000_000 else value


def _utc(text: str | None) -> str:
    if _unix_ns(text) is None:
        return ZERO_TIME
    from gait.signing.timestamps import to_rfc3339

    return to_rfc3339((text or "").strip())


def evaluate_server_trust(
    trust: Any, server: CallServer | None, risk_class: str, now_ns: int
) -> dict[str, Any] | None:
    """The ``mcp_trust`` decision for one call (``None`` when the policy does not enable it).

    ``trust`` is the compiled policy's ``mcp_trust`` block. ``enforced`` is
    true when the call's risk class is required and the server is not
    trusted; a snapshot that cannot be read counts as not trusted.
    """
    if not trust.enabled:
        return None
    risk = risk_class.strip().lower()
    decision: dict[str, Any] = {
        "threshold": trust.min_score,
        "decision_source": trust.snapshot.strip(),
        "max_age_seconds": _seconds(trust.max_age),
        "required": risk in {r.strip().lower() for r in trust.required_risk_classes},
        "updated_at": ZERO_TIME,
    }
    if server is not None:
        decision["server_id"] = (server.server_id or "").strip()
        decision["server_name"] = (server.server_name or "").strip()
        decision["publisher"] = (server.publisher or "").strip().lower()
        decision["source"] = (server.source or "").strip().lower()
    key = _key(decision.get("server_id"), decision.get("server_name"))
    reasons: list[str]
    if not key:
        reasons = ["mcp_trust_identifier_missing"]
    else:
        try:
            snapshot = load_trust_snapshot(trust.snapshot)
        except InvalidInput:
            snapshot = None
        entry = None
        if snapshot is not None:
            entry = next(
                (e for e in snapshot.entries if _key(e.server_id, e.server_name) == key), None
            )
        if snapshot is None:
            reasons = ["mcp_trust_snapshot_unavailable"]
        elif entry is None:
            reasons = ["mcp_trust_server_unknown"]
        else:
            reasons = _entry_findings(trust, entry, decision, now_ns)
    if not reasons:
        decision["status"] = "trusted"
        decision["reason_codes"] = ["mcp_trust_verified"]
        decision["enforced"] = False
    else:
        decision["status"] = next(s for r, s in _STATUS_OF if r in reasons)
        decision["reason_codes"] = sorted(set(reasons))
        decision["enforced"] = decision["required"]
    return {k: v for k, v in decision.items() if v not in ("", 0, 0.0, False, None, [])}


def _entry_findings(
    trust: Any, entry: SnapshotEntry, decision: dict[str, Any], now_ns: int
) -> list[str]:
    decision["server_id"] = entry.server_id.strip()
    decision["server_name"] = entry.server_name.strip()
    decision["publisher"] = entry.publisher.strip().lower()
    decision["source"] = entry.source.strip().lower()
    decision["score"] = entry.score
    decision["updated_at"] = _utc(entry.updated_at)
    if entry.evidence_path.strip():
        decision["decision_source"] = entry.evidence_path.strip()
    reasons = []
    if entry.status.strip().lower() not in TRUSTED_STATUSES:
        reasons.append("mcp_trust_status_untrusted")
    if trust.publisher_allowlist:
        allowed = {p.strip().lower() for p in trust.publisher_allowlist}
        decision["publisher_allowed"] = entry.publisher.strip().lower() in allowed
        if not decision["publisher_allowed"]:
            reasons.append("mcp_trust_publisher_untrusted")
    if trust.require_registry:
        reg = entry.registry_verification
        ok = (
            reg is not None
            and reg.signature_verified
            and reg.publisher_allowed
            and (not reg.pin_present or reg.pin_verified)
        )
        decision["registry_verified"] = ok
        if not ok:
            reasons.append("mcp_trust_registry_unverified")
    max_age = decision["max_age_seconds"]
    if max_age > 0:
        updated = _unix_ns(entry.updated_at)
        if updated is None or updated + max_age * 1_000_000_000 < now_ns:
            reasons.append("mcp_trust_stale")
    if trust.min_score > 0 and entry.score < trust.min_score:
        reasons.append("mcp_trust_below_threshold")
    return reasons


def apply_trust(
    verdict: str,
    reason_codes: list[str],
    violations: list[str],
    decision: dict[str, Any],
    action: str,
) -> tuple[str, list[str], list[str]]:
    """Merge a trust decision into a gate outcome: reasons always, verdict only when enforced.

    An enforced finding makes the verdict at least ``action`` (``block`` or
    ``require_approval``); ``dry_run`` and ``block`` are kept as they are.
    """
    reasons = sorted(set(reason_codes) | set(decision.get("reason_codes", ())))
    if not decision.get("enforced"):
        return verdict, reasons, list(violations)
    if verdict not in ("block", "dry_run") and _RANK.get(action, 3) > _RANK.get(verdict, 0):
        verdict = action
    return verdict, reasons, sorted(set(violations) | {VIOLATION})
