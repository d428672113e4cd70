"""Capture API: record an agent's tool calls, their gate decisions and results as a runpack.

The Recorder never decides anything itself. A caller passes the decision it
got (from :func:`gait.engine.evaluate`, ``gate eval``, a server…) or a
``gate`` callable that is asked for one before the tool runs; the capture
wraps evaluation, never the reverse (DESIGN.md). Non-``allow`` verdicts are
fail-closed: the decorator and :meth:`Recorder.call` do not run the tool and
raise :class:`ToolBlocked`, and a step whose verdict is not ``allow`` is
recorded as not executed.

What one step leaves in the pack (runpack.md §1; mirrors the SDK run session
of serve_sdk.md):

* an intent record ``intent_0001…`` with ``tool_name`` and ``args_digest``
  (``args`` itself only in ``raw`` capture mode);
* a result record whose ``status`` is ``ok`` / ``error`` when the tool ran,
  else the verdict (``block``, ``require_approval``, ``dry_run``); its
  payload ``{executed, verdict, reason_codes, violations, matched_rule,
  policy_digest, intent_digest, trace_id, error?, result?, gate_intent?}`` is
  digested always and stored only in ``raw`` mode;
* for a gated step, a ``gait.trace`` receipt ``trace_<intent_id>`` whose
  ``retrieval_params`` carry the verdict, so it survives ``reference`` mode;
* timeline events ``intent_captured`` / ``result_captured`` (ref = intent id)
  whose timestamps give each step's duration, between ``run_started`` and
  ``run_finished``.

Example::

    rec = Recorder("run_checkout", gate=policy_gate(compiled), context=ctx)
    with rec:
        hits = rec.call("tool.search", search, {"query": "q"})
        with rec.step("tool.delete", {"path": "/tmp/x"}) as step:
            if step.allowed:
                step.ok(delete("/tmp/x"))
    rec.write()          # ./gait-out/runpack_run_checkout.zip
"""

from __future__ import annotations

import functools
import inspect
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec

from gait.canonical import digest
from gait.errors import EXIT_APPROVAL_REQUIRED, EXIT_POLICY_BLOCKED, GaitError, InvalidInput
from gait.runpack.model import (
    CAPTURE_MODES,
    IntentRecord,
    Receipt,
    Refs,
    ResultRecord,
    Run,
    RunEnv,
    TimelineEvent,
)
from gait.runpack.record import (
    RecordResult,
    default_runpack_path,
    record_runpack,
    write_runpack,
)

if TYPE_CHECKING:
    from gait.signing import KeyPair

__all__ = [
    "GateDecision",
    "Recorder",
    "Step",
    "ToolBlocked",
    "policy_gate",
]

F = TypeVar("F", bound=Callable[..., Any])
Gate = Callable[[dict[str, Any]], Any]
VERDICTS = ("allow", "block", "dry_run", "require_approval")


@dataclass(frozen=True)
class GateDecision:
    """The parts of a gate decision a runpack keeps."""

    verdict: str
    reason_codes: tuple[str, ...] = ()
    violations: tuple[str, ...] = ()
    matched_rule: str = ""
    policy_digest: str = ""
    intent_digest: str = ""
    trace_id: str = ""
    trace_path: str = ""

    @classmethod
    def of(cls, value: Any) -> GateDecision:
        """Accept an engine ``Decision``, a mapping (``gate eval --json`` output) or a verdict."""
        if isinstance(value, GateDecision):
            return value
        if isinstance(value, str):
            return cls(verdict=_verdict(value))
        get: Callable[[str], Any]
        if isinstance(value, Mapping):
            get = value.get
        else:

            def get(name: str) -> Any:
                return getattr(value, name, None)

        matched = get("matched_rule") or ""
        if not matched:
            ids = get("matched_rule_ids") or ()
            matched = ",".join(str(i) for i in ids)
        return cls(
            verdict=_verdict(get("verdict")),
            reason_codes=_strings(get("reason_codes")),
            violations=_strings(get("violations")),
            matched_rule=str(matched),
            policy_digest=str(get("policy_digest") or ""),
            intent_digest=str(get("intent_digest") or ""),
            trace_id=str(get("trace_id") or ""),
            trace_path=str(get("trace_path") or ""),
        )

    @property
    def allowed(self) -> bool:
        return self.verdict == "allow"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"verdict": self.verdict}
        for name in ("reason_codes", "violations"):
            if getattr(self, name):
                out[name] = list(getattr(self, name))
        for name in ("matched_rule", "policy_digest", "intent_digest", "trace_id"):
            if getattr(self, name):
                out[name] = getattr(self, name)
        return out


def _verdict(value: Any) -> str:
    text = str(value or "").strip().lower()
    if text not in VERDICTS:
        raise InvalidInput(f"invalid gate verdict: {value!r}")
    return text


def _strings(value: Any) -> tuple[str, ...]:
    if not value:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(sorted({str(v) for v in value}))


class ToolBlocked(GaitError):
    """A gated tool call was not executed because the verdict was not ``allow``."""

    def __init__(self, tool_name: str, decision: GateDecision) -> None:
        reasons = ",".join(decision.reason_codes) or "none"
        exit_code = (
            EXIT_APPROVAL_REQUIRED
            if decision.verdict == "require_approval"
            else EXIT_POLICY_BLOCKED
        )
        super().__init__(
            f"execution blocked by gate verdict={decision.verdict} reasons={reasons}",
            code="policy_blocked" if exit_code == EXIT_POLICY_BLOCKED else "approval_required",
            category="policy_blocked" if exit_code == EXIT_POLICY_BLOCKED else "approval_required",
            exit_code=exit_code,
            details={"tool_name": tool_name, **decision.to_json()},
        )
        self.tool_name = tool_name
        self.decision = decision


def policy_gate(compiled: Any) -> Gate:
    """A gate that evaluates intents against a compiled policy with the one engine."""

    def gate(intent: dict[str, Any]) -> Any:
        from gait.engine import evaluate

        return evaluate(compiled, intent)

    return gate


def _json_value(value: Any) -> Any:
    """Plain JSON data for anything a tool returns (dataclasses, structs, …)."""
    try:
        return msgspec.to_builtins(value, enc_hook=str, str_keys=True)
    except (TypeError, ValueError) as err:
        raise InvalidInput(f"value is not JSON-serializable: {err}") from err


@dataclass
class Step:
    """One tool call in flight; closed by :meth:`ok`, :meth:`fail` or the ``with`` block."""

    recorder: Recorder
    seq: int
    intent_id: str
    tool_name: str
    args: dict[str, Any]
    started_at: str
    decision: GateDecision | None = None
    gate_intent: dict[str, Any] | None = None
    executed: bool = False
    status: str = ""
    result: Any = None
    has_result: bool = False
    error: str = ""
    finished_at: str = ""
    closed: bool = False

    @property
    def allowed(self) -> bool:
        """May the tool run? (no decision = ungated = allowed)."""
        return self.decision is None or self.decision.allowed

    def ok(self, result: Any = None) -> None:
        """The tool ran and returned ``result``."""
        self._require_allowed()
        self.executed, self.status = True, "ok"
        if result is not None:
            self.result, self.has_result = _json_value(result), True
        self.recorder._close(self)

    def fail(self, error: BaseException | str) -> None:
        """The tool ran and failed."""
        self._require_allowed()
        self.executed, self.status = True, "error"
        self.error = str(error) if isinstance(error, str) else f"{type(error).__name__}: {error}"
        self.recorder._close(self)

    def complete(
        self, *, executed: bool, status: str = "", result: Any = None, error: str = ""
    ) -> None:
        """Close with an explicit outcome (used when replaying an event log)."""
        self.executed, self.status, self.error = executed, status, error
        if result is not None:
            self.result, self.has_result = _json_value(result), True
        self.recorder._close(self)

    def no_outcome(self) -> None:
        """Close without a result record: the outcome is unknown (replay reports it missing)."""
        self.recorder._close(self, has_outcome=False)

    def _require_allowed(self) -> None:
        if not self.allowed:
            assert self.decision is not None
            raise ToolBlocked(self.tool_name, self.decision)


@dataclass
class _Finished:
    seq: int
    intent: IntentRecord
    result: ResultRecord | None
    receipt: Receipt | None
    payload: dict[str, Any] | None
    started_at: str
    finished_at: str


@dataclass
class Recorder:
    """Collects one run's tool calls and writes them as a runpack.

    ``capture_mode``: ``reference`` (default; digests only) or ``raw`` (args and
    result payloads stored). ``clock`` returns the current time (a timezone-aware
    ``datetime``); pass a fake one for deterministic packs. ``context`` and
    ``targets`` are the defaults put into the intents handed to ``gate``.
    """

    run_id: str
    capture_mode: str = "reference"
    gate: Gate | None = None
    context: dict[str, Any] | None = None
    clock: Callable[[], datetime | str] | None = None
    producer_version: str = ""
    env: RunEnv | None = None
    unsafe_context_raw: bool = False
    # Callers with their own capture rules (the SDK's run_session, serve_sdk.md §4):
    # store args / result payloads (default: capture_mode == "raw"), the trace
    # receipts' redaction_mode (default "reference"), trace_path in result payloads.
    store_payloads: bool | None = None
    receipt_redaction_mode: str = ""
    payload_trace_path: bool = False
    _steps: list[_Finished] = field(default_factory=list, init=False, repr=False)
    _refs: list[Receipt] = field(default_factory=list, init=False, repr=False)
    _events: list[TimelineEvent] = field(default_factory=list, init=False, repr=False)
    _open: dict[str, Step] = field(default_factory=dict, init=False, repr=False)
    _counter: int = field(default=0, init=False, repr=False)
    _ids: set[str] = field(default_factory=set, init=False, repr=False)
    _created_at: str = field(default="", init=False, repr=False)
    _finished: bool = field(default=False, init=False, repr=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.run_id or not self.run_id.strip():
            raise InvalidInput("run_id is required")
        if self.capture_mode not in CAPTURE_MODES:
            raise InvalidInput("capture mode must be reference or raw")

    # ----------------------------------------------------------------- time
    def now(self) -> str:
        from gait.signing.timestamps import now_rfc3339, to_rfc3339

        if self.clock is None:
            return now_rfc3339()
        return to_rfc3339(self.clock())

    def _start(self) -> None:
        if not self._created_at:
            self._created_at = self.now()
            self._events.append(TimelineEvent(event="run_started", ts=self._created_at))

    # ------------------------------------------------------------ lifecycle
    def __enter__(self) -> Recorder:
        with self._lock:
            self._start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.finish()

    def finish(self) -> None:
        """Close the run: open steps are recorded as not completed, ``run_finished`` added."""
        with self._lock:
            self._start()
            for step in list(self._open.values()):
                step.error = step.error or "step not completed"
                self._close(step)
            if not self._finished:
                self._events.append(TimelineEvent(event="run_finished", ts=self.now()))
                self._finished = True

    def event(self, name: str, ref: str = "") -> None:
        """Add a free-form timeline event."""
        with self._lock:
            self._start()
            self._events.append(TimelineEvent(event=name, ts=self.now(), ref=ref))

    # ---------------------------------------------------------------- steps
    def _intent_for_gate(
        self,
        tool_name: str,
        args: dict[str, Any],
        targets: Any,
        context: Mapping[str, Any] | None,
        extra: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        intent: dict[str, Any] = {"tool_name": tool_name, "args": args}
        if targets:
            intent["targets"] = _json_value(targets)
        ctx = context if context is not None else self.context
        if ctx is not None:
            intent["context"] = _json_value(ctx)
        if extra:
            intent.update(_json_value(dict(extra)))
        return intent

    def begin(
        self,
        tool_name: str,
        args: Mapping[str, Any] | None = None,
        *,
        decision: Any = None,
        gate: Gate | None = None,
        targets: Any = None,
        context: Mapping[str, Any] | None = None,
        intent: Mapping[str, Any] | None = None,
        intent_id: str = "",
    ) -> Step:
        """Open a step; asks ``gate`` (or the recorder's) for a decision unless one is given.

        ``intent`` adds gate-request fields beyond tool/args/targets/context
        (``arg_provenance``, ``delegation``…). A gate that raises is fail-closed:
        the step is recorded as a ``block`` with reason ``gate_error`` and the
        error propagates.
        """
        if not tool_name or not str(tool_name).strip():
            raise InvalidInput("tool_name is required")
        plain_args = _json_value(dict(args or {}))
        if not isinstance(plain_args, dict):
            raise InvalidInput("args must be a JSON object")
        with self._lock:
            self._start()
            if self._finished:
                raise InvalidInput("recorder already finished")
            self._counter += 1
            intent_id = intent_id or f"intent_{self._counter:04d}"
            if intent_id in self._open or intent_id in self._ids:
                raise InvalidInput(f"duplicate intent_id: {intent_id}")
            self._ids.add(intent_id)
            step = Step(
                seq=self._counter,
                recorder=self,
                intent_id=intent_id,
                tool_name=str(tool_name),
                args=plain_args,
                started_at=self.now(),
            )
            self._open[intent_id] = step
            self._events.append(
                TimelineEvent(event="intent_captured", ts=step.started_at, ref=intent_id)
            )
        use_gate = gate or self.gate
        if decision is None and use_gate is not None:
            step.gate_intent = self._intent_for_gate(
                step.tool_name, plain_args, targets, context, intent
            )
            try:
                decision = use_gate(step.gate_intent)
            except Exception as err:
                step.decision = GateDecision(verdict="block", reason_codes=("gate_error",))
                step.error = f"{type(err).__name__}: {err}"
                self._close(step)
                raise
        if decision is not None:
            step.decision = GateDecision.of(decision)
        return step

    @contextmanager
    def step(
        self,
        tool_name: str,
        args: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> Iterator[Step]:
        """``with rec.step(tool, args, decision=…) as s:`` — an exception in the block records ``error``."""
        step = self.begin(tool_name, args, **kwargs)
        try:
            yield step
        except ToolBlocked:
            if not step.closed:
                self._close(step)
            raise
        except BaseException as err:
            if not step.closed:
                if step.allowed:
                    step.fail(err)
                else:
                    self._close(step)
            raise
        if not step.closed:
            if step.allowed:
                step.ok()
            else:
                self._close(step)

    def call(
        self,
        tool_name: str,
        fn: Callable[..., Any],
        args: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        """Gate, run ``fn(**args)`` if allowed, record; raises :class:`ToolBlocked` otherwise."""
        with self.step(tool_name, args, **kwargs) as step:
            if not step.allowed:
                assert step.decision is not None
                self._close(step)
                raise ToolBlocked(step.tool_name, step.decision)
            value = fn(**(args or {}))
            step.ok(value)
            return value

    def tool(self, name: str | None = None, **kwargs: Any) -> Callable[[F], F]:
        """Decorator: every call becomes a gated, recorded step (args = bound arguments)."""

        def decorate(fn: F) -> F:
            signature = inspect.signature(fn)
            tool_name = name or fn.__name__

            @functools.wraps(fn)
            def wrapper(*a: Any, **kw: Any) -> Any:
                bound = signature.bind(*a, **kw)
                bound.apply_defaults()
                args = {k: v for k, v in bound.arguments.items() if k not in ("self", "cls")}
                with self.step(tool_name, args, **kwargs) as step:
                    if not step.allowed:
                        assert step.decision is not None
                        self._close(step)
                        raise ToolBlocked(tool_name, step.decision)
                    value = fn(*a, **kw)
                    step.ok(value)
                    return value

            return wrapper  # type: ignore[return-value]

        return decorate

    def _close(self, step: Step, *, has_outcome: bool = True) -> None:
        with self._lock:
            if step.closed:
                return
            step.closed = True
            self._open.pop(step.intent_id, None)
            step.finished_at = self.now()
            if not step.status:
                step.status = _status(step)
            raw = self.capture_mode == "raw" if self.store_payloads is None else self.store_payloads
            intent = IntentRecord(
                created_at=step.started_at,
                intent_id=step.intent_id,
                tool_name=step.tool_name,
                args_digest=digest(step.args),
                args=step.args if raw and step.args else None,
            )
            payload: dict[str, Any] | None = None
            result: ResultRecord | None = None
            if has_outcome:
                payload = {"executed": step.executed}
                if step.decision is not None:
                    payload.update(step.decision.to_json())
                    if self.payload_trace_path and step.decision.trace_path:
                        payload["trace_path"] = step.decision.trace_path
                if step.error:
                    payload["error"] = step.error
                if step.has_result:
                    payload["result"] = step.result
                if raw and step.gate_intent:
                    payload["gate_intent"] = step.gate_intent
                result = ResultRecord(
                    created_at=step.finished_at,
                    intent_id=step.intent_id,
                    status=step.status,
                    result_digest=digest(payload),
                    result=payload if raw else None,
                )
                self._events.append(
                    TimelineEvent(event="result_captured", ts=step.finished_at, ref=step.intent_id)
                )
            receipt = None
            if step.decision is not None and result is not None:
                decision = step.decision
                params: dict[str, Any] = {"verdict": decision.verdict}
                if decision.reason_codes:
                    params["reason_codes"] = list(decision.reason_codes)
                if decision.violations:
                    params["violations"] = list(decision.violations)
                if decision.matched_rule:
                    params["matched_rule"] = decision.matched_rule
                if decision.policy_digest:
                    params["policy_digest"] = decision.policy_digest
                receipt = Receipt(
                    ref_id=f"trace_{step.intent_id}",
                    source_type="gait.trace",
                    source_locator=decision.trace_path
                    or f"trace://{decision.trace_id or step.intent_id}",
                    retrieved_at=step.started_at,
                    # The receipt points at a decision; raw payloads (if any) live in
                    # results.jsonl, so by default the reference is never "raw" context.
                    redaction_mode=self.receipt_redaction_mode or "reference",
                    retrieval_params=params,
                )
            self._steps.append(
                _Finished(
                    step.seq, intent, result, receipt, payload, step.started_at, step.finished_at
                )
            )

    # ----------------------------------------------------------------- refs
    def add_ref(
        self,
        ref_id: str,
        *,
        source_type: str,
        source_locator: str,
        query_digest: str,
        content_digest: str,
        retrieved_at: str = "",
        redaction_mode: str = "reference",
        immutability: str = "",
        freshness_sla_seconds: int = 0,
        sensitivity_label: str = "",
        retrieval_params: Mapping[str, Any] | None = None,
    ) -> None:
        """Add a reference receipt (context evidence the run relied on).

        ``redaction_mode="raw"`` (the raw context itself) is refused unless the
        recorder was created with ``unsafe_context_raw=True``.
        """
        if redaction_mode.strip().lower() == "raw" and not self.unsafe_context_raw:
            from gait.runpack.record import RAW_CONTEXT_REFUSED

            raise InvalidInput(RAW_CONTEXT_REFUSED)
        with self._lock:
            self._refs.append(
                Receipt(
                    ref_id=ref_id,
                    source_type=source_type,
                    source_locator=source_locator,
                    query_digest=query_digest,
                    content_digest=content_digest,
                    retrieved_at=retrieved_at or self.now(),
                    redaction_mode=redaction_mode,
                    immutability=immutability,
                    freshness_sla_seconds=freshness_sla_seconds,
                    sensitivity_label=sensitivity_label,
                    retrieval_params=dict(retrieval_params) if retrieval_params else None,
                )
            )

    # ---------------------------------------------------------------- output
    def records(self) -> tuple[Run, list[IntentRecord], list[ResultRecord], Refs]:
        """Finish the run (if not yet) and return its records, before normalization."""
        self.finish()
        with self._lock:
            steps = sorted(self._steps, key=lambda f: f.seq)
            run = Run(
                run_id=self.run_id,
                created_at=self._created_at,
                producer_version=self.producer_version or _cli_version(),
                env=self.env or RunEnv(),
                timeline=list(self._events),
            )
            receipts = [s.receipt for s in steps if s.receipt is not None] + list(self._refs)
            return (
                run,
                [s.intent for s in steps],
                [s.result for s in steps if s.result is not None],
                Refs(receipts=receipts),
            )

    def build(self, *, sign_key: KeyPair | None = None) -> RecordResult:
        """Finish the run (if not yet) and build the runpack in memory."""
        run, intents, results, refs = self.records()
        return record_runpack(
            run,
            intents,
            results,
            refs,
            capture_mode=self.capture_mode,
            sign_key=sign_key,
            unsafe_context_raw=self.unsafe_context_raw,
        )

    def write(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        out_dir: str | os.PathLike[str] = "gait-out",
        sign_key: KeyPair | None = None,
    ) -> RecordResult:
        """Build and write atomically to ``path`` (default ``<out_dir>/runpack_<run_id>.zip``)."""
        result = self.build(sign_key=sign_key)
        target = path if path is not None else default_runpack_path(out_dir, self.run_id)
        write_runpack(target, result)
        return result


def _status(step: Step) -> str:
    if step.executed:
        return "error" if step.error else "ok"
    if step.decision is not None and not step.decision.allowed:
        return step.decision.verdict
    return "error"


def _cli_version() -> str:
    from gait import __version__

    return __version__
