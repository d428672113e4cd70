"""Receipt footer (§6.2) and the readable timeline of ``run inspect`` (§6.3).

Per step: tool, verdict, result status and duration. The verdict comes from
the result payload when the pack carries one (``raw`` capture), else from the
``trace_<intent_id>`` receipt the Recorder writes (so ``reference`` packs
still show it). The duration comes from the ``intent_captured`` /
``result_captured`` timeline events of that intent, when present.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, NamedTuple

from gait.runpack.model import IntentRecord, Receipt, ResultRecord
from gait.runpack.reader import Runpack
from gait.runpack.stream import (
    LazyList,
    RecordSource,
    aligned_first_results,
    joined,
    materialize,
    source_of,
)

__all__ = [
    "FOOTER_RE",
    "duration_ms_by_intent",
    "format_ticket_footer",
    "inspect_runpack",
    "inspect_stream",
    "inspect_text",
    "iter_inspect_text",
    "result_verdict",
    "step_verdict",
    "verdict_of",
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


def result_verdict(result: ResultRecord | None) -> tuple[str, list[str], list[str]] | None:
    """The verdict a result payload records, or None when it records none."""
    if result is not None and isinstance(result.result, dict):
        return _verdict_in(result.result)
    return None


def _verdict_in(source: dict[str, Any]) -> tuple[str, list[str], list[str]] | None:
    verdict = source.get("verdict")
    if isinstance(verdict, str) and verdict:
        return (
            verdict,
            _unique_sorted(source.get("reason_codes")),
            _unique_sorted(source.get("violations")),
        )
    return None


def verdict_of(
    recorded: tuple[str, list[str], list[str]] | None, receipt: Receipt | None
) -> tuple[str, list[str], list[str]]:
    """:func:`step_verdict` from an already extracted :func:`result_verdict`."""
    if recorded is not None:
        return recorded
    if receipt is not None and isinstance(receipt.retrieval_params, dict):
        found = _verdict_in(receipt.retrieval_params)
        if found is not None:
            return found
    return "", [], []


def step_verdict(
    result: ResultRecord | None, receipt: Receipt | None
) -> tuple[str, list[str], list[str]]:
    """``(verdict, reason_codes, violations)`` recorded for one step ("" when unknown)."""
    return verdict_of(result_verdict(result), receipt)


def _ns(ts: str) -> int | None:
    from gait.errors import InvalidInput
    from gait.signing.timestamps import parse_rfc3339

    try:
        seconds, nanos = parse_rfc3339(ts)
    except InvalidInput:
        return None
    return seconds * 1_000_000_000 + nanos


def duration_ms_by_intent(pack: Runpack | RecordSource) -> dict[str, float]:
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


def trace_receipts(pack: Runpack | RecordSource) -> dict[str, Receipt]:
    """intent_id → its ``gait.trace`` receipt (``ref_id`` = ``trace_<intent_id>``)."""
    out: dict[str, Receipt] = {}
    for receipt in pack.refs.receipts or []:
        if receipt.source_type.lower() == "gait.trace" and receipt.ref_id.startswith("trace_"):
            out.setdefault(receipt.ref_id.removeprefix("trace_"), receipt)
    return out


class _Seen(NamedTuple):
    """What inspect keeps of a result: a few short fields, never the payload."""

    status: str
    result_digest: str
    executed: bool | None
    verdict: tuple[str, list[str], list[str]] | None


def _seen(result: ResultRecord) -> _Seen:
    executed = None
    if isinstance(result.result, dict) and isinstance(result.result.get("executed"), bool):
        executed = result.result["executed"]
    return _Seen(result.status, result.result_digest, executed, result_verdict(result))


def _entry(
    index: int,
    intent: IntentRecord,
    result: _Seen | None,
    receipt: Receipt | None,
    duration: float | None,
) -> dict[str, Any]:
    verdict, reasons, violations = verdict_of(
        result.verdict if result is not None else None, receipt
    )
    entry: dict[str, Any] = {
        "index": index,
        "intent_id": intent.intent_id,
        "tool_name": intent.tool_name,
        "created_at": intent.created_at,
        "args_digest": intent.args_digest,
    }
    # As the reference, empty fields are left out (text shows status=missing_result).
    if reasons:
        entry["reason_codes"] = reasons
    if violations:
        entry["violations"] = violations
    if result is not None:
        if result.status:
            entry["status"] = result.status
        entry["result_digest"] = result.result_digest
        if result.executed is not None:
            entry["executed"] = result.executed
    if verdict:
        entry["verdict"] = verdict
    if duration is not None:
        entry["duration_ms"] = duration
    return entry


def inspect_stream(source: RecordSource) -> dict[str, Any]:
    """The ``run inspect --json`` payload with ``entries`` as a :class:`LazyList`.

    Entries are built one at a time while the writer consumes them; what is
    held for the whole pack is the trace receipts and timeline durations by
    intent_id, the intent ids, and (for packs whose results are not in intent
    order) a short summary of each intent's first result.
    """
    aligned = aligned_first_results(source)
    warnings: list[str] = []
    unmatched: list[dict[str, Any]] = []
    if not aligned:
        intent_ids = {i.intent_id for i in source.intents()}
        seen: set[str] = set()
        duplicated: set[str] = set()
        for result in source.results():
            if result.intent_id in seen:
                duplicated.add(result.intent_id.strip() or "(empty)")
            seen.add(result.intent_id)
            if result.intent_id not in intent_ids:
                unmatched.append(_unmatched(result))
        del intent_ids, seen
        warnings = [
            f"multiple result records for intent_id={i} (kept first)" for i in sorted(duplicated)
        ]
        warnings.sort()
        # stable, like the in-memory reader
        unmatched.sort(key=lambda u: (u["intent_id"], u.get("result_digest", "")))
    receipts = trace_receipts(source)
    durations = duration_ms_by_intent(source)

    def entries() -> Iterator[dict[str, Any]]:
        for n, (intent, result) in enumerate(joined(source, aligned, _seen), start=1):
            yield _entry(
                n,
                intent,
                result,
                receipts.get(intent.intent_id),
                durations.get(intent.intent_id),
            )

    return {
        "ok": True,
        "artifact_type": "runpack",
        "run_id": source.run_id,
        "path": source.path,
        "capture_mode": source.manifest.capture_mode,
        "intents_total": source.intents_total,
        "results_total": source.results_total,
        "entries": LazyList(entries, source.intents_total),
        "unmatched_results": unmatched,
        "warnings": warnings,
    }


def _unmatched(result: ResultRecord) -> dict[str, Any]:
    out: dict[str, Any] = {"intent_id": result.intent_id}
    if result.status:
        out["status"] = result.status
    if result.result_digest:
        out["result_digest"] = result.result_digest
    verdict, reasons, violations = verdict_of(result_verdict(result), None)
    for key, value in (("verdict", verdict), ("reason_codes", reasons), ("violations", violations)):
        if value:
            out[key] = value
    return out


def inspect_runpack(pack: Runpack | RecordSource) -> dict[str, Any]:
    """The ``run inspect --json`` payload (§6.3) plus ``duration_ms``/``executed`` per entry."""
    return materialize(inspect_stream(source_of(pack)))


def inspect_text(payload: dict[str, Any]) -> list[str]:
    """Text form: a header, the path, one line per step."""
    return list(iter_inspect_text(payload))


def iter_inspect_text(payload: dict[str, Any]) -> Iterator[str]:
    """:func:`inspect_text`, one line at a time (entries are consumed as they come).

    The reference's lines: header, path, one line per step (+ indented
    reason_codes/violations lines), unmatched results, then warnings.
    """
    yield from [
        f"run inspect: run_id={payload.get('run_id', '')} "
        f"intents={payload.get('intents_total', 0)} results={payload.get('results_total', 0)} "
        f"capture_mode={payload.get('capture_mode', '')}",
        f"path: {payload.get('path', '')}",
    ]
    for entry in payload.get("entries") or ():
        line = (
            f"{entry['index']}. intent={entry['intent_id']} tool={entry['tool_name']} "
            f"status={(entry.get('status') or '').strip() or 'missing_result'}"
        )
        if entry.get("verdict"):
            line += f" verdict={entry['verdict']}"
        yield line
        if entry.get("reason_codes"):
            yield "   reason_codes=" + ",".join(entry["reason_codes"])
        if entry.get("violations"):
            yield "   violations=" + ",".join(entry["violations"])
    unmatched = payload.get("unmatched_results") or []
    if unmatched:
        yield f"unmatched_results={len(unmatched)}"
        for result in unmatched:
            status = (result.get("status") or "").strip() or "unknown"
            yield f"   intent={result['intent_id']} status={status}"
    if payload.get("warnings"):
        yield "warnings: " + "; ".join(payload["warnings"])
