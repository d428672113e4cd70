"""``gait run reduce`` (runpack.md §6.6): cut a runpack down to the one step that failed.

As the original (core/runpack/reduce.go): the first intent by intent_id that
satisfies the predicate is kept with, for ``non_ok_status``, its first
non-ok result; receipts are kept only when the kept intent's args or result
name them (a ``*ref*`` key or a ``ref_`` string); the timeline keeps events
without a ref and those of the kept intent. The report is
``gait.runpack.reduce_report`` with before/after counts.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from gait.errors import InvalidInput

__all__ = ["PREDICATES", "ReduceResult", "reduce_runpack", "reduced_run_id"]

PREDICATES = ("missing_result", "non_ok_status")
REPORT_SCHEMA = "gait.runpack.reduce_report"


def reduced_run_id(run_id: str, predicate: str) -> str:
    base = run_id.strip()
    if not base.startswith("run_"):
        base = f"run_{base}"
    return f"{base}_reduced_{predicate.replace('_', '')}"


def parse_predicate(value: str) -> str:
    predicate = value.strip().lower()
    if predicate not in PREDICATES:
        raise InvalidInput(f'unsupported predicate "{value}"')
    return predicate


@dataclass
class ReduceResult:
    run_id: str  # the reduced pack's run_id
    source_run_id: str
    out_path: str
    report_path: str
    report: dict[str, Any]


def _ok(status: str) -> bool:
    return status.strip().lower() in ("ok", "success")


def _select(intents: list[Any], results: list[Any], predicate: str) -> str:
    ids = sorted(i.intent_id for i in intents if i.intent_id)
    if not ids:
        raise InvalidInput("runpack has no intent IDs")
    by_intent: dict[str, list[Any]] = {}
    for result in results:
        by_intent.setdefault(result.intent_id, []).append(result)
    for intent_id in ids:
        found = by_intent.get(intent_id, [])
        if predicate == "missing_result" and not found:
            return intent_id
        if predicate == "non_ok_status" and any(not _ok(r.status) for r in found):
            return intent_id
    raise InvalidInput(f"predicate {predicate} not triggered by runpack")


def _ref_ids(value: Any, out: set[str]) -> None:
    if isinstance(value, dict):
        for key, nested in value.items():
            if "ref" in str(key).strip().lower() and isinstance(nested, str) and nested.strip():
                out.add(nested.strip())
            _ref_ids(nested, out)
    elif isinstance(value, list):
        for nested in value:
            _ref_ids(nested, out)
    elif isinstance(value, str) and value.startswith("ref_"):
        out.add(value)


def reduce_runpack(
    source: str,
    predicate: str,
    *,
    out: str = "",
    report_out: str = "",
    producer_version: str = "",
) -> ReduceResult:
    from gait.canonical import canonical_bytes
    from gait.fsutil import atomic_write
    from gait.runpack.reader import read_runpack
    from gait.runpack.record import record_runpack, write_runpack

    predicate = parse_predicate(predicate)
    pack = read_runpack(source)
    chosen_id = _select(pack.intents, pack.results, predicate)
    new_id = reduced_run_id(pack.run_id, predicate)
    intent = next(i for i in pack.intents if i.intent_id == chosen_id).to_json()
    kept_results: list[dict[str, Any]] = []
    if predicate == "non_ok_status":
        failing = next(r for r in pack.results if r.intent_id == chosen_id and not _ok(r.status))
        kept_results = [failing.to_json()]
    wanted: set[str] = set()
    _ref_ids(intent.get("args"), wanted)
    for result in kept_results:
        _ref_ids(result.get("result"), wanted)
    refs = pack.refs.to_json()
    receipts = [r for r in refs.get("receipts") or [] if r.get("ref_id") in wanted]
    refs["receipts"] = sorted(receipts, key=lambda r: str(r.get("ref_id")))
    run = pack.run.to_json()
    run["timeline"] = [
        e for e in run.get("timeline") or [] if not e.get("ref") or e.get("ref") == chosen_id
    ]
    for record in (run, intent, *kept_results, refs):
        record["run_id"] = new_id
    built = record_runpack(
        run, [intent], kept_results, refs, capture_mode=pack.manifest.capture_mode
    )
    target = out.strip() or os.path.join(
        os.path.dirname(source), f"runpack_{pack.run_id}_reduced_{predicate}.zip"
    )
    written = write_runpack(target, built)
    reduced = read_runpack(written)
    _select(reduced.intents, reduced.results, predicate)  # still fails, as the reference checks
    report_path = report_out.strip() or f"{written}.reduce_report.json"
    report = {
        "schema_id": REPORT_SCHEMA,
        "schema_version": "1.0.0",
        "created_at": pack.run.created_at,
        "producer_version": pack.run.producer_version,
        "run_id": pack.run_id,
        "reduced_run_id": new_id,
        "predicate": predicate,
        "selected_intent_id": chosen_id,
        "original_intent_count": len(pack.intents),
        "reduced_intent_count": 1,
        "original_result_count": len(pack.results),
        "reduced_result_count": len(kept_results),
        "original_ref_count": len(pack.refs.receipts or []),
        "reduced_ref_count": len(receipts),
        "still_failing": True,
    }
    atomic_write(report_path, canonical_bytes(report), 0o600)
    return ReduceResult(
        run_id=new_id,
        source_run_id=pack.run_id,
        out_path=written,
        report_path=report_path,
        report=report,
    )
