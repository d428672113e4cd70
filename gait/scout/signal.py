"""Incident clustering: ``gait scout signal`` (scout_packs.md §1).

Each runpack becomes an observation (what it did, to which systems, with
which failure reasons); runs with the same fingerprint form a family; each
family gets a severity, the likely drivers of its failures and bounded fix
suggestions. Everything is derived from the inputs alone (no clock), so the
report is byte-reproducible.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from gait.canonical import digest
from gait.errors import GaitError, InvalidInput
from gait.packs.common import normalize_identifier, read_json_file, unique_sorted

__all__ = [
    "Observation",
    "build_signal_report",
    "classify_tool",
    "drivers_for",
    "observe_runpack",
    "regress_reasons",
    "trace_reasons",
]

FIXED_TIME = "1980-01-01T00:00:00Z"
_RUN_ID = re.compile(r"run_[A-Za-z0-9_-]+")

_TOOL_CLASSES = (
    ("destructive", ("delete", "drop", "destroy", "remove", "purge"), 4),
    ("write", ("write", "update", "save", "send", "export", "create"), 3),
    ("read", ("read", "list", "get", "search", "fetch"), 1),
)
_CLASS_SCORE = {"destructive": 4, "write": 3, "execute": 2, "read": 1}

_DRIVER_RULES = (
    ("policy_change", ("policy", "approval", "blocked", "credential", "violation")),
    (
        "tool_result_shape_change",
        ("diff", "schema", "result_status", "grader", "unexpected_exit_code"),
    ),
    ("reference_set_change", ("ref", "receipt", "retrieval", "source")),
    ("configuration_change", ("config", "nondeterministic", "runtime", "timeout")),
)

SUGGESTIONS = {
    "policy_change": {
        "kind": "policy_fixture",
        "summary": (
            "add or tighten a policy fixture for this call and check it with "
            "`gait policy test <policy.yaml> <intent.json> --json`"
        ),
        "likely_scope": "policy/*.yaml + examples/policy/intents",
    },
    "tool_result_shape_change": {
        "kind": "regress_fixture",
        "summary": "add or update a regress fixture for the new result shape; run `gait regress run --json`",
        "likely_scope": "fixtures/* + gait.yaml",
    },
    "reference_set_change": {
        "kind": "regress_fixture",
        "summary": (
            "pin retrieval filters or the receipt set and capture a fresh runpack "
            "before re-running regress"
        ),
        "likely_scope": "run input + refs receipts",
    },
    "configuration_change": {
        "kind": "configuration",
        "summary": (
            "pin runtime, model and tool configuration, then re-run the incident to regress "
            "bootstrap (`gait regress bootstrap --from <run_id> --json`)"
        ),
        "likely_scope": "wrapper runtime config + CI env",
    },
}


def classify_tool(tool_name: str) -> str:
    lower = tool_name.lower()
    for name, tokens, _ in _TOOL_CLASSES:
        if any(token in lower for token in tokens):
            return name
    return "execute"


def drivers_for(reasons: Iterable[str]) -> list[str]:
    """Each reason maps to the first matching driver; none at all → configuration_change."""
    found = set()
    for reason in reasons:
        lower = reason.lower()
        for driver, tokens in _DRIVER_RULES:
            if any(token in lower for token in tokens):
                found.add(driver)
                break
    return sorted(found) or ["configuration_change"]


@dataclass
class Observation:
    run_id: str
    source_runpack: str
    action_sequence: list[str]
    tool_classes: list[str]
    target_systems: list[str]
    ref_receipt_digests: list[str]
    reason_code_vector: list[str] = field(default_factory=list)
    trace_count: int = 0
    regress_evidence_seen: bool = False
    max_privilege: int = 1

    @property
    def fingerprint(self) -> str:
        return digest(
            {
                "action_sequence": self.action_sequence,
                "tool_classes": self.tool_classes,
                "target_systems": self.target_systems,
                "reason_code_vector": self.reason_code_vector,
                "ref_receipt_digests": self.ref_receipt_digests,
            }
        )

    @property
    def base_severity(self) -> int:
        targets = " ".join(self.target_systems)
        if any(t in targets for t in ("prod", "payment", "finance", "customer", "pii", "db")):
            sensitivity = 3
        elif any(t in targets for t in ("internal", "staging", "queue")):
            sensitivity = 2
        else:
            sensitivity = 1
        posture_tokens = ("policy", "approval", "blocked", "credential")
        posture = 2 if any(t in r for r in self.reason_code_vector for t in posture_tokens) else 0
        return (
            self.max_privilege * 30
            + sensitivity * 15
            + posture * 10
            + min(len(self.reason_code_vector), 9)
        )

    def to_json(self, producer_version: str) -> dict[str, Any]:
        out: dict[str, Any] = {
            "schema_id": "gait.scout.run_fingerprint",
            "schema_version": "1.0.0",
            "created_at": FIXED_TIME,
            "producer_version": producer_version,
            "run_id": self.run_id,
            "fingerprint": self.fingerprint,
            "action_sequence": self.action_sequence,
            "tool_classes": self.tool_classes,
            "target_systems": self.target_systems,
            "reason_code_vector": self.reason_code_vector,
            "ref_receipt_digests": self.ref_receipt_digests,
        }
        if self.source_runpack:
            out["source_runpack"] = self.source_runpack
        if self.trace_count:
            out["trace_count"] = self.trace_count
        if self.regress_evidence_seen:
            out["regress_evidence_seen"] = True
        return out


def _target(source_type: str, locator: str) -> str:
    kind = normalize_identifier(source_type) if source_type.strip() else "unknown"
    if not locator.strip():
        return kind
    return f"{kind}:{normalize_identifier(locator)[:48]}"


def observe_runpack(path: str) -> tuple[Observation, list[str]]:
    """An observation of one runpack plus its result-status reasons. Damaged pack → exit 6."""
    from gait.runpack.reader import read_runpack

    try:
        pack = read_runpack(path)
    except GaitError as err:
        raise InvalidInput(f"read runpack {path}: {err.message}") from err
    actions = [i.tool_name.strip() for i in pack.intents if i.tool_name.strip()]
    classes = [classify_tool(name) for name in actions]
    receipts = pack.refs.receipts or []
    statuses = [
        f"result_status_{normalize_identifier(r.status)}"
        for r in pack.results
        if r.status.strip() and r.status.strip().lower() not in ("ok", "success")
    ]
    obs = Observation(
        run_id=pack.run_id,
        source_runpack=path,
        action_sequence=actions,
        tool_classes=unique_sorted(classes),
        target_systems=unique_sorted(_target(r.source_type, r.source_locator) for r in receipts),
        ref_receipt_digests=unique_sorted(
            r.content_digest.lower() for r in receipts if len(r.content_digest) == 64
        ),
        max_privilege=max([_CLASS_SCORE[c] for c in classes] or [1]),
    )
    return obs, statuses


def trace_reasons(record: dict[str, Any]) -> tuple[str, list[str]]:
    """(run_id or "", reasons) of one gate trace record."""
    run_id = ""
    for key in ("correlation_id", "trace_id"):
        match = _RUN_ID.search(str(record.get(key) or ""))
        if match:
            run_id = match.group(0)
            break
    reasons = []
    verdict = (
        normalize_identifier(str(record.get("verdict") or "")) if record.get("verdict") else ""
    )
    if verdict and verdict != "allow":
        reasons.append(f"trace_verdict_{verdict}")
    for violation in record.get("violations") or []:
        if isinstance(violation, str) and violation.strip():
            reasons.append(f"violation_{normalize_identifier(violation)}")
    return run_id, reasons


def regress_reasons(result: dict[str, Any]) -> dict[str, list[str]]:
    """run_id → reasons from the failing graders of one regress_result.json."""
    out: dict[str, list[str]] = {}
    for grader in result.get("graders") or []:
        if not isinstance(grader, dict):
            continue
        if str(grader.get("status") or "").strip().lower() == "pass":
            continue
        details = grader.get("details") if isinstance(grader.get("details"), dict) else {}
        run_id = details.get("run_id") if isinstance(details.get("run_id"), str) else ""
        if not run_id.strip():
            run_id = str(grader.get("name") or "").split("/", 1)[0]
        codes = [
            normalize_identifier(c) for c in grader.get("reason_codes") or [] if isinstance(c, str)
        ]
        out.setdefault(run_id.strip(), []).extend(unique_sorted(codes) or ["regress_failure"])
    return out


def _level(score: int) -> str:
    if score >= 150:
        return "critical"
    if score >= 110:
        return "high"
    if score >= 70:
        return "medium"
    return "low"


def _omit_empty(obj: dict[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in keys or v}


def build_signal_report(
    runpack_paths: Sequence[str],
    *,
    trace_paths: Sequence[str] = (),
    regress_paths: Sequence[str] = (),
    producer_version: str = "0.0.0-dev",
) -> dict[str, Any]:
    """The ``gait.scout.signal_report`` for already resolved runpack paths."""
    if not runpack_paths:
        raise InvalidInput("missing required --runs <csv> or positional run sources")
    trace_by_run: dict[str, list[str]] = {}
    trace_count: dict[str, int] = {}
    for path in unique_sorted(trace_paths):
        record = read_json_file(path, "trace")
        if not isinstance(record, dict):
            raise InvalidInput(f"trace {path} must be a JSON object")
        run_id, reasons = trace_reasons(record)
        if run_id:
            trace_by_run.setdefault(run_id, []).extend(reasons)
            trace_count[run_id] = trace_count.get(run_id, 0) + 1
    regress_by_run: dict[str, list[str]] = {}
    for path in unique_sorted(regress_paths):
        result = read_json_file(path, "regress result")
        if not isinstance(result, dict):
            raise InvalidInput(f"regress result {path} must be a JSON object")
        for run_id, reasons in regress_reasons(result).items():
            regress_by_run.setdefault(run_id, []).extend(reasons)

    observations = []
    for path in unique_sorted(runpack_paths):
        obs, statuses = observe_runpack(path)
        regress = regress_by_run.get(obs.run_id, [])
        obs.reason_code_vector = unique_sorted(
            [*statuses, *trace_by_run.get(obs.run_id, []), *regress]
        )
        obs.trace_count = trace_count.get(obs.run_id, 0)
        obs.regress_evidence_seen = bool(regress)
        observations.append(obs)
    observations.sort(key=lambda o: (o.run_id, o.source_runpack))

    groups: dict[str, list[Observation]] = {}
    for obs in observations:
        groups.setdefault(obs.fingerprint, []).append(obs)
    families = []
    for fingerprint, members in groups.items():
        reasons = unique_sorted(r for m in members for r in m.reason_code_vector)
        drivers = drivers_for(reasons)
        score = max(m.base_severity for m in members) + min(len(members), 10)
        family = {
            "family_id": "fam_" + fingerprint[:12],
            "fingerprint": fingerprint,
            "count": len(members),
            "run_ids": unique_sorted(m.run_id for m in members),
            "canonical_run_id": members[0].run_id,
            "top_failure_reason": reasons[0] if reasons else "",
            "drivers": drivers,
            "severity_score": score,
            "severity_level": _level(score),
            "artifact_pointers": unique_sorted(m.source_runpack for m in members),
            "suggestions": [SUGGESTIONS[d] for d in drivers],
        }
        families.append(family)
    families.sort(key=lambda f: (-f["severity_score"], -f["count"], f["family_id"]))
    optional = ("top_failure_reason", "drivers", "artifact_pointers", "suggestions")
    top = [
        _omit_empty(
            {
                "rank": rank,
                "family_id": f["family_id"],
                "fingerprint": f["fingerprint"],
                "count": f["count"],
                "canonical_run_id": f["canonical_run_id"],
                "top_failure_reason": f["top_failure_reason"],
                "drivers": f["drivers"],
                "severity_score": f["severity_score"],
                "severity_level": f["severity_level"],
                "suggestions": f["suggestions"],
            },
            optional,
        )
        for rank, f in enumerate(families[:10], start=1)
    ]
    return {
        "schema_id": "gait.scout.signal_report",
        "schema_version": "1.0.0",
        "created_at": FIXED_TIME,
        "producer_version": producer_version,
        "run_count": len(observations),
        "family_count": len(families),
        "fingerprints": [o.to_json(producer_version) for o in observations],
        "families": [_omit_empty(f, optional) for f in families],
        "top_issues": top,
    }


def resolve_run_sources(sources: Iterable[str]) -> list[str]:
    """Resolve each ``run_id|path`` like ``gait verify``; a directory contributes its runpacks."""
    from gait.runpack.reader import resolve_runpack

    out = []
    for source in sources:
        if os.path.isdir(source):
            out.extend(
                os.path.join(source, name)
                for name in sorted(os.listdir(source))
                if name.startswith("runpack_") and name.endswith(".zip")
            )
            continue
        out.append(resolve_runpack(source))
    return out
