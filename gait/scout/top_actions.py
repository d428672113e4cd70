"""``gait report top``: the riskiest single actions across runpacks and gate traces.

Every intent of a runpack and every trace record is one candidate action. Its
score is ``class*100 + blast*10`` plus a verdict bonus (block 15,
require_approval 12, error 8) plus 2 per serious reason code (violations,
blocked, approval, destructive, credential, prompt_injection) and 1 per other.
Class scores are those of ``scout signal`` (destructive 4, write 3, execute 2,
read 1); the blast radius of a runpack action is the sensitivity of the run's
receipt targets (1..3), of a trace action the sensitivity words in its tool
name and violations. The report has no clock: same inputs, same bytes.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from gait.errors import GaitError, InvalidInput
from gait.packs.common import normalize_identifier, unique_sorted

__all__ = ["build_top_actions_report", "resolve_report_runs", "resolve_report_traces"]

DEFAULT_LIMIT = 5
MAX_LIMIT = 20
_SERIOUS = ("violation_", "blocked", "approval", "destructive", "credential", "prompt_injection")
_VERDICT_BONUS = {"block": 15, "require_approval": 12, "error": 8}
_HIGH_WORDS = ("prod", "payment", "finance", "customer", "pii", "ssn", "delete", "drop", "destroy")
_MID_WORDS = ("internal", "staging", "queue")


def _sanitize(text: str, what: str) -> str:
    raw = text.strip()
    cleaned = os.path.normpath(raw) if raw else ""
    if not cleaned or cleaned in (".", os.sep):
        raise InvalidInput(f"invalid {what} source {text!r}: path is required")
    if not os.path.isabs(cleaned) and (cleaned == ".." or cleaned.startswith(".." + os.sep)):
        raise InvalidInput(
            f"invalid {what} source {text!r}: path must be local relative or absolute"
        )
    return cleaned


def _walk(root: str, prefix: str, suffix: str) -> list[str]:
    found = []
    for parent, dirs, files in os.walk(root):
        dirs.sort()
        for name in files:
            low = name.lower()
            if low.startswith(prefix) and low.endswith(suffix):
                found.append(os.path.normpath(os.path.join(parent, name)))
    return found


def resolve_report_runs(sources: Iterable[str]) -> list[str]:
    """Files, directories (their ``runpack_*.zip``, recursively) or run_ids → runpack paths."""
    from gait.runpack.locate import looks_like_path, resolve_runpack

    out: list[str] = []
    for source in sources:
        if not source.strip():
            continue
        path = _sanitize(source, "run")
        if os.path.isdir(path):
            out += _walk(path, "runpack_", ".zip")
        elif os.path.exists(path):
            out.append(path)
        elif looks_like_path(source.strip()):
            raise InvalidInput(f"run source not found: {source.strip()}")
        else:
            out.append(resolve_runpack(source.strip()))
    return unique_sorted(out)


def resolve_report_traces(sources: Iterable[str]) -> list[str]:
    """Trace files or directories (their ``trace_*.json``, recursively)."""
    out: list[str] = []
    for source in sources:
        if not source.strip():
            continue
        path = _sanitize(source, "trace")
        if not os.path.exists(path):
            raise InvalidInput(f"trace source not found: {source.strip()}")
        if os.path.isdir(path):
            out += _walk(path, "trace_", ".json")
        elif not path.lower().endswith(".json"):
            raise InvalidInput(f"trace source must be a .json file or directory: {path}")
        else:
            out.append(path)
    return unique_sorted(out)


def _score(class_score: int, blast: int, verdict: str, reasons: list[str]) -> int:
    score = class_score * 100 + blast * 10 + _VERDICT_BONUS.get(verdict, 0)
    for code in reasons:
        low = code.lower()
        score += 2 if any(word in low for word in _SERIOUS) else 1
    return score


def _sensitivity(text: str, high: tuple[str, ...]) -> int:
    if any(word in text for word in high):
        return 3
    if any(word in text for word in _MID_WORDS):
        return 2
    return 1


def _runpack_actions(path: str) -> tuple[str, list[dict[str, Any]]]:
    from gait.runpack.reader import read_runpack
    from gait.scout.signal import _CLASS_SCORE, _target, classify_tool

    try:
        pack = read_runpack(path)
    except GaitError as err:
        raise InvalidInput(f"read runpack {path}: {err.message}") from err
    run_id = (pack.run.run_id or "").strip()
    if not run_id:
        raise InvalidInput(f"runpack {path} missing run_id")
    receipts = pack.refs.receipts or []
    blast = 1
    if receipts:
        targets = unique_sorted(_target(r.source_type, r.source_locator) for r in receipts)
        blast = max(
            (
                _sensitivity(t.lower(), ("prod", "payment", "finance", "customer", "pii", "db"))
                for t in targets
            ),
            default=1,
        )
    statuses = {
        r.intent_id.strip(): normalize_identifier(r.status.strip().lower())
        for r in pack.results
        if r.intent_id.strip()
    }
    actions = []
    for intent in pack.intents:
        tool = intent.tool_name.strip()
        if not tool:
            continue
        intent_id = intent.intent_id.strip()
        status = statuses.get(intent_id, "")
        reasons = [] if status in ("", "ok", "success") else [f"result_status_{status}"]
        tool_class = classify_tool(tool)
        action: dict[str, Any] = {
            "score": _score(_CLASS_SCORE[tool_class], blast, "", reasons),
            "tool_class": tool_class,
            "blast_radius": blast,
            "run_id": run_id,
            "intent_id": intent_id,
            "tool_name": tool,
            "reason_codes": reasons,
            "source_type": "runpack",
            "source_artifact": path,
        }
        actions.append(action)
    return run_id, actions


def _trace_action(path: str) -> tuple[str, dict[str, Any] | None]:
    from gait.packs.common import read_json_file
    from gait.scout.signal import _CLASS_SCORE, _RUN_ID, classify_tool

    record = read_json_file(path, "trace")
    if not isinstance(record, dict):
        raise InvalidInput(f"parse trace {path}: expected a JSON object")
    run_id = ""
    for key in ("correlation_id", "trace_id"):
        match = _RUN_ID.search(str(record.get(key) or "").strip())
        if match:
            run_id = match.group(0)
            break
    run_id = run_id or "unknown"
    tool = str(record.get("tool_name") or "").strip()
    if not tool:
        return run_id, None
    verdict = normalize_identifier(str(record.get("verdict") or "").strip().lower())
    violations = [v for v in record.get("violations") or [] if isinstance(v, str)]
    reasons = [f"trace_verdict_{verdict}"] if verdict and verdict != "allow" else []
    for violation in violations:
        if violation.strip():
            reasons.append(f"violation_{normalize_identifier(violation.strip().lower())}")
    reasons = unique_sorted(reasons)
    blast = _sensitivity(" ".join([tool, *violations]).lower(), _HIGH_WORDS)
    tool_class = classify_tool(tool)
    return run_id, {
        "score": _score(_CLASS_SCORE[tool_class], blast, verdict, reasons),
        "tool_class": tool_class,
        "blast_radius": blast,
        "run_id": run_id,
        "intent_digest": str(record.get("intent_digest") or "").strip().lower(),
        "trace_id": str(record.get("trace_id") or "").strip(),
        "tool_name": tool,
        "verdict": verdict,
        "reason_codes": reasons,
        "source_type": "trace",
        "source_artifact": path,
    }


def build_top_actions_report(
    runpack_paths: Iterable[str],
    trace_paths: Iterable[str],
    *,
    limit: int = DEFAULT_LIMIT,
    producer_version: str = "0.0.0-dev",
) -> dict[str, Any]:
    from gait.scout.signal import _CLASS_SCORE, FIXED_TIME

    runs, traces = unique_sorted(runpack_paths), unique_sorted(trace_paths)
    if not runs and not traces:
        raise InvalidInput("at least one runpack or trace path is required")
    limit = DEFAULT_LIMIT if limit <= 0 else min(limit, MAX_LIMIT)
    candidates: list[dict[str, Any]] = []
    run_ids: set[str] = set()
    for path in runs:
        run_id, actions = _runpack_actions(path)
        run_ids.add(run_id)
        candidates += actions
    for path in traces:
        run_id, action = _trace_action(path)
        run_ids.add(run_id)
        if action is not None:
            candidates.append(action)
    if not candidates:
        raise InvalidInput("no actions found in provided runpack/trace sources")
    candidates.sort(
        key=lambda a: (
            -a["score"],
            -_CLASS_SCORE[a["tool_class"]],
            -a["blast_radius"],
            a["run_id"],
            a.get("intent_id", ""),
            a.get("intent_digest", ""),
            a.get("trace_id", ""),
            a["tool_name"],
            a["source_type"],
            a["source_artifact"],
        )
    )
    top = []
    for rank, action in enumerate(candidates[:limit], start=1):
        # empty optional fields are left out, as the original's omitempty
        item = {k: v for k, v in action.items() if v or k in ("run_id", "tool_name")}
        top.append({"rank": rank, **item})
    return {
        "schema_id": "gait.report.top_actions",
        "schema_version": "1.0.0",
        "created_at": FIXED_TIME,
        "producer_version": producer_version.strip() or "0.0.0-dev",
        "run_count": len(run_ids),
        "trace_count": len(traces),
        "action_count": len(candidates),
        "top_actions": top,
    }
