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
from collections.abc import Callable, Mapping
from typing import Any

from gait.canonical import sha256_hex
from gait.errors import InvalidInput, UnsafeOperation
from gait.runpack.inspect import step_verdict, trace_receipts
from gait.runpack.reader import Runpack

__all__ = [
    "REAL_REPLAY_ENV",
    "check_real_replay",
    "reevaluate",
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


def _check_unique(pack: Runpack) -> None:
    seen: set[str] = set()
    for intent in pack.intents:
        if intent.intent_id in seen:
            raise InvalidInput(f"duplicate intent_id in runpack: {intent.intent_id}")
        seen.add(intent.intent_id)
    seen = set()
    for result in pack.results:
        if result.intent_id in seen:
            raise InvalidInput(f"duplicate result for intent_id: {result.intent_id}")
        seen.add(result.intent_id)


def check_real_replay(
    *, real_tools: bool, unsafe: bool, allow_tools: list[str], env_name: str
) -> None:
    """The unsafe opt-ins of real replay; any missing one → exit 8."""
    if not real_tools:
        return
    if not unsafe:
        raise UnsafeOperation("real tool replay requires --unsafe-real-tools")
    if not allow_tools:
        raise UnsafeOperation("real tool replay requires --allow-tools")
    name = env_name.strip() or REAL_REPLAY_ENV
    if os.environ.get(name, "").strip() != "1":
        raise UnsafeOperation(f"real tool replay requires {name}=1")


def replay_stub(
    pack: Runpack,
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
    from gait.runpack.realtools import builtin, run_tool

    check_real_replay(
        real_tools=real_tools, unsafe=unsafe, allow_tools=allow_tools or [], env_name=unsafe_env
    )
    _check_unique(pack)
    results = {r.intent_id: r for r in pack.results}
    allowed = {t.strip().lower() for t in allow_tools or [] if t.strip()}
    steps: list[dict[str, Any]] = []
    missing: list[str] = []
    warnings: list[str] = []
    if real_tools:
        warnings.append("allow_tools=" + ",".join(allow_tools or []))
    for intent in pack.intents:
        recorded = results.get(intent.intent_id)
        step: dict[str, Any] = {"intent_id": intent.intent_id, "tool_name": intent.tool_name}
        wanted = real_tools and intent.tool_name.strip().lower() in allowed
        if wanted and builtin(intent.tool_name):
            run = run_tool(intent.tool_name, intent.args, workdir or os.getcwd())
            step.update(status=run.status, execution="executed", result_digest=run.result_digest)
            if run.error:
                step["error"] = run.error
            if recorded is not None:
                step["recorded_result_digest"] = recorded.result_digest
            steps.append(step)
            continue
        if wanted:
            warnings.append(
                f"real execution of {intent.tool_name} is not supported (not a built-in); "
                "not executed"
            )
        if recorded is not None:
            step.update(
                status=recorded.status,
                execution="recorded",
                result_digest=recorded.result_digest,
            )
        else:
            kind = stub_type(intent.tool_name)
            if kind:
                seed = (
                    f"{pack.run_id}:{intent.intent_id}:{intent.tool_name.lower()}:"
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
                missing.append(intent.intent_id)
        steps.append(step)
    return {
        "ok": not missing,
        "run_id": pack.run_id,
        "mode": "real" if real_tools else "stub",
        "steps": steps,
        "missing_results": sorted(missing),
        "warnings": warnings,
        "requested_unsafe": real_tools,
    }


def reevaluate(
    pack: Runpack,
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
    from gait.errors import GaitError

    _check_unique(pack)
    results = {r.intent_id: r for r in pack.results}
    receipts = trace_receipts(pack)
    steps: list[dict[str, Any]] = []
    divergences: list[dict[str, Any]] = []
    recorded_digests: set[str] = set()
    skipped = 0
    for intent in pack.intents:
        result = results.get(intent.intent_id)
        verdict, reasons, _violations = step_verdict(result, receipts.get(intent.intent_id))
        payload = result.result if result is not None and isinstance(result.result, dict) else {}
        if isinstance(payload.get("policy_digest"), str):
            recorded_digests.add(payload["policy_digest"])
        receipt = receipts.get(intent.intent_id)
        if receipt is not None and isinstance(receipt.retrieval_params, dict):
            value = receipt.retrieval_params.get("policy_digest")
            if isinstance(value, str):
                recorded_digests.add(value)
        step: dict[str, Any] = {
            "intent_id": intent.intent_id,
            "tool_name": intent.tool_name,
            "recorded_verdict": verdict,
        }
        gate_intent = payload.get("gate_intent")
        if isinstance(gate_intent, dict):
            request, source = dict(gate_intent), "recorded_gate_intent"
        elif intent.args is not None:
            request = {"tool_name": intent.tool_name, "args": intent.args}
            if default_context is not None:
                request["context"] = dict(default_context)
            source = "rebuilt_from_args"
        else:
            step.update(reevaluation="skipped", reason="args not captured (reference capture mode)")
            steps.append(step)
            skipped += 1
            continue
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
        if diverged:
            divergences.append(
                {
                    "intent_id": intent.intent_id,
                    "tool_name": intent.tool_name,
                    "recorded_verdict": verdict,
                    "recorded_reason_codes": reasons,
                    "replay_verdict": new_verdict,
                    "replay_reason_codes": new_reasons,
                }
            )
        steps.append(step)
    matches: bool | None = None
    if recorded_digests:
        matches = recorded_digests == {policy_digest}
    return {
        "policy_digest": policy_digest,
        "recorded_policy_digests": sorted(recorded_digests),
        "policy_matches_recorded": matches,
        "steps": steps,
        "divergences": divergences,
        "skipped": skipped,
    }
