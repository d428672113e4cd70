"""Incident packs (``gait incident pack``, scout_packs.md §3).

An incident pack is an unsigned evidence pack whose extra evidence is chosen
by time: every trace, regress result and approval/credential record in the
runpack's directory whose ``created_at`` lies within ``window`` of the run's
``created_at``. Unreadable or unparseable candidates are skipped (a directory
of artifacts often holds half-written or foreign files); the run itself must
be intact.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gait.errors import InvalidInput
from gait.packs.common import unique_sorted
from gait.packs.guard import GuardPackInputs, GuardPackResult, build_guard_pack

if TYPE_CHECKING:
    from gait.packs.source import SourceRun

__all__ = ["DEFAULT_WINDOW_NS", "IncidentPackResult", "build_incident_pack", "parse_window"]

DEFAULT_WINDOW_NS = 24 * 3600 * 1_000_000_000


def parse_window(text: str) -> int:
    """Go duration → nanoseconds; unparseable → InvalidInput; ≤ 0 → 24h."""
    from gait.policy.duration import parse_go_duration

    try:
        value = parse_go_duration(text or "24h")
    except ValueError as err:
        raise InvalidInput(f"parse --window: {err}") from err
    return value if value > 0 else DEFAULT_WINDOW_NS


@dataclass
class IncidentPackResult:
    pack: GuardPackResult
    window_from: str
    window_to: str
    traces: list[str] = field(default_factory=list)
    regress: list[str] = field(default_factory=list)
    approval_audit: list[str] = field(default_factory=list)
    credential_evidence: list[str] = field(default_factory=list)
    policy_digests: list[str] = field(default_factory=list)


def _load(path: str) -> dict[str, Any] | None:
    """A candidate evidence file, or None if it is unreadable or not a JSON object.

    A repeated key is refused (InvalidInput naming the file and key), not skipped:
    no writer produces one, so the file was changed and must not be evidence.
    """
    from gait.safejson import DuplicateKey, loads

    try:
        with open(path, "rb") as handle:
            value = loads(handle.read(), f"parse incident evidence {path}")
    except DuplicateKey:
        raise
    except (OSError, InvalidInput):
        return None
    return value if isinstance(value, dict) else None


def _ns(text: Any) -> int | None:
    from gait.signing.timestamps import parse_rfc3339

    if not isinstance(text, str):
        return None
    try:
        seconds, nanos = parse_rfc3339(text.strip())
    except InvalidInput:
        return None
    return seconds * 1_000_000_000 + nanos


def _seconds_text(ns: int) -> str:
    from gait.signing.timestamps import format_rfc3339

    return format_rfc3339(ns // 1_000_000_000)


def build_incident_pack(
    pack: SourceRun,
    *,
    window_ns: int = DEFAULT_WINDOW_NS,
    template: str = "incident_response",
    case_id: str = "",
    producer_version: str = "0.0.0-dev",
    render_pdf: bool = False,
) -> IncidentPackResult:
    anchor = _ns(pack.run.created_at)
    if anchor is None:
        raise InvalidInput(f"runpack run.created_at is not a valid time: {pack.run.created_at!r}")
    low, high = anchor - window_ns, anchor + window_ns
    directory = os.path.dirname(os.path.abspath(pack.path))

    def in_window(record: dict[str, Any]) -> bool:
        at = _ns(record.get("created_at"))
        return at is not None and low <= at <= high

    def candidates(pattern: str) -> list[tuple[str, dict[str, Any]]]:
        out = []
        for path in sorted(glob.glob(os.path.join(directory, pattern))):
            record = _load(path) if os.path.isfile(path) else None
            if record is not None and in_window(record):
                out.append((path, record))
        return out

    traces = candidates("trace_*.json")
    trace_ids = {str(r.get("trace_id") or "") for _, r in traces} - {""}
    digests = unique_sorted(str(r.get("policy_digest") or "") for _, r in traces)
    regress = [p for p, _ in candidates("regress*.json")]

    def linked(pattern: str) -> list[str]:
        return [
            p
            for p, r in candidates(pattern)
            if not traces or str(r.get("trace_id") or "") in trace_ids
        ]

    approval = linked("approval_audit_*.json")
    credential = linked("credential_evidence_*.json")
    window_from, window_to = _seconds_text(low), _seconds_text(high)
    inputs = GuardPackInputs(
        traces=[p for p, _ in traces],
        regress=regress,
        approval_audit=approval,
        credential_evidence=credential,
        auto_discover=False,
        policy_digests={
            "run_id": pack.run_id,
            "window_from": window_from,
            "window_to": window_to,
            "policy_digests": digests,
        },
        incident_window={
            "from": window_from,
            "to": window_to,
            "window_seconds": window_ns // 1_000_000_000,
            "selection_anchor": pack.run_id,
        },
    )
    result = build_guard_pack(
        pack,
        inputs,
        template=template or "incident_response",
        case_id=case_id,
        sign_key=None,
        producer_version=producer_version,
        render_pdf=render_pdf,
    )
    members = [p["path"] for p in result.manifest["contents"]]
    return IncidentPackResult(
        pack=result,
        window_from=window_from,
        window_to=window_to,
        traces=inputs.traces,
        regress=regress,
        approval_audit=[m for m in members if m.startswith("approval_audit_")],
        credential_evidence=[m for m in members if m.startswith("credential_evidence_")],
        policy_digests=digests,
    )
