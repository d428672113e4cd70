"""``run replay``: deterministic stub replay (runpack.md §6.5) and policy re-evaluation.

Stub replay (the default) never executes a tool: recorded results are replayed as
``recorded``; intents without one are stubbed by tool class
(``http``/``file``/``db``/``queue``) with a deterministic digest, or reported
as ``missing``.

Real mode (``--real-tools`` + ``--unsafe-real-tools`` + ``--allow-tools`` +
``GAIT_ALLOW_REAL_REPLAY=1``; any one missing is exit 8 before the pack is
read) executes the allowlisted built-ins of :mod:`gait.runpack.realtools`.

Re-evaluation (``--policy``, an addition to the reference) asks the one
engine for a fresh decision on every recorded intent and compares it with the
recorded verdict. The intent given to the engine is the ``gate_intent`` the
Recorder stored in ``raw`` capture mode (exactly what the gate saw); without
it, the intent is rebuilt from ``tool_name`` + ``args`` + the caller's
default context, and when ``args`` were not captured (``reference`` mode) the
step cannot be re-evaluated and is reported as ``skipped``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

from gait.canonical import sha256_hex
from gait.errors import InvalidInput, UnsafeOperation
from gait.runpack.inspect import result_verdict, trace_receipts, verdict_of
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
    "REAL_REPLAY_ENV",
    "check_real_replay",
    "reevaluate",
    "reevaluate_stream",
    "replay_stream",
    "replay_stub",
    "stub_type",
]

REAL_REPLAY_ENV = "GAIT_ALLOW_REAL_REPLAY"
_STUB_CLASSES = (
    ("http", ("http", "fetch", "url")),
    ("file", ("file", "path", "fs", "write")),
    ("db", ("db", "sql", "query", "table")),
    ("queue", ("queue", "topic", "publish", "kafka")),
)


def stub_type(tool_name: str) -> str:
    """§6.5 step 3: the first class whose keyword occurs in the lowercased tool name."""
    low = tool_name.lower()
    for name, words in _STUB_CLASSES:
        if any(word in low for word in words):
            return name
    return ""


def _check_unique(source: RecordSource) -> bool:
    """Refuse duplicate intent or result ids; returns whether the pack is aligned.

    Aligned (result i belongs to intent i, intent ids unique) proves both
    unique without another pass.
    """
    aligned = aligned_first_results(source)
    if aligned:
        return True
    for records, what in (
        (source.intents(), "duplicate intent_id in runpack"),
        (source.results(), "duplicate result for intent_id"),
    ):
        seen: set[str] = set()
        for record in records:
            if record.intent_id in seen:
                raise InvalidInput(f"{what}: {record.intent_id}")
            seen.add(record.intent_id)
    return False


class _Recorded(NamedTuple):
    status: str
    result_digest: str


def _recorded(result: ResultRecord) -> _Recorded:
    return _Recorded(result.status, result.result_digest)


def check_real_replay(
    *, real_tools: bool, unsafe: bool, allow_tools: list[str], env_name: str
) -> None:
    """The unsafe opt-ins of real replay; any missing one → exit 8."""
    if not real_tools:
        return
    if not unsafe:
        raise UnsafeOperation("real tool execution requires --unsafe-real-tools")
    if not allow_tools:
        raise UnsafeOperation(
            "real tool execution requires --allow-tools with explicit tool names",
            details={"requested_unsafe": True},
        )
    name = env_name.strip() or REAL_REPLAY_ENV
    if os.environ.get(name, "").strip() != "1":
        raise UnsafeOperation(
            f"real tool execution requires {name}=1", details={"requested_unsafe": True}
        )


def replay_stub(
    pack: Runpack | RecordSource,
    *,
    real_tools: bool = False,
    allow_tools: list[str] | None = None,
    workdir: str | None = None,
    unsafe: bool = False,
    unsafe_env: str = REAL_REPLAY_ENV,
) -> dict[str, Any]:
    """The replay payload of §6.5 (``ok`` = no missing results).

    With ``real_tools``, every guard of :func:`check_real_replay` is checked
    here too (``unsafe`` confirms, ``allow_tools`` non-empty, the
    ``unsafe_env`` variable set to 1; else :class:`UnsafeOperation`, exit 8),
    then intents whose tool is allowlisted *and* one of the built-ins of
    :mod:`gait.runpack.realtools` are executed in ``workdir`` (default: the
    current directory) and reported as ``executed``; everything else replays
    as in stub mode.
    """
    return materialize(
        replay_stream(
            source_of(pack),
            real_tools=real_tools,
            allow_tools=allow_tools,
            workdir=workdir,
            unsafe=unsafe,
            unsafe_env=unsafe_env,
        )
    )


def replay_stream(
    source: RecordSource,
    *,
    real_tools: bool = False,
    allow_tools: list[str] | None = None,
    workdir: str | None = None,
    unsafe: bool = False,
    unsafe_env: str = REAL_REPLAY_ENV,
) -> dict[str, Any]:
    """:func:`replay_stub` with ``steps`` as a :class:`LazyList` in stub mode.

    Stub steps are pure, so they are computed twice: once for ``missing_results``
    (written before ``steps``), once while the steps are written. Real mode runs
    each tool exactly once and keeps its steps in memory.
    """
    check_real_replay(
        real_tools=real_tools, unsafe=unsafe, allow_tools=allow_tools or [], env_name=unsafe_env
    )
    aligned = _check_unique(source)
    allowed = {t.strip().lower() for t in allow_tools or [] if t.strip()}
    warnings: list[str] = []
    if real_tools:
        warnings.append("allow_tools=" + ",".join(allow_tools or []))

    def steps() -> Iterator[dict[str, Any]]:
        for intent, recorded in joined(source, aligned, _recorded):
            yield _replay_step(
                source.run_id, intent, recorded, real_tools, allowed, workdir, warnings
            )

    if real_tools:
        done: list[dict[str, Any]] | LazyList = list(steps())
        missing = [s["intent_id"] for s in done if s["execution"] == "missing"]
    else:
        done = LazyList(steps, source.intents_total)
        # Aligned: every intent has its result, so none can be missing.
        missing = [] if aligned else [s["intent_id"] for s in done if s["execution"] == "missing"]
    return {
        "ok": not missing,
        "run_id": source.run_id,
        "mode": "real" if real_tools else "stub",
        "steps": done,
        "missing_results": sorted(missing),
        "warnings": warnings,
        # As the reference: whether --unsafe-real-tools was given, real mode or not.
        "requested_unsafe": unsafe,
    }


def _replay_step(
    run_id: str,
    intent: IntentRecord,
    recorded: _Recorded | None,
    real_tools: bool,
    allowed: set[str],
    workdir: str | None,
    warnings: list[str],
) -> dict[str, Any]:
    from gait.runpack.realtools import builtin, run_tool

    step: dict[str, Any] = {"intent_id": intent.intent_id, "tool_name": intent.tool_name}
    wanted = real_tools and intent.tool_name.strip().lower() in allowed
    if wanted and builtin(intent.tool_name):
        run = run_tool(intent.tool_name, intent.args, workdir or os.getcwd())
        step.update(status=run.status, execution="executed", result_digest=run.result_digest)
        if run.error:
            step["error"] = run.error
        if recorded is not None:
            step["recorded_result_digest"] = recorded.result_digest
        return step
    if wanted:
        warnings.append(
            f"real execution of {intent.tool_name} is not supported (not a built-in); not executed"
        )
    if recorded is not None:
        step.update(
            status=recorded.status,
            execution="recorded",
            result_digest=recorded.result_digest,
        )
        return step
    kind = stub_type(intent.tool_name)
    if kind:
        seed = (
            f"{run_id}:{intent.intent_id}:{intent.tool_name.lower()}:"
            f"{intent.args_digest.lower()}:{kind}"
        )
        step.update(
            status="stubbed",
            execution="stubbed",
            stub_type=kind,
            result_digest=sha256_hex(seed.encode("utf-8")),
        )
    else:
        step.update(status="missing_result", execution="missing")
    return step


class _Evidence(NamedTuple):
    """What re-evaluation needs of a result: its recorded verdict, policy and gate intent."""

    verdict: tuple[str, list[str], list[str]] | None
    policy_digest: str | None
    gate_intent: dict[str, Any] | None


def _evidence(result: ResultRecord) -> _Evidence:
    payload = result.result if isinstance(result.result, dict) else {}
    digest = payload.get("policy_digest")
    gate_intent = payload.get("gate_intent")
    return _Evidence(
        result_verdict(result),
        digest if isinstance(digest, str) else None,
        gate_intent if isinstance(gate_intent, dict) else None,
    )


def reevaluate(
    pack: Runpack | RecordSource,
    evaluate: Callable[[dict[str, Any]], Any],
    *,
    policy_digest: str,
    default_context: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Re-decide every recorded intent; returns per-step verdicts and the divergences.

    ``evaluate`` takes a raw intent mapping and returns an object with
    ``verdict``/``reason_codes``; an intent the engine rejects is reported
    with ``replay_verdict: "error"``. A step diverges when a verdict was
    recorded and the new verdict or reason codes differ from it.
    """
    return materialize(
        reevaluate_stream(
            source_of(pack),
            evaluate,
            policy_digest=policy_digest,
            default_context=default_context,
        )
    )


def reevaluate_stream(
    source: RecordSource,
    evaluate: Callable[[dict[str, Any]], Any],
    *,
    policy_digest: str,
    default_context: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """:func:`reevaluate` with ``steps`` as a :class:`LazyList`.

    The summary fields (divergences, recorded policies, skipped) come before
    ``steps`` in the output, so every intent is evaluated once for them and
    again while its step is written; ``evaluate`` must be deterministic (the
    engine is).
    """
    aligned = _check_unique(source)
    receipts = trace_receipts(source)

    def walk() -> Iterator[tuple[dict[str, Any], dict[str, Any] | None, set[str]]]:
        for intent, evidence in joined(source, aligned, _evidence):
            yield _reevaluate_step(
                intent, evidence, receipts.get(intent.intent_id), evaluate, default_context
            )

    divergences: list[dict[str, Any]] = []
    recorded_digests: set[str] = set()
    skipped = 0
    for step, divergence, digests in walk():
        recorded_digests |= digests
        if divergence is not None:
            divergences.append(divergence)
        if step.get("reevaluation") == "skipped":
            skipped += 1
    matches: bool | None = None
    if recorded_digests:
        matches = recorded_digests == {policy_digest}
    return {
        "policy_digest": policy_digest,
        "recorded_policy_digests": sorted(recorded_digests),
        "policy_matches_recorded": matches,
        "steps": LazyList(lambda: (step for step, _d, _p in walk()), source.intents_total),
        "divergences": divergences,
        "skipped": skipped,
    }


def _reevaluate_step(
    intent: IntentRecord,
    evidence: _Evidence | None,
    receipt: Receipt | None,
    evaluate: Callable[[dict[str, Any]], Any],
    default_context: Mapping[str, Any] | None,
) -> tuple[dict[str, Any], dict[str, Any] | None, set[str]]:
    from gait.errors import GaitError

    verdict, reasons, _violations = verdict_of(
        evidence.verdict if evidence is not None else None, receipt
    )
    digests: set[str] = set()
    if evidence is not None and evidence.policy_digest is not None:
        digests.add(evidence.policy_digest)
    if receipt is not None and isinstance(receipt.retrieval_params, dict):
        value = receipt.retrieval_params.get("policy_digest")
        if isinstance(value, str):
            digests.add(value)
    step: dict[str, Any] = {
        "intent_id": intent.intent_id,
        "tool_name": intent.tool_name,
        "recorded_verdict": verdict,
    }
    gate_intent = evidence.gate_intent if evidence is not None else None
    if gate_intent is not None:
        request, source = dict(gate_intent), "recorded_gate_intent"
    elif intent.args is not None:
        request = {"tool_name": intent.tool_name, "args": intent.args}
        if default_context is not None:
            request["context"] = dict(default_context)
        source = "rebuilt_from_args"
    else:
        step.update(reevaluation="skipped", reason="args not captured (reference capture mode)")
        return step, None, digests
    try:
        decision = evaluate(request)
        new_verdict = str(decision.verdict)
        new_reasons = sorted(set(decision.reason_codes))
    except GaitError as err:
        new_verdict, new_reasons = "error", []
        step["error"] = err.message
    step.update(
        reevaluation="evaluated",
        intent_source=source,
        replay_verdict=new_verdict,
        replay_reason_codes=new_reasons,
    )
    # Nothing recorded means nothing to diverge from: the new verdict is reported only.
    diverged = bool(verdict) and (new_verdict != verdict or new_reasons != reasons)
    step["diverged"] = diverged
    divergence = None
    if diverged:
        divergence = {
            "intent_id": intent.intent_id,
            "tool_name": intent.tool_name,
            "recorded_verdict": verdict,
            "recorded_reason_codes": reasons,
            "replay_verdict": new_verdict,
            "replay_reason_codes": new_reasons,
        }
    return step, divergence, digests
