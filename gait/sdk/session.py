"""``run_session``: record every adapter decision of a run as a runpack (serve_sdk.md §4).

A session is scoped by a context variable, so a :class:`ToolAdapter` (or
``@gate_tool``) called inside ``with run_session(...)`` records into it without
being passed the session. Recording goes through :class:`gait.runpack.Recorder`
(the one capture API): intent ids ``intent_0001…``, a signed trace per step
with a ``trace_<intent_id>`` receipt, timeline ``run_started`` /
``intent_captured`` / ``result_captured`` / ``run_finished``. ``__exit__``
always finalizes, once; recording after that raises.
"""

from __future__ import annotations

import contextvars
import os
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gait.errors import GaitError, InvalidInput
from gait.sdk.intents import IntentRequest
from gait.sdk.names import sanitize
from gait.sdk.result import GateEvalResult

__all__ = ["RunRecordCapture", "RunSession", "current_session", "run_session"]

_ACTIVE: contextvars.ContextVar[RunSession | None] = contextvars.ContextVar(
    "gait_sdk_run_session", default=None
)
_VERDICTS = ("allow", "block", "dry_run", "require_approval")


def current_session() -> RunSession | None:
    """The session active in this context (thread / task), if any."""
    return _ACTIVE.get()


@dataclass(frozen=True)
class RunRecordCapture:
    """A written runpack: ``run_id``, ``bundle_path``, ``manifest_digest``, ``ticket_footer``."""

    run_id: str
    bundle_path: str
    manifest_digest: str
    ticket_footer: str


class RunSession:
    """One run being recorded. Use :func:`run_session` rather than building one directly."""

    def __init__(
        self,
        run_id: str,
        *,
        out_dir: str = "gait-out",
        capture_mode: str = "reference",
        include_raw_payload: bool = False,
        producer_version: str = "",
        trace_dir: str | None = None,
        clock: Callable[[], datetime | str] | None = None,
        sign_key: Any = None,
    ) -> None:
        from gait.runpack import Recorder
        from gait.runpack.record import host_env

        if capture_mode not in ("reference", "raw"):
            raise InvalidInput("capture mode must be reference or raw")
        self.run_id = run_id
        self.out_dir = out_dir
        self.capture_mode = capture_mode
        # serve_sdk.md §4: the pack is marked with the capture mode and its trace receipts
        # carry it as redaction_mode; raw args and result payloads land in the pack only
        # when include_raw_payload asks for them too (else digests only).
        self.include_raw_payload = capture_mode == "raw" and include_raw_payload
        self.trace_dir = trace_dir or os.path.join(out_dir, "traces")
        self.sign_key = sign_key
        env = host_env()
        env.runtime = f"python{sys.version_info.major}.{sys.version_info.minor}"
        self.recorder = Recorder(
            run_id,
            capture_mode=capture_mode,
            store_payloads=self.include_raw_payload,
            receipt_redaction_mode=capture_mode,
            payload_trace_path=True,
            # the caller chose raw capture: receipts saying so are expected, not a leak
            unsafe_context_raw=capture_mode == "raw",
            clock=clock,
            producer_version=producer_version,
            env=env,
        )
        self._lock = threading.Lock()
        self._next = 0
        self._capture: RunRecordCapture | None = None

    @property
    def finalized(self) -> bool:
        return self._capture is not None

    @property
    def capture(self) -> RunRecordCapture | None:
        return self._capture

    def reserve(self) -> tuple[str, str]:
        """The next step's ``(intent_id, trace_path)``; ids follow the order steps start."""
        with self._lock:
            if self._capture is not None:
                raise InvalidInput(f"run session {self.run_id} is already finalized")
            self._next += 1
            intent_id = f"intent_{self._next:04d}"
        name = f"trace_{sanitize(self.run_id)}_{intent_id}.json"
        return intent_id, os.path.join(self.trace_dir, name)

    def record(
        self,
        intent_id: str,
        intent: IntentRequest | Mapping[str, Any],
        decision: GateEvalResult,
        *,
        executed: bool,
        result: Any = None,
        error: BaseException | str | None = None,
    ) -> None:
        """Record one attempt (decided, and run or not)."""
        from gait.runpack import GateDecision

        if self._capture is not None:
            raise InvalidInput(f"run session {self.run_id} is already finalized")
        tool_name, args = _name_and_args(intent)
        verdict = decision.verdict if decision.verdict in _VERDICTS else "block"
        gate_decision = GateDecision(
            verdict=verdict,
            reason_codes=tuple(sorted(set(decision.reason_codes))),
            violations=tuple(sorted(set(decision.violations))),
            matched_rule=decision.matched_rule,
            policy_digest=decision.policy_digest,
            intent_digest=decision.intent_digest,
            trace_id=decision.trace_id,
            trace_path=decision.trace_path,
        )
        text = ""
        if error is not None:
            text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        elif decision.error:
            text = decision.error
        if text:
            status = "error"
        elif executed:
            status = "ok"
        elif decision.verdict == "dry_run":
            status = "dry_run"
        else:
            status = decision.verdict or "blocked"
        step = self.recorder.begin(
            tool_name or "unknown", args, decision=gate_decision, intent_id=intent_id
        )
        step.complete(executed=executed, status=status, result=result, error=text)

    def finalize(self) -> RunRecordCapture:
        """Write ``<out_dir>/runpack_<run_id>.zip`` once; later calls return the same capture."""
        from gait.runpack import format_ticket_footer

        with self._lock:
            if self._capture is not None:
                return self._capture
            built = self.recorder.write(out_dir=self.out_dir, sign_key=self.sign_key)
            from gait.runpack.record import default_runpack_path

            self._capture = RunRecordCapture(
                run_id=self.run_id,
                bundle_path=default_runpack_path(self.out_dir, self.run_id),
                manifest_digest=built.manifest_digest,
                ticket_footer=format_ticket_footer(self.run_id, built.manifest_digest),
            )
            return self._capture


def _name_and_args(intent: IntentRequest | Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    if isinstance(intent, IntentRequest):
        if intent.valid:
            return intent.intent.tool_name, dict(intent.intent.args)  # normalized args
        return intent.tool_name, intent.args
    if isinstance(intent, Mapping):
        args = intent.get("args")
        return str(intent.get("tool_name") or ""), dict(args) if isinstance(args, Mapping) else {}
    return "", {}


@contextmanager
def run_session(
    run_id: str,
    out_dir: str = "gait-out",
    capture_mode: str = "reference",
    include_raw_payload: bool = False,
    *,
    producer_version: str = "",
    trace_dir: str | None = None,
    clock: Callable[[], datetime | str] | None = None,
    sign_key: Any = None,
) -> Iterator[RunSession]:
    """``with run_session("run_x") as s: ...`` then ``s.capture.bundle_path``.

    The runpack is written when the block exits, even when it raised; a failure
    to write it is raised unless the block itself is already raising.
    """
    session = RunSession(
        run_id,
        out_dir=out_dir,
        capture_mode=capture_mode,
        include_raw_payload=include_raw_payload,
        producer_version=producer_version,
        trace_dir=trace_dir,
        clock=clock,
        sign_key=sign_key,
    )
    token = _ACTIVE.set(session)
    failed = False
    try:
        yield session
    except BaseException:
        failed = True
        raise
    finally:
        _ACTIVE.reset(token)
        try:
            session.finalize()
        except GaitError:
            if not failed:
                raise
