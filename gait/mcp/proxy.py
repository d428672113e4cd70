"""Deciding one decoded tool call: gate, signed trace, runpack, exports (serve_sdk.md §2).

:func:`evaluate_call` is what ``gait mcp proxy`` runs and what ``mcp serve``
runs per request: the decision itself is :meth:`gait.gate.Gate.decide` (the
same pipeline as ``gate eval``, so verdicts, reason codes and digests agree);
this module adds the proxy's run id, default trace name, one-intent runpack
and the JSONL log / OTel exports. It never executes the tool.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from gait.errors import GaitError, InvalidInput
from gait.gate import Gate, GateResult
from gait.mcp.decode import DecodedCall, _trim

__all__ = [
    "ProxyResult",
    "build_runpack",
    "check_context_envelope",
    "default_trace_name",
    "emergency_stop",
    "evaluate_call",
    "log_export_line",
    "normalize_run_id",
    "otel_export_line",
    "resolve_run_id",
]

_RUN_ID_JUNK = re.compile(r"[^A-Za-z0-9_-]+")
_EPOCH_1980_NS = 315_532_800 * 1_000_000_000


def normalize_run_id(text: str) -> str:
    """Runs of characters outside ``[A-Za-z0-9_-]`` become ``_``; trim ``_``; prefix ``run_``.

    Empty (or all-junk) text gives ``""``.
    """
    if not text:
        return ""
    cleaned = _RUN_ID_JUNK.sub("_", _trim(text)).strip("_")
    if not cleaned:
        return ""
    return cleaned if cleaned.startswith("run_") else "run_" + cleaned


def resolve_run_id(explicit: str, call: DecodedCall, decision: Any = None) -> str:
    """``--run-id``, else the call's ``context.run_id``, else ``run_mcp_`` + 12 hex of the intent digest.

    ``decision`` (the engine Decision of this call, optional) lends its cached
    digest when it decided this very intent object, so it is not computed twice.
    """
    resolved = normalize_run_id(explicit) or normalize_run_id(call.run_id)
    if resolved:
        return resolved
    if decision is not None and decision.intent is call.intent:
        return "run_mcp_" + decision.intent_digest[:12]
    from gait.intent import intent_digest

    return "run_mcp_" + intent_digest(call.intent)[:12]


_last_stamp_second: tuple[int, str] = (-1, "")  # one tuple: threads never see half an update


def _utc_stamp(now_ns: int) -> str:
    """``yyyymmddTHHMMSS.nnnnnnnnn`` in UTC; the date-time part is rendered once per second."""
    global _last_stamp_second
    seconds, nanos = divmod(now_ns, 1_000_000_000)
    cached_seconds, text = _last_stamp_second
    if seconds != cached_seconds:
        text = time.strftime("%Y%m%dT%H%M%S", time.gmtime(seconds))
        _last_stamp_second = (seconds, text)
    return f"{text}.{nanos:09d}"


def default_trace_name(run_id: str, now_ns: int) -> str:
    """``trace_<normalized run id>_<UTC yyyymmddTHHMMSS.nnnnnnnnn>.json`` (empty run id → ``trace__…``)."""
    return f"trace_{normalize_run_id(run_id)}_{_utc_stamp(now_ns)}.json"


class ProxyResult:
    """One proxied decision and the artifacts written for it."""

    __slots__ = (
        "adapter",
        "call",
        "decision_latency_ms",
        "gate_result",
        "log_export",
        "otel_export",
        "pack_id",
        "pack_path",
        "run_id",
        "runpack_path",
        "warnings",
    )

    def __init__(
        self,
        call: DecodedCall,
        gate_result: GateResult,
        run_id: str,
        *,
        warnings: Sequence[str] = (),
        decision_latency_ms: int = 0,
        runpack_path: str = "",
        log_export: str = "",
        otel_export: str = "",
    ) -> None:
        self.call = call
        self.adapter = call.adapter
        self.gate_result = gate_result
        self.run_id = run_id
        self.warnings = tuple(warnings)
        self.decision_latency_ms = decision_latency_ms
        self.runpack_path = runpack_path
        self.log_export = log_export
        self.otel_export = otel_export
        # Set by callers that also build a pack (gait.packs sits beside gait.mcp).
        self.pack_path = ""
        self.pack_id = ""

    @property
    def verdict(self) -> str:
        return self.gate_result.verdict

    @property
    def exit_code(self) -> int:
        """0 allow / dry_run, 3 block, 4 require_approval."""
        return self.gate_result.exit_code

    def payload(self) -> dict[str, Any]:
        """The ``mcp proxy`` output object of serve_sdk.md §2 (empty optional fields omitted).

        ``matched_rule`` (as in ``gate eval``) is added so every surface reports
        the same rule; ``matched_rule_ids`` is the trace's field (script steps).
        """
        result = self.gate_result
        decision = result.decision
        intent = decision.intent if decision.intent is not None else self.call.intent
        trace = result.trace or {}
        optional: dict[str, Any] = {
            "adapter": self.adapter,
            "run_id": self.run_id,
            "job_id": intent.context.job_id,
            "phase": intent.context.phase,
            "session_id": intent.context.session_id,
            "tool_name": intent.tool_name,
            "verdict": result.verdict,
            "reason_codes": list(result.reason_codes),
            "violations": list(result.violations),
            "policy_digest": decision.policy_digest,
            "policy_id": trace.get("policy_id", ""),
            "policy_version": trace.get("policy_version", ""),
            "matched_rule": decision.matched_rule,
            "matched_rule_ids": list(trace.get("matched_rule_ids") or ()),
            "intent_digest": decision.intent_digest,
            "decision_latency_ms": self.decision_latency_ms,
            "trace_id": result.trace_id,
            "trace_path": result.trace_path,
            "runpack_path": self.runpack_path,
            "pack_path": self.pack_path,
            "pack_id": self.pack_id,
            "log_export": self.log_export,
            "otel_export": self.otel_export,
            "mcp_trust": trace.get("mcp_trust"),
            "warnings": sorted(set(self.warnings)),
            "relationship": trace.get("relationship"),
        }
        out: dict[str, Any] = {"ok": True, "executed": False}
        out.update((k, v) for k, v in optional.items() if v)
        return out


def _result_payload(result: GateResult) -> dict[str, Any]:
    return {
        "verdict": result.verdict,
        "reason_codes": list(result.reason_codes),
        "violations": list(result.violations),
        "trace_id": result.trace_id,
    }


def build_runpack(call: DecodedCall, result: GateResult, run_id: str) -> Any:
    """The one-intent runpack of a proxied decision (serve_sdk.md §2, runpack.md §1).

    Deterministic: every timestamp is the decision's ``created_at``.
    Returns a :class:`gait.runpack.RecordResult`.
    """
    from gait import PRODUCER_VERSION
    from gait.intent import args_digest
    from gait.runpack.record import record_runpack

    decision = result.decision
    intent = decision.intent if decision.intent is not None else call.intent
    created = decision.created_at
    header = {
        "created_at": created,
        "producer_version": PRODUCER_VERSION,
        "run_id": run_id,
    }
    payload = _result_payload(result)
    status = "error" if result.verdict in ("block", "require_approval") else "ok"
    return record_runpack(
        {
            **header,
            "timeline": [
                {"event": "proxy_eval_start", "ts": created},
                {"event": "proxy_eval_finish", "ts": created},
            ],
        },
        [
            {
                **header,
                "intent_id": "intent_1",
                "tool_name": intent.tool_name,
                "args_digest": args_digest(intent),
                "args": dict(intent.args),
            }
        ],
        [{**header, "intent_id": "intent_1", "status": status, "result": payload}],
        {**header, "receipts": []},
        capture_mode="reference",
    )


def _delegation(result: GateResult) -> tuple[str, int]:
    ref = (result.trace or {}).get("delegation_ref") or {}
    text = str(ref.get("delegation_token_ref") or ref.get("chain_digest") or "").strip()
    return text, int(ref.get("delegation_depth") or 0)


def log_export_line(
    result: GateResult, run_id: str, *, latency_ms: int = 0, producer_version: str = ""
) -> dict[str, Any]:
    """The JSONL log export record of one decision (serve_sdk.md §2)."""
    from gait import PRODUCER_VERSION

    decision = result.decision
    intent = decision.intent
    assert intent is not None
    delegation_ref, depth = _delegation(result)
    line: dict[str, Any] = {
        "created_at": decision.created_at,
        "producer_version": producer_version or PRODUCER_VERSION,
        "run_id": run_id,
        "trace_id": result.trace_id,
        "tool_name": intent.tool_name,
        "verdict": result.verdict,
        "policy_digest": decision.policy_digest,
        "intent_digest": decision.intent_digest,
    }
    optional = {
        "session_id": intent.context.session_id,
        "trace_path": result.trace_path,
        "reason_codes": list(result.reason_codes),
        "decision_latency_ms": latency_ms,
        "delegation_ref": delegation_ref,
        "delegation_depth": depth,
    }
    line.update((k, v) for k, v in optional.items() if v)
    return line


def _unix_nano(text: str) -> int:
    from gait.signing.timestamps import parse_rfc3339

    try:
        seconds, nanos = parse_rfc3339(text)
    except (InvalidInput, ValueError):
        return _EPOCH_1980_NS
    return seconds * 1_000_000_000 + nanos


def otel_export_line(result: GateResult, run_id: str, *, latency_ms: int = 0) -> dict[str, Any]:
    """The OTel-style JSONL export record of one decision (serve_sdk.md §2)."""
    decision = result.decision
    intent = decision.intent
    assert intent is not None
    delegation_ref, depth = _delegation(result)
    return {
        "time_unix_nano": _unix_nano(decision.created_at),
        "severity_text": "INFO",
        "body": "gait.mcp.proxy.decision",
        "trace_id": result.trace_id,
        "attributes": {
            "gait.run_id": run_id,
            "gait.session_id": intent.context.session_id,
            "gait.trace_path": result.trace_path,
            "gait.tool_name": intent.tool_name,
            "gait.verdict": result.verdict,
            "gait.policy_digest": decision.policy_digest,
            "gait.intent_digest": decision.intent_digest,
            "gait.decision_latency_ms": latency_ms,
            "gait.delegation_ref": delegation_ref,
            "gait.delegation_depth": depth,
            "gait.reason_codes": list(result.reason_codes),
        },
    }


def export_target(path: str) -> str:
    """A cleaned export path; a relative one must not contain a ``..`` segment."""
    target = path.strip()
    if not target:
        raise InvalidInput("export path is required")
    if not os.path.isabs(target) and ".." in target.replace("\\", "/").split("/"):
        raise InvalidInput("relative export path must not traverse parent directories")
    return os.path.normpath(target)


def append_jsonl(path: str, record: Mapping[str, Any]) -> str:
    """Append one compact, sorted-key JSON line (mode 0600, parent created).

    One ``write`` on an ``O_APPEND`` descriptor under an exclusive lock, so
    concurrent writers (``mcp serve`` threads, parallel proxies) never
    interleave lines.
    """
    import json

    target = export_target(path)
    parent = os.path.dirname(target)
    data = (
        json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"
    ).encode("utf-8")
    try:
        if parent:
            os.makedirs(parent, mode=0o750, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    except OSError as err:
        raise InvalidInput(f"append export file: {err.strerror or err}: {target}") from None
    try:
        try:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX)
        except (ImportError, OSError):
            pass  # no advisory locks here: O_APPEND alone keeps single writes whole
        os.write(fd, data)
    finally:
        os.close(fd)
    return target


def check_context_envelope(call: DecodedCall, context_envelope: Any) -> Any:
    """Load and verify the call's context envelope (trace.md §8), or None without one.

    The envelope is ``--context-envelope`` (a path, or an envelope a long-lived
    caller such as ``mcp serve`` loaded and verified once at start-up) or
    ``call.context.context_envelope_path``;
    both at once is refused (the call may not swap the boundary's evidence), as
    is an envelope that cannot be read or does not verify (InvalidInput, exit 6;
    never ignored).
    """
    loaded = context_envelope if not isinstance(context_envelope, str | None) else None
    boundary = "<loaded>" if loaded is not None else (context_envelope or "").strip()
    in_call = call.context_envelope_path.strip()
    if boundary and in_call:
        raise InvalidInput(
            "context envelope is already configured at the boundary; "
            "remove call.context.context_envelope_path"
        )
    if loaded is not None:
        return loaded
    given = boundary or in_call
    if not given:
        return None
    from gait.intent.envelope import load_envelope

    return load_envelope(given)


EMERGENCY_STOPPED = frozenset(("stopped",))
"""Job statuses that stop every further tool call of the job (``gait job stop``)."""


def emergency_stop(
    call: DecodedCall, job_root: str | None, job_status: Callable[[str], str] | None
) -> tuple[str, list[str]]:
    """``(reason code, warnings)`` of the emergency-stop check; ``("", [])`` when none applies.

    Applies to calls with ``context.job_id`` when a ``job_root`` is given.
    ``job_status(job_id)`` reads the job's status (the caller supplies it: the
    job store sits beside this package); a job whose state cannot be read
    blocks too (``emergency_stop_state_unavailable``), so an unknown job is
    never waved through. Without ``job_status`` the check cannot be made and
    the call is refused (:class:`InvalidInput`) rather than decided unchecked.
    """
    if job_root is None or not call.job_id:
        return "", []
    if job_status is None:
        raise InvalidInput(
            "context.job_id requires the emergency-stop check under --job-root, "
            "and no job store was given to check it"
        )
    try:
        status = job_status(call.job_id)
    except GaitError as err:
        return "emergency_stop_state_unavailable", [f"job_status_unavailable={err.message}"]
    if status in EMERGENCY_STOPPED:
        return "emergency_stop_preempted", []
    return "", []


def _resign(
    gate: Gate,
    result: GateResult,
    verdict: str,
    reasons: list[str],
    violations: list[str],
    write: bool,
    **extra: Any,
) -> None:
    """Replace the decision's outcome and sign its trace again (same path, atomic replace).

    The gate signs before the proxy's own checks (server trust, emergency
    stop) run, so a changed outcome needs a new signature over the final one.
    """
    from gait.trace import compute_event_id, compute_trace_id, sign_trace, write_trace

    if result.trace is None:
        return
    record = {k: v for k, v in result.trace.items() if k != "signature"}
    trace_id = compute_trace_id(record["policy_digest"], record["intent_digest"], verdict)
    record.update(
        verdict=verdict,
        trace_id=trace_id,
        event_id=compute_event_id(trace_id, record["observed_at"]),
        violations=violations,
        **extra,
    )
    signed = sign_trace(record, gate.signing_key)
    result.verdict, result.reason_codes, result.violations = verdict, reasons, violations
    result.trace, result.trace_id = signed, trace_id
    if write and result.trace_path:
        result.trace_path = write_trace(result.trace_path, signed)


def _apply_server_trust(
    gate: Gate, call: DecodedCall, result: GateResult, trust: Any, now_ns: int, write: bool
) -> None:
    """Fold the policy's ``mcp_trust`` finding into the decision and its signed trace.

    The call's normalized risk class decides whether trust is required
    (``high`` when the call gave none), so a context-free call cannot opt out.
    """
    from gait.mcp.trust import apply_trust, evaluate_server_trust

    decision = evaluate_server_trust(trust, call.server, call.intent.context.risk_class, now_ns)
    if decision is None:
        return
    verdict, reasons, violations = apply_trust(
        result.verdict, result.reason_codes, result.violations, decision, trust.action
    )
    _resign(gate, result, verdict, reasons, violations, write, mcp_trust=decision)


def evaluate_call(
    gate: Gate,
    call: DecodedCall,
    *,
    run_id: str = "",
    trace_path: str | None = None,
    write_trace: bool = True,
    runpack_out: str | None = None,
    export_log_out: str | None = None,
    export_otel_out: str | None = None,
    approval_tokens: Sequence[str | Mapping[str, Any]] = (),
    approval_audit_out: str | None = None,
    delegation_tokens: Sequence[str | Mapping[str, Any]] = (),
    delegation_audit_out: str | None = None,
    context_envelope: Any = None,
    job_root: str | None = None,
    job_status: Callable[[str], str] | None = None,
    correlation_id: str = "",
    now_ns: int | None = None,
) -> ProxyResult:
    """Decide ``call`` with ``gate``; write the signed trace and the requested artifacts.

    ``run_id`` is the caller's explicit run id (``--run-id``); the resolved one
    follows serve_sdk.md §2. ``trace_path`` defaults to
    :func:`default_trace_name` of the explicit run id in the current directory.
    With ``job_root``, a call carrying ``context.job_id`` is blocked when
    ``job_status`` reports the job stopped or cannot read it (see
    :func:`emergency_stop`). A policy ``mcp_trust`` block is applied to
    ``call.server`` (see :mod:`gait.mcp.trust`). A context envelope (the
    argument, else ``call.context_envelope_path``) is verified and overrides
    the intent's context evidence; one that does not verify raises
    :class:`InvalidInput` (exit 6), as do a bad output path and an
    undecidable intent. This is the one decision path of every surface
    (``mcp proxy``, ``mcp serve``, ``mcp wrap``, the SDK's HTTP client).
    """
    started = time.perf_counter()
    stamp_ns = time.time_ns() if now_ns is None else now_ns
    envelope = check_context_envelope(call, context_envelope)
    stop_reason, stop_warnings = emergency_stop(call, job_root, job_status)
    # Output paths are checked before deciding, so a bad one leaves no trace behind.
    if runpack_out is not None and runpack_out.strip():
        from gait.runpack.record import check_output_path

        check_output_path(runpack_out)
    for export in (export_log_out, export_otel_out):
        if export is not None and export.strip():
            export_target(export)
    out_path = (trace_path or "").strip() or default_trace_name(run_id, stamp_ns)
    trust = gate.compiled.policy.mcp_trust  # read with the table decide() is about to use
    result = gate.decide(
        call.intent,
        trace_out=out_path,
        write_trace=write_trace,
        approval_tokens=approval_tokens,
        approval_audit_out=approval_audit_out,
        delegation_tokens=delegation_tokens,
        delegation_audit_out=delegation_audit_out,
        correlation_id=correlation_id,
        context_envelope=envelope,
    )
    resolved = resolve_run_id(run_id, call, result.decision)
    if trust.enabled:
        _apply_server_trust(gate, call, result, trust, stamp_ns, write_trace)
    if stop_reason:
        _resign(
            gate,
            result,
            "block",
            sorted({*result.reason_codes, stop_reason}),
            sorted({*result.violations, "emergency_stop_active"}),
            write_trace,
        )
    warnings = [*result.warnings, *call.warnings, *stop_warnings]

    runpack_path = ""
    if runpack_out is not None and runpack_out.strip():
        from gait.runpack.record import write_runpack

        runpack_path = write_runpack(runpack_out, build_runpack(call, result, resolved))

    latency_ms = max(int((time.perf_counter() - started) * 1000), 0)
    log_path = otel_path = ""
    if export_log_out is not None and export_log_out.strip():
        log_path = append_jsonl(
            export_log_out, log_export_line(result, resolved, latency_ms=latency_ms)
        )
    if export_otel_out is not None and export_otel_out.strip():
        otel_path = append_jsonl(
            export_otel_out, otel_export_line(result, resolved, latency_ms=latency_ms)
        )
    return ProxyResult(
        call,
        result,
        resolved,
        warnings=warnings,
        decision_latency_ms=latency_ms,
        runpack_path=runpack_path,
        log_export=log_path,
        otel_export=otel_path,
    )
