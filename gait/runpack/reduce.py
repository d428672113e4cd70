"""``gait run reduce`` (runpack.md §6.6): cut a runpack down to the one step that failed.

The reduced pack keeps the first intent (by intent_id) that satisfies the
predicate, its result if any, and the receipts that are not traces of other
intents, so a regression fixture can pin exactly the failing call.
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
    base = run_id if run_id.startswith("run_") else f"run_{run_id}"
    return f"{base}_reduced_{predicate.replace('_', '')}"


@dataclass
class ReduceResult:
    run_id: str
    out_path: str
    report_path: str
    report: dict[str, Any]


def reduce_runpack(
    source: str, predicate: str, *, out: str = "", report_out: str = ""
) -> ReduceResult:
    from gait.canonical import canonical_bytes
    from gait.fsutil import atomic_write
    from gait.runpack.reader import read_runpack
    from gait.runpack.record import record_runpack, write_runpack

    if predicate not in PREDICATES:
        raise InvalidInput(f"--predicate must be one of {', '.join(PREDICATES)}")
    pack = read_runpack(source)
    first: dict[str, Any] = {}
    for result in pack.results:
        first.setdefault(result.intent_id, result)
    chosen = None
    for intent in sorted(pack.intents, key=lambda i: i.intent_id):
        result = first.get(intent.intent_id)
        if predicate == "missing_result" and result is None:
            chosen = intent
        elif (
            predicate == "non_ok_status"
            and result is not None
            and result.status.strip().lower() not in ("ok", "success")
        ):
            chosen = intent
        if chosen is not None:
            break
    if chosen is None:
        raise InvalidInput(f"no intent in {pack.run_id} matches predicate {predicate}")
    new_id = reduced_run_id(pack.run_id, predicate)
    run = pack.run.to_json()
    run["run_id"] = new_id
    intent = chosen.to_json()
    results = [first[chosen.intent_id].to_json()] if chosen.intent_id in first else []
    refs = pack.refs.to_json()
    refs["receipts"] = [
        r
        for r in refs.get("receipts") or []
        if not (
            r["source_type"].lower() == "gait.trace" and r["ref_id"] != f"trace_{chosen.intent_id}"
        )
    ]
    refs.pop("context_ref_count", None)
    for record in (intent, *results, refs):
        record["run_id"] = new_id
    built = record_runpack(run, [intent], results, refs, capture_mode=pack.manifest.capture_mode)
    target = out.strip() or os.path.join(
        os.path.dirname(source), f"runpack_{pack.run_id}_reduced_{predicate}.zip"
    )
    written = write_runpack(target, built)
    report_path = report_out.strip() or f"{written}.reduce_report.json"
    report = {
        "schema_id": REPORT_SCHEMA,
        "schema_version": "1.0.0",
        "created_at": pack.run.created_at,
        "producer_version": pack.run.producer_version,
        "source_run_id": pack.run_id,
        "source_path": source,
        "predicate": predicate,
        "selected_intent_id": chosen.intent_id,
        "selected_tool_name": chosen.tool_name,
        "reduced_run_id": new_id,
        "output_path": written,
        "manifest_digest": built.manifest_digest,
        "intents_before": len(pack.intents),
        "intents_after": 1,
    }
    atomic_write(report_path, canonical_bytes(report) + b"\n", 0o600)
    return ReduceResult(run_id=new_id, out_path=written, report_path=report_path, report=report)
