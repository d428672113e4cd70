"""Receipt footer (§6.2) and the readable timeline of ``run inspect`` (§6.3).

Per step: tool, verdict, result status and duration. The verdict comes from
the result payload when the pack carries one (``raw`` capture), else from the
``trace_<intent_id>`` receipt the Recorder writes (so ``reference`` packs
still show it). The duration comes from the ``intent_captured`` /
``result_captured`` timeline events of that intent, when present.
"""

from __future__ import annotations

import re
from typing import Any

from gait.runpack.model import IntentRecord, Receipt, ResultRecord
from gait.runpack.reader import Runpack

__all__ = [
    "FOOTER_RE",
    "duration_ms_by_intent",
    "format_ticket_footer",
    "inspect_runpack",
    "inspect_text",
    "step_verdict",
]

FOOTER_RE = re.compile(
    r'^GAIT run_id=([A-Za-z0-9_-]+) manifest=sha256:([a-f0-9]{64}) verify="gait verify ([A-Za-z0-9_-]+)"$'
)


def format_ticket_footer(run_id: str, manifest_digest: str) -> str:
    """``GAIT run_id=<id> manifest=sha256:<digest> verify="gait verify <id>"``."""
    return (
        f"GAIT run_id={run_id} manifest=sha256:{manifest_digest.lower()} "
        f'verify="gait verify {run_id}"'
    )


def _unique_sorted(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    return sorted({str(v) for v in value if isinstance(v, str | int | float)})


def step_verdict(
    result: ResultRecord | None, receipt: Receipt | None
) -> tuple[str, list[str], list[str]]:
    """``(verdict, reason_codes, violations)`` recorded for one step ("" when unknown)."""
    sources: list[dict[str, Any]] = []
    if result is not None and isinstance(result.result, dict):
        sources.append(result.result)
    if receipt is not None and isinstance(receipt.retrieval_params, dict):
        sources.append(receipt.retrieval_params)
    for source in sources:
        verdict = source.get("verdict")
        if isinstance(verdict, str) and verdict:
            return (
                verdict,
                _unique_sorted(source.get("reason_codes")),
                _unique_sorted(source.get("violations")),
            )
    return "", [], []


def _ns(ts: str) -> int | None:
    from gait.errors import InvalidInput
    from gait.signing.timestamps import parse_rfc3339

    try:
        seconds, nanos = parse_rfc3339(ts)
    except InvalidInput:
        return None
    return seconds * 1_000_000_000 + nanos


def duration_ms_by_intent(pack: Runpack) -> dict[str, float]:
    """intent_id → milliseconds between its ``intent_captured`` and ``result_captured`` events."""
    starts: dict[str, int] = {}
    out: dict[str, float] = {}
    for event in pack.run.timeline or []:
        if not event.ref:
            continue
        at = _ns(event.ts)
        if at is None:
            continue
        if event.event == "intent_captured":
            starts.setdefault(event.ref, at)
        elif event.event == "result_captured" and event.ref in starts and event.ref not in out:
            out[event.ref] = round(max(0, at - starts[event.ref]) / 1_000_000, 3)
    return out


def _first_results(
    pack: Runpack,
) -> tuple[dict[str, ResultRecord], list[str]]:
    first: dict[str, ResultRecord] = {}
    warnings: list[str] = []
    for result in pack.results:
        if result.intent_id in first:
            warnings.append(
                f"multiple result records for intent_id={result.intent_id} (kept first)"
            )
            continue
        first[result.intent_id] = result
    return first, sorted(set(warnings))


def trace_receipts(pack: Runpack) -> dict[str, Receipt]:
    """intent_id → its ``gait.trace`` receipt (``ref_id`` = ``trace_<intent_id>``)."""
    out: dict[str, Receipt] = {}
    for receipt in pack.refs.receipts or []:
        if receipt.source_type.lower() == "gait.trace" and receipt.ref_id.startswith("trace_"):
            out.setdefault(receipt.ref_id.removeprefix("trace_"), receipt)
    return out


def _entry(
    index: int,
    intent: IntentRecord,
    result: ResultRecord | None,
    receipt: Receipt | None,
    duration: float | None,
) -> dict[str, Any]:
    verdict, reasons, violations = step_verdict(result, receipt)
    entry: dict[str, Any] = {
        "index": index,
        "intent_id": intent.intent_id,
        "tool_name": intent.tool_name,
        "created_at": intent.created_at,
        "args_digest": intent.args_digest,
        "status": result.status if result is not None else "missing_result",
        "reason_codes": reasons,
        "violations": violations,
    }
    if result is not None:
        entry["result_digest"] = result.result_digest
        if isinstance(result.result, dict) and isinstance(result.result.get("executed"), bool):
            entry["executed"] = result.result["executed"]
    if verdict:
        entry["verdict"] = verdict
    if duration is not None:
        entry["duration_ms"] = duration
    return entry


def inspect_runpack(pack: Runpack) -> dict[str, Any]:
    """The ``run inspect --json`` payload (§6.3) plus ``duration_ms``/``executed`` per entry."""
    first, warnings = _first_results(pack)
    receipts = trace_receipts(pack)
    durations = duration_ms_by_intent(pack)
    intent_ids = {i.intent_id for i in pack.intents}
    entries = [
        _entry(
            n,
            intent,
            first.get(intent.intent_id),
            receipts.get(intent.intent_id),
            durations.get(intent.intent_id),
        )
        for n, intent in enumerate(pack.intents, start=1)
    ]
    unmatched = sorted(
        (r for r in pack.results if r.intent_id not in intent_ids),
        key=lambda r: (r.intent_id, r.result_digest),
    )
    return {
        "ok": True,
        "artifact_type": "runpack",
        "run_id": pack.run_id,
        "path": pack.path,
        "capture_mode": pack.manifest.capture_mode,
        "intents_total": len(pack.intents),
        "results_total": len(pack.results),
        "entries": entries,
        "unmatched_results": [
            {"intent_id": r.intent_id, "status": r.status, "result_digest": r.result_digest}
            for r in unmatched
        ],
        "warnings": warnings,
    }


def inspect_text(payload: dict[str, Any]) -> list[str]:
    """Text form: a header, the path, one line per step."""
    lines = [
        f"run inspect: run_id={payload['run_id']} intents={payload['intents_total']} "
        f"results={payload['results_total']} capture_mode={payload['capture_mode']}",
        f"path: {payload['path']}",
    ]
    for entry in payload["entries"]:
        line = (
            f"{entry['index']}. intent={entry['intent_id']} tool={entry['tool_name']} "
            f"status={entry['status']}"
        )
        if entry.get("verdict"):
            line += f" verdict={entry['verdict']}"
        if entry.get("reason_codes"):
            line += f" reasons={','.join(entry['reason_codes'])}"
        if "duration_ms" in entry:
            line += f" duration={entry['duration_ms']:g}ms"
        lines.append(line)
    for result in payload["unmatched_results"]:
        lines.append(f"unmatched result: intent={result['intent_id']} status={result['status']}")
    lines.extend(f"warning: {w}" for w in payload["warnings"])
    return lines
